// What the three renderers (heatmap-renderer.ts, atlas-renderer.ts, flow-renderer.ts) set up the
// same way: per-device pipeline caches, shader modules made of library files (WGSL has no imports:
// a module is its files joined, in order), the heatmap kernels' bind group layouts and groups, the
// colormap texture, the cleared render pass and the per-viewport draws.

import type { CaptureFormat } from '../gpu/kernels';
import type { ShaderLibrary } from '../gpu/shader-library';
import { colormapSize, colormapTable, type AnyColormapName } from '../viz/colormaps';
import './float16-shim';
import { makeShaderDataDefinitions, makeStructuredView, type StructDefinition } from 'webgpu-utils';

export type HeatmapScale = 'linear' | 'log';
/** 'head': each head divided by its own max shown weight; 'shared': weights as they are (max 1). */
export type HeatmapNormalization = 'head' | 'shared';
/** The first key: as it is, hidden (drawn as background), or taken out of each row's distribution. */
export type SinkMode = 'show' | 'hide' | 'renormalize';
export type Rgb = readonly [number, number, number];

/** Where the renderer draws: a configured canvas, or a texture in tests. */
export interface RenderTarget {
  /** An 8-bit unorm format (the canvas's preferred one): colours are written as the bytes given. */
  readonly format: GPUTextureFormat;
  current(): GPUTexture;
  dispose(): void;
}

/** The canvas panel colour (src/app.css --panel) and the masked-cell colour, as bytes. */
export const panelColor: Rgb = [0x16, 0x19, 0x20];
export const maskedColor: Rgb = [0x24, 0x28, 0x31];

export const uniformStride = 256; // minUniformBufferOffsetAlignment
export const maxWg = 64;
const sinkModes: Readonly<Record<SinkMode, number>> = { show: 0, hide: 1, renormalize: 2 };

/** A value made once per device and key (a target format, a mode), kept while the device lives. */
export function perDevice<K, V>(
  cache: WeakMap<GPUDevice, Map<K, V>>,
  device: GPUDevice,
  key: K,
  make: () => V,
): V {
  let byKey = cache.get(device);
  if (!byKey) cache.set(device, (byKey = new Map()));
  let value = byKey.get(key);
  if (value === undefined) byKey.set(key, (value = make()));
  return value;
}

/** One library file's source; a missing one is a clear error naming it. */
export function shaderSource(shaders: ShaderLibrary, file: string): string {
  const code = shaders[file];
  if (code === undefined) throw new Error(`shader ${file}.wgsl is missing from the shader library`);
  return code;
}

/** A shader module made of library files, joined in order. */
export function shaderModule(
  device: GPUDevice,
  shaders: ShaderLibrary,
  label: string,
  parts: readonly string[],
): GPUShaderModule {
  return device.createShaderModule({ label, code: parts.map((f) => shaderSource(shaders, f)).join('\n') });
}

/** A render pipeline: heatmap_vertex's one triangle per viewport, then `fragment`'s fs_main. */
export function viewportPipeline(
  device: GPUDevice,
  shaders: ShaderLibrary,
  label: string,
  layout: GPUBindGroupLayout,
  vertexLabel: string,
  fragment: GPUShaderModule,
  format: GPUTextureFormat,
): GPURenderPipeline {
  return device.createRenderPipeline({
    label,
    layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
    vertex: { module: shaderModule(device, shaders, vertexLabel, ['heatmap_vertex']), entryPoint: 'vs_main' },
    fragment: { module: fragment, entryPoint: 'fs_main', targets: [{ format }] },
    primitive: { topology: 'triangle-list' },
  });
}

const texture = (binding: number, visibility: number, viewDimension: GPUTextureViewDimension) => ({
  binding,
  visibility,
  texture: { sampleType: 'unfilterable-float' as const, viewDimension },
});

/** The pipelines of one heatmap kernel pair: the render (fs_main) and the head-max (main) one. */
export interface HeatmapPipelines {
  /** HeatmapUniforms as webgpu-utils reads it from the WGSL (offsets, size). */
  readonly uniforms: StructDefinition;
  readonly render: GPURenderPipeline;
  readonly renderLayout: GPUBindGroupLayout;
  readonly max: GPUComputePipeline;
  readonly maxLayout: GPUBindGroupLayout;
}

