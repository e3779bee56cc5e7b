// The GPU side of the unit tests: a test file's WebGPU device (Dawn in Node, SwiftShader here),
// engines on tiny models (test/support/tiny-models.ts), and a Studio with a tiny model loaded.
// Kept apart from tiny-models.ts because this imports vitest, which the e2e specs must not load.
import { afterAll, beforeAll, expect } from 'vitest';
import { nodeGpu, nodeGpuApi } from '../../src/cli/node-gpu';
import { Engine, type EngineOptions } from '../../src/engine/engine';
import { weightReaderFromMemory, type WeightReader } from '../../src/engine/weights';
import type { GpuContext } from '../../src/gpu/device';
import { KernelRegistry } from '../../src/gpu/kernels';
import { readTextureLayer } from '../../src/gpu/readback';
import { viteShaders } from '../../src/gpu/shaders-vite';
import { filesFromDirectory } from '../../src/cli/node-source';
import { bytesSource } from '../../src/model/byte-source';
import { openGpt2Checkpoint } from '../../src/model/checkpoint';
import type { CheckpointVariant } from '../../src/model/fixtures';
import { openModel, type OpenedModel } from '../../src/model/load';
import { openSafetensors } from '../../src/model/safetensors';
import type { Gpt2Config, Gpt2Weights } from '../../src/model/types';
import { checkpointOf } from './tiny-models';
import type { Studio } from '../../src/state/studio.svelte';

/**
 * The GPU of the tests in this file (or describe block): `acquire`d before they run, its device
 * destroyed after them. Call it where the hooks belong and read the context inside tests and hooks
 * (reading it earlier throws).
 */
export function useGpu(acquire: () => Promise<GpuContext> = nodeGpu): GpuContext {
  let gpu: GpuContext | undefined;
  beforeAll(async () => {
    gpu = await acquire();
  });
  afterAll(() => gpu?.device.destroy());
  const current = (): GpuContext => {
    if (!gpu) throw new Error('the test GPU is acquired in beforeAll: use it inside tests and hooks');
    return gpu;
  };
  return {
    get adapter() {
      return current().adapter;
    },
    get device() {
      return current().device;
    },
    get summary() {
      return current().summary;
    },
  };
}

/**
 * A kernel registry (the WGSL kernels as Vite bundles them) on `gpu`'s device (from useGpu, called
 * first), made in beforeAll: call the returned function inside tests and hooks.
 */
export function useKernels(gpu: GpuContext): () => KernelRegistry {
  let kernels: KernelRegistry | undefined;
  beforeAll(() => {
    kernels = new KernelRegistry(gpu.device, viteShaders);
  });
  return () => {
    if (!kernels) throw new Error('the test kernels are made in beforeAll: use them inside tests and hooks');
    return kernels;
  };
}

/**
 * The largest |captured − reference| attention weight over every layer, head, query and key < T:
 * `texture(layer)` is a layer's capture ([ceil(C/4), C] texels of 4 keys, × H layers), `want`
 * the reference's patterns, [H, T, T] per layer.
 */
export async function patternError(
  device: GPUDevice,
  texture: (layer: number) => GPUTexture,
  want: readonly Float32Array[],
  H: number,
  T: number,
): Promise<number> {
  let worst = 0;
  for (const [l, ref] of want.entries()) {
    const tex = texture(l);
    const width = tex.width * 4;
    for (let h = 0; h < H; h++) {
      const got = await readTextureLayer(device, tex, h);
      for (let q = 0; q < T; q++)
        for (let k = 0; k < T; k++)
          worst = Math.max(worst, Math.abs(got[q * width + k]! - ref[(h * T + q) * T + k]!));
    }
  }
  return worst;
}

/** Weights in memory, or a reader (an opened checkpoint). */
export type ModelSource = Gpt2Weights | WeightReader;

/** An engine on `model` with the WGSL kernels as Vite bundles them; f32 weights unless `options` says. */
export function loadEngine(
  gpu: GpuContext,
  model: ModelSource,
  options: EngineOptions = {},
): Promise<Engine> {
  const reader = 'read' in model ? model : weightReaderFromMemory(model);
  return Engine.load(gpu, viteShaders, reader, { weightFormat: 'f32', ...options });
}

