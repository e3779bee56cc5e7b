// The Engine facade: one model's weights on one device, and the prompt sessions that run on them.
// Two sessions (two prompts side by side) hold their own captures and share one copy of the weights.

import { GpuOutOfMemoryError, type GpuContext } from '../gpu/device';
import { KernelRegistry, type WeightFormat } from '../gpu/kernels';
import type { ShaderLibrary } from '../gpu/shader-library';
import type { Gpt2Config } from '../model/types';
import { activationBytes, captureBytes, chooseCaptureFormat, captureBudgetBytes, formatBytes } from './cost';
import { PromptSession, firstLine, lensChunk, lensTopK, type SessionOptions } from './session';
import { noneSlots } from './steps';
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
  /** EngineParts.none: stand-ins bound where a kernel's optional output is not wanted. */
  readonly none: GPUBuffer;
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
    const size = 256 * (noneSlots - 1) + 16;
    this.none = gpu.device.createBuffer({ label: 'none', size, usage: GPUBufferUsage.STORAGE });
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
    // Out of memory shows two ways: a mapped buffer that cannot be allocated throws (RangeError),
    // any other allocation fires the error scope.
    device.pushErrorScope('out-of-memory');
    let weights: GpuWeights | undefined;
    let failure: unknown;
    try {
      weights = await GpuWeights.upload(device, reader, {
        format,
        vocabAlign: lensChunk,
        maxVocabRowsPerPart: options.maxVocabRowsPerPart,
        onProgress: options.onProgress,
        signal: options.signal,
      });
    } catch (e) {
      failure = e;
    }
    const oom = await device.popErrorScope();
    if (oom || failure instanceof GpuOutOfMemoryError) {
      weights?.destroy();
      const why = firstLine(oom?.message ?? (failure instanceof Error ? failure.message : String(failure)));
      throw new GpuOutOfMemoryError(
        needed,
        `out of GPU memory while uploading the weights: the model needs ${formatBytes(needed)} in ${format} ` +
          `(and each prompt ${formatBytes(promptBytes(reader.config))} more for ${promptTokens} tokens), ` +
          `more than this GPU could give (${why}). WebGPU does not tell how much memory a GPU has: ` +
          `close other GPU-heavy tabs or pick a smaller model.`,
        { cause: failure ?? oom },
      );
    }
    if (failure !== undefined || !weights) throw failure;
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
        none: this.none,
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
    this.none.destroy();
  }
}

/** Tokens of the prompt that the out-of-memory message prices. */
const promptTokens = 64;

/** GPU bytes of one prompt session of promptTokens tokens (captures and activations, lens 'layers'). */
function promptBytes(config: Gpt2Config): number {
  const T = Math.min(promptTokens, config.nCtx);
  const format = chooseCaptureFormat(config, T, captureBudgetBytes);
  return captureBytes(config, T, format) + activationBytes(config, T, config.nLayer + 1, lensChunk, lensTopK);
}