export interface HeatmapPipelineSpec {
  /** Labels of the render layout and module, the vertex module, the max layout and module. */
  readonly renderLabel: string;
  readonly vertexLabel: string;
  readonly maxLabel: string;
  /** The files of each module, in order (heatmap_common first). */
  readonly render: readonly string[];
  readonly max: readonly string[];
  /** Compare mode: a second pattern texture (render binding 4, max binding 3). */
  readonly diff: boolean;
}

/**
 * Bindings (render): 0 uniforms (dynamic offset), 1 pattern (2d-array), 2 colormap (2d),
 * 3 head_max, [4 pattern B]; (max): 0 uniforms, 1 pattern, 2 head_max, [3 pattern B].
 */
export function heatmapPipelines(
  device: GPUDevice,
  shaders: ShaderLibrary,
  format: GPUTextureFormat,
  spec: HeatmapPipelineSpec,
): HeatmapPipelines {
  const fragment = GPUShaderStage.FRAGMENT;
  const compute = GPUShaderStage.COMPUTE;
  const renderLayout = device.createBindGroupLayout({
    label: spec.renderLabel,
    entries: [
      { binding: 0, visibility: fragment, buffer: { type: 'uniform', hasDynamicOffset: true } },
      texture(1, fragment, '2d-array'),
      texture(2, fragment, '2d'),
      { binding: 3, visibility: fragment, buffer: { type: 'read-only-storage' } },
      ...(spec.diff ? [texture(4, fragment, '2d-array')] : []),
    ],
  });
  const maxLayout = device.createBindGroupLayout({
    label: spec.maxLabel,
    entries: [
      { binding: 0, visibility: compute, buffer: { type: 'uniform' } },
      texture(1, compute, '2d-array'),
      { binding: 2, visibility: compute, buffer: { type: 'storage' } },
      ...(spec.diff ? [texture(3, compute, '2d-array')] : []),
    ],
  });
  const renderModule = shaderModule(device, shaders, spec.renderLabel, spec.render);
  const maxModule = shaderModule(device, shaders, spec.maxLabel, spec.max);
  return {
    uniforms: makeShaderDataDefinitions(shaderSource(shaders, 'heatmap_common')).structs['HeatmapUniforms']!,
    renderLayout,
    maxLayout,
    render: viewportPipeline(
      device,
      shaders,
      `${spec.renderLabel}:${format}`,
      renderLayout,
      spec.vertexLabel,
      renderModule,
      format,
    ),
    max: device.createComputePipeline({
      label: spec.maxLabel,
      layout: device.createPipelineLayout({ bindGroupLayouts: [maxLayout] }),
      compute: { module: maxModule, entryPoint: 'main', constants: { WG_X: maxWg } },
    }),
  };
}

/** The render and max bind groups of one pattern (and pattern B in compare mode). */
export interface HeatmapGroups {
  readonly render: GPUBindGroup;
  readonly max: GPUBindGroup;
}

export function heatmapGroups(
  device: GPUDevice,
  pipelines: HeatmapPipelines,
  labels: { readonly render: string; readonly max: string },
  uniforms: GPUBuffer,
  colormap: GPUTexture,
  headMax: GPUBufferBinding,
  pattern: GPUTexture,
  patternB?: GPUTexture,
): HeatmapGroups {
  const view = pattern.createView({ dimension: '2d-array' });
  const viewB = patternB?.createView({ dimension: '2d-array' });
  const u = { buffer: uniforms, size: pipelines.uniforms.size };
  const group = (label: string, layout: GPUBindGroupLayout, resources: GPUBindingResource[]) =>
    device.createBindGroup({
      label,
      layout,
      entries: resources.map((resource, binding) => ({ binding, resource })),
    });
  const b = viewB ? [viewB] : [];
  return {
    render: group(labels.render, pipelines.renderLayout, [u, view, colormap.createView(), headMax, ...b]),
    max: group(labels.max, pipelines.maxLayout, [u, view, headMax, ...b]),
  };
}

/** Disposes a renderer's GPU objects and its target. */
export function destroyAll(
  target: RenderTarget,
  objects: readonly ({ destroy(): void } | undefined)[],
): void {
  for (const o of objects) o?.destroy();
  target.dispose();
}

