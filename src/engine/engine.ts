// The Engine facade: one model's weights on one device, and the prompt sessions that run on them.
// Two sessions (two prompts side by side) hold their own captures and share one copy of the weights.

import type { GpuContext } from '../gpu/device';
import { KernelRegistry, type WeightFormat } from '../gpu/kernels';
import type { ShaderLibrary } from '../gpu/shader-library';
import type { Gpt2Config } from '../model/types';
import { PromptSession, lensChunk, type SessionOptions } from './session';
import { GpuWeights, largestBlockTensor, type WeightReader } from './weights';

export interface EngineOptions {
  /** 'auto' (default): f16 when the adapter has shader-f16, else f32. */
  readonly weightFormat?: WeightFormat | 'auto';
  /** Force the barrier-free kernels (default: only on fallback adapters). */
  readonly fallbackKernels?: boolean;
  /** Split wte into parts of at most this many rows (default: what the binding limit allows). */
  readonly maxVocabRowsPerPart?: number;
  readonly onProgress?: (uploadedBytes: number, totalBytes: number) => void;
  readonly signal?: AbortSignal;
}

export class Engine {
  readonly config: Gpt2Config;
  readonly gpu: GpuContext;
  readonly weights: GpuWeights;
  readonly kernels: KernelRegistry;
  readonly fallbackKernels: boolean;
  readonly #sessions = new Set<PromptSession>();

  private constructor(
    gpu: GpuContext,
    weights: GpuWeights,
    kernels: KernelRegistry,
    fallbackKernels: boolean,
  ) {
    this.gpu = gpu;
    this.config = weights.config;
    this.weights = weights;
    this.kernels = kernels;
    this.fallbackKernels = fallbackKernels;
  }

  static async load(
    gpu: GpuContext,
    shaders: ShaderLibrary,
    reader: WeightReader,
    options: EngineOptions = {},
  ): Promise<Engine> {
    const requested = options.weightFormat ?? 'auto';
    if (requested === 'f16' && !gpu.summary.shaderF16) {
      throw new Error('f16 weights need the shader-f16 feature, which this GPU adapter does not have');
    }
    const format: WeightFormat = requested === 'auto' ? (gpu.summary.shaderF16 ? 'f16' : 'f32') : requested;
    const needed = GpuWeights.bytesNeeded(reader.config, format);
    // Every weight but wte (which is split) must fit one buffer binding: say so before reading any.
    const limit = Math.min(gpu.device.limits.maxBufferSize, gpu.device.limits.maxStorageBufferBindingSize);
    const largest = largestBlockTensor(reader.config, format);
    if (largest.bytes > limit) {
      throw new Error(
        `${largest.name} needs ${formatBytes(largest.bytes)} in one buffer (${format}), but this GPU's ` +
          `largest storage binding is ${formatBytes(limit)}: the model is too large for this device`,
      );
    }
    const { device } = gpu;
    device.pushErrorScope('out-of-memory');
    const weights = await GpuWeights.upload(device, reader, {
      format,
      vocabAlign: lensChunk,
      maxVocabRowsPerPart: options.maxVocabRowsPerPart,
      onProgress: options.onProgress,
      signal: options.signal,
    });
    const oom = await device.popErrorScope();
    if (oom) {
      weights.destroy();
      throw new Error(
        `out of GPU memory while uploading the weights: the model needs ${formatBytes(needed)} in ${format}, ` +
          `more than this GPU could give (${oom.message}). Close other GPU-heavy tabs or pick a smaller model.`,
      );
    }
    const kernels = new KernelRegistry(device, shaders);
    return new Engine(gpu, weights, kernels, options.fallbackKernels ?? gpu.summary.fallback);
  }

  /** A new prompt slot with its own activations and captures. */
  createSession(options: Partial<SessionOptions> = {}): PromptSession {
    const session = new PromptSession(
      {
        device: this.gpu.device,
        kernels: this.kernels,
        weights: this.weights,
        fallback: this.fallbackKernels,
      },
      { captureFormat: 'auto', lens: 'layers', ...options },
    );
    this.#sessions.add(session);
    return session;
  }

  dispose(): void {
    for (const s of this.#sessions) s.destroy();
    this.#sessions.clear();
    this.weights.destroy();
  }
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${(n / 2 ** 10).toFixed(1)} KiB`;
}
