// The kernels' binding lists (src/gpu/kernels.ts) against their WGSL: each kernel's source, as the
// registry builds it (the kernel file with its modules), is reflected by webgpu-utils'
// makeShaderDataDefinitions, and its one entry point's bindings must be exactly the TypeScript list,
// in @binding order, group 0: uniform → 'uniform', read-only storage → 'read', read_write storage →
// 'write', write-only storage texture → 'pattern-texture', sampled texture → 'pattern-read'. The
// uniforms hold only u32 fields (the engine and the instruments write them as Uint32Array).
import { beforeAll, describe, expect, test } from 'vitest';
import type { ShaderDataDefinitions } from 'webgpu-utils';
import { nodeGpuApi } from '../src/cli/node-gpu';
import { kernelDefs, kernelFiles, type BindingKind, type KernelDef } from '../src/gpu/kernels';
import { viteShaders } from '../src/gpu/shaders-vite';

let reflect: (code: string) => ShaderDataDefinitions;

beforeAll(async () => {
  await nodeGpuApi(); // WebGPU's globals (GPUShaderStage), which webgpu-utils reads
  // webgpu-utils names Float16Array (its view type for f16 data) when it loads; Node 20 has none.
  // No f16 data is viewed here, so any constructor stands in.
  (globalThis as { Float16Array?: unknown }).Float16Array ??= class Float16Array {};
  reflect = (await import('webgpu-utils')).makeShaderDataDefinitions;
});

function source(file: string): string {
  const code = viteShaders[file];
  if (code === undefined) throw new Error(`shader ${file}.wgsl is missing`);
  return code;
}

function kindOf(entry: GPUBindGroupLayoutEntry): BindingKind | string {
  if (entry.buffer) {
    const type = entry.buffer.type ?? 'uniform';
    return type === 'uniform' ? 'uniform' : type === 'read-only-storage' ? 'read' : 'write';
  }
  if (entry.storageTexture) return entry.storageTexture.access === 'write-only' ? 'pattern-texture' : 'other';
  if (entry.texture) return 'pattern-read';
  return 'other';
}

const kernels = Object.entries(kernelDefs) as [string, KernelDef][];

describe.each(kernels)('kernel %s', (_name, def) => {
  test('its binding list is the one its WGSL declares', () => {
    const defs = reflect(kernelFiles(def).map(source).join('\n'));
    expect(Object.keys(defs.entryPoints)).toEqual(['main']);
    const resources = [...defs.entryPoints['main']!.resources].sort(
      (a, b) => a.entry.binding - b.entry.binding,
    );
    expect(resources.map((r) => r.group)).toEqual(def.bindings.map(() => 0));
    expect(resources.map((r) => r.entry.binding)).toEqual(def.bindings.map((_, i) => i));
    expect(resources.map((r) => kindOf(r.entry))).toEqual([...def.bindings]);
  });

  test('its modules have no entry point; its one uniform holds u32 fields only', () => {
    for (const module of kernelFiles(def).slice(1))
      expect(Object.keys(reflect(source(module)).entryPoints)).toEqual([]);
    const uniforms = Object.values(reflect(kernelFiles(def).map(source).join('\n')).uniforms);
    expect(uniforms).toHaveLength(1);
    const type = uniforms[0]!.typeDefinition as {
      type?: string;
      fields?: Record<string, { type: { type?: string } }>;
    };
    const scalars = type.fields ? Object.values(type.fields).map((f) => f.type.type) : [type.type];
    expect(scalars, JSON.stringify(type)).toEqual(scalars.map(() => 'u32'));
  });
});