/** A (256, rows) rgba8unorm colormap texture. */
export function colormapTexture(device: GPUDevice, label: string, rows = 1): GPUTexture {
  return device.createTexture({
    label,
    size: [colormapSize, rows],
    format: 'rgba8unorm',
    usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST,
  });
}

/** Writes `name`'s table into a (256, 1) colormap texture unless it holds it already; returns it. */
export function writeColormap<N extends AnyColormapName>(
  device: GPUDevice,
  texture: GPUTexture,
  held: N | undefined,
  name: N,
): N {
  if (held !== name) device.queue.writeTexture({ texture }, colormapTable(name), {}, [colormapSize, 1]);
  return name;
}

/** A uniform buffer of `count` 256-byte slots. */
export function uniformSlots(device: GPUDevice, label: string, count: number): GPUBuffer {
  return device.createBuffer({
    label,
    size: count * uniformStride,
    usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
  });
}

/** Begins a render pass over the whole target, cleared to `clear`. */
export function clearedPass(
  encoder: GPUCommandEncoder,
  label: string | undefined,
  target: GPUTexture,
  clear: Rgb,
): GPURenderPassEncoder {
  return encoder.beginRenderPass({
    ...(label === undefined ? {} : { label }),
    colorAttachments: [
      {
        view: target.createView(),
        clearValue: { r: clear[0] / 255, g: clear[1] / 255, b: clear[2] / 255, a: 1 },
        loadOp: 'clear',
        storeOp: 'store',
      },
    ],
  });
}

/** Clears the target to `color` and submits. */
export function clearTarget(
  device: GPUDevice,
  target: RenderTarget,
  color: Rgb,
  encoderLabel: string,
  passLabel?: string,
): void {
  const encoder = device.createCommandEncoder({ label: encoderLabel });
  clearedPass(encoder, passLabel, target.current(), color).end();
  device.queue.submit([encoder.finish()]);
}

/** The uniforms every viewport of a frame shares. */
export function commonUniforms(
  frame: {
    readonly rows: number;
    readonly masked?: Rgb;
    readonly sink: SinkMode;
    readonly scale: HeatmapScale;
    readonly normalization: HeatmapNormalization;
  },
  format: GPUTextureFormat,
  formatB: GPUTextureFormat | undefined,
): Record<string, number | readonly number[]> {
  const masked = frame.masked ?? maskedColor;
  return {
    background: [masked[0] / 255, masked[1] / 255, masked[2] / 255, 1],
    rows: frame.rows,
    sqrt_encoded: (format as CaptureFormat) === 'rgba8unorm' ? 1 : 0,
    sqrt_encoded_b: (formatB as CaptureFormat | undefined) === 'rgba8unorm' ? 1 : 0,
    sink_mode: sinkModes[frame.sink],
    log_scale: frame.scale === 'log' ? 1 : 0,
    shared_max: frame.normalization === 'shared' ? 1 : 0,
  };
}

/** A writer of HeatmapUniforms into `data` at a byte offset. */
export function uniformWriter(uniforms: StructDefinition, data: ArrayBuffer) {
  return (offset: number, values: Record<string, number | readonly number[]>) =>
    makeStructuredView(uniforms, data, offset).set(values);
}

/** One viewport's rectangle, clipped to the target, and its uniform slot. */
export interface DrawnViewport {
  readonly i: number;
  readonly x0: number;
  readonly y0: number;
  readonly w: number;
  readonly h: number;
}

/** Draws each non-empty viewport: its rectangle, its uniform slot, 3 vertices. */
export function drawViewports<D extends DrawnViewport>(
  pass: GPURenderPassEncoder,
  pipeline: GPURenderPipeline,
  drawn: readonly D[],
  group: (d: D) => GPUBindGroup,
): void {
  pass.setPipeline(pipeline);
  for (const d of drawn) {
    if (d.w <= 0 || d.h <= 0) continue;
    pass.setViewport(d.x0, d.y0, d.w, d.h, 0, 1);
    pass.setScissorRect(d.x0, d.y0, d.w, d.h);
    pass.setBindGroup(0, group(d), [d.i * uniformStride]);
    pass.draw(3);
  }
}