/** Runs `body` on an engine from loadEngine, disposed after it whether it passes or fails. */
export function withEngine<T>(
  gpu: GpuContext,
  model: ModelSource,
  body: (engine: Engine) => Promise<T>,
): Promise<T>;
export function withEngine<T>(
  gpu: GpuContext,
  model: ModelSource,
  options: EngineOptions,
  body: (engine: Engine) => Promise<T>,
): Promise<T>;
export async function withEngine<T>(
  gpu: GpuContext,
  model: ModelSource,
  ...rest: [(engine: Engine) => Promise<T>] | [EngineOptions, (engine: Engine) => Promise<T>]
): Promise<T> {
  const [options, body] = rest.length === 1 ? [{}, rest[0]] : rest;
  const engine = await loadEngine(gpu, model, options);
  try {
    return await body(engine);
  } finally {
    engine.dispose();
  }
}

/** A checkpoint case of the engine tests: how the file is written, which kernels read it. */
export interface CheckpointCase {
  readonly name: string;
  readonly variant: CheckpointVariant;
  readonly fallbackKernels: boolean;
}

/** Two cases at the ends: plain F32 names on the fallback kernels; old names in `half`, attention biases and lm_head on the tiled ones. */
export function checkpointCases(half: 'F16' | 'BF16'): CheckpointCase[] {
  return [
    {
      name: 'F32 plain, fallback kernels',
      variant: { dtype: 'F32', prefix: false, lmHead: false, attnBias: false },
      fallbackKernels: true,
    },
    {
      name: `${half} old names, tiled kernels`,
      variant: { dtype: half, prefix: true, lmHead: true, attnBias: true },
      fallbackKernels: false,
    },
  ];
}

/**
 * `weights` written as a safetensors checkpoint in `variant`'s naming and dtype, opened as a model
 * file is, and an engine on it: [engine, the checkpoint's weights as loaded for the reference].
 * The caller disposes the engine.
 */
export async function checkpointEngine(
  gpu: GpuContext,
  config: Gpt2Config,
  weights: Gpt2Weights,
  variant: CheckpointVariant,
  options: EngineOptions = {},
): Promise<[Engine, Gpt2Weights]> {
  const ckpt = openGpt2Checkpoint(
    config,
    await openSafetensors(bytesSource('model.safetensors', checkpointOf(weights, variant))),
  );
  return [await loadEngine(gpu, ckpt, options), await ckpt.loadWeights()];
}

/** The bundled model (static/models/gpt2-brown-mini) as its folder opens. */
export async function openBundledModel(): Promise<OpenedModel> {
  return openModel(await filesFromDirectory('static/models/gpt2-brown-mini'));
}

/** Runs `body` on the bundled model: an engine on it (disposed after) and its weights for the reference. */
export async function withBundledModel<T>(
  gpu: GpuContext,
  body: (model: OpenedModel, engine: Engine, weights: Gpt2Weights) => Promise<T>,
): Promise<T> {
  const model = await openBundledModel();
  const weights = await model.checkpoint.loadWeights();
  return withEngine(gpu, model.checkpoint, (engine) => body(model, engine, weights));
}

/**
 * `real` (Dawn's GPU) with `onDevice` called on every device its adapters hand out, before the
 * caller gets it: to remember one (and take it away later), or to wrap its methods.
 */
export function watchDevices(real: GPU, onDevice: (device: GPUDevice) => void): GPU {
  return {
    getPreferredCanvasFormat: () => real.getPreferredCanvasFormat(),
    wgslLanguageFeatures: real.wgslLanguageFeatures,
    async requestAdapter(options) {
      const adapter = await real.requestAdapter(options);
      if (!adapter) return null;
      return new Proxy(adapter, {
        get(target, property) {
          if (property === 'requestDevice') {
            return async (descriptor?: GPUDeviceDescriptor) => {
              const device = await target.requestDevice(descriptor);
              onDevice(device);
              return device;
            };
          }
          const value: unknown = Reflect.get(target, property);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
    },
  } as GPU;
}

/** A Studio on Dawn in Node, started, with the model in `files` loaded (both must succeed). */
export async function studioWith(files: File[]): Promise<Studio> {
  // Imported here: the engine-only tests need not compile the studio's state modules.
  const { Studio } = await import('../../src/state/studio.svelte');
  const gpu = await nodeGpuApi();
  const studio = new Studio({ gpu: () => gpu, environment: () => 'Node' });
  try {
    expect(await studio.start()).toBe(true);
    expect(await studio.loadModel({ kind: 'files', files })).toBe(true);
    return studio;
  } catch (error) {
    studio.dispose();
    throw error;
  }
}
