// GPT-2 weights on the GPU, uploaded one tensor at a time (a 6 GB checkpoint never needs to sit in
// memory whole). f16 storage where the device has shader-f16 (kernels accumulate in f32), f32
// otherwise. wte is split along the vocabulary into parts that fit the device's storage-binding
// size; every kernel that reads wte runs once per part.

import { f32ToF16, toFloat32 } from '../model/dtype';
import type { Gpt2Config, Gpt2Weights, Tensor } from '../model/types';
import { GpuOutOfMemoryError } from '../gpu/device';
import type { WeightFormat } from '../gpu/kernels';
import { formatBytes } from './cost';

/** Where weights come from: a checkpoint (streamed) or weights already in memory. */
export interface WeightReader {
  readonly config: Gpt2Config;
  read(canonicalName: string): Promise<Tensor>;
}

export interface LayerNormBuffers {
  readonly weight: GPUBuffer; // [D]
  readonly bias: GPUBuffer; // [D]
}
export interface LinearBuffers {
  readonly weight: GPUBuffer; // [in, out]
  readonly bias: GPUBuffer; // [out]
}
export interface BlockBuffers {
  readonly ln1: LayerNormBuffers;
  readonly cAttn: LinearBuffers; // [D, 3D]
  readonly attnProj: LinearBuffers; // [D, D]
  readonly ln2: LayerNormBuffers;
  readonly fc: LinearBuffers; // [D, nInner]
  readonly mlpProj: LinearBuffers; // [nInner, D]
}
/** Rows [start, start + count) of wte in one buffer. */
export interface VocabPart {
  readonly buffer: GPUBuffer; // [count, D]
  readonly start: number;
  readonly count: number;
}

export function weightReaderFromMemory(weights: Gpt2Weights): WeightReader {
  const byName = new Map<string, Tensor>();
  const add = (t: Tensor) => byName.set(t.name, t);
  add(weights.wte);
  add(weights.wpe);
  for (const b of weights.blocks) {
    for (const t of [b.ln1, b.cAttn, b.attnProj, b.ln2, b.fc, b.mlpProj]) {
      add(t.weight);
      add(t.bias);
    }
  }
  add(weights.lnF.weight);
  add(weights.lnF.bias);
  return {
    config: weights.config,
    read(name) {
      const t = byName.get(name);
      if (!t) return Promise.reject(new Error(`no tensor ${name} in the weights`));
      return Promise.resolve(t);
    },
  };
}

/** The largest weight other than wte (split by vocabulary) and its size in bytes. */
export function largestBlockTensor(
  config: Gpt2Config,
  format: WeightFormat,
): { name: string; bytes: number } {
  const { nEmbd: D, nInner: F } = config;
  const candidates = [
    { name: 'h.0.attn.c_attn.weight', count: D * 3 * D },
    { name: 'h.0.mlp.c_fc.weight', count: D * F },
    { name: 'wpe.weight', count: config.nCtx * D },
  ];
  const largest = candidates.reduce((a, b) => (b.count > a.count ? b : a));
  return { name: largest.name, bytes: largest.count * (format === 'f16' ? 2 : 4) };
}

export interface UploadOptions {
  readonly format: WeightFormat;
  /** Vocabulary rows per wte part, a multiple of `vocabAlign`; by default as many as the binding limit allows. */
  readonly maxVocabRowsPerPart?: number;
  /** Part boundaries are multiples of this (the lens kernel's vocabulary chunk). */
  readonly vocabAlign: number;
  readonly onProgress?: (uploadedBytes: number, totalBytes: number) => void;
  readonly signal?: AbortSignal;
}

export class GpuWeights {
  readonly config: Gpt2Config;
  readonly format: WeightFormat;
  readonly wteParts: readonly VocabPart[];
  readonly wpe: GPUBuffer; // [nCtx, D]
  readonly blocks: readonly BlockBuffers[];
  readonly lnF: LayerNormBuffers;
  /** GPU bytes held by the weights. */
  readonly bytes: number;
  readonly #buffers: GPUBuffer[];

  private constructor(init: {
    config: Gpt2Config;
    format: WeightFormat;
    wteParts: VocabPart[];
    wpe: GPUBuffer;
    blocks: BlockBuffers[];
    lnF: LayerNormBuffers;
    buffers: GPUBuffer[];
  }) {
    this.config = init.config;
    this.format = init.format;
    this.wteParts = init.wteParts;
    this.wpe = init.wpe;
    this.blocks = init.blocks;
    this.lnF = init.lnF;
    this.#buffers = init.buffers;
    this.bytes = init.buffers.reduce((n, b) => n + b.size, 0);
  }

  /** Bytes the weights will take on the GPU in this format (for the "too large" check before upload). */
  static bytesNeeded(config: Gpt2Config, format: WeightFormat): number {
    const { nLayer: L, nEmbd: D, nInner: F, vocabSize: V, nCtx: N } = config;
    const perBlock = 4 * D + (D * 3 * D + 3 * D) + (D * D + D) + (D * F + F) + (F * D + D);
    const count = V * D + N * D + L * perBlock + 2 * D;
    return count * (format === 'f16' ? 2 : 4);
  }

  static async upload(device: GPUDevice, reader: WeightReader, opts: UploadOptions): Promise<GpuWeights> {
    const { config } = reader;
    const elementBytes = opts.format === 'f16' ? 2 : 4;
    const total = GpuWeights.bytesNeeded(config, opts.format);
    const buffers: GPUBuffer[] = [];
    let uploaded = 0;

    const upload = (label: string, values: Float32Array | Uint16Array): GPUBuffer => {
      opts.signal?.throwIfAborted();
      const size = Math.ceil((values.length * elementBytes) / 4) * 4; // bindings need 4-byte sizes
      let buffer: GPUBuffer;
      try {
        buffer = device.createBuffer({
          label,
          size,
          usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
          mappedAtCreation: true,
        });
      } catch (e) {
        // WebGPU throws a RangeError when a buffer mapped at creation cannot be allocated.
        if (!(e instanceof RangeError)) throw e;
        throw new GpuOutOfMemoryError(total, `${label} (${formatBytes(size)}): ${e.message}`, { cause: e });
      }
      buffers.push(buffer);
      const range = buffer.getMappedRange();
      if (values instanceof Uint16Array) new Uint16Array(range, 0, values.length).set(values);
      else new Float32Array(range, 0, values.length).set(values);
      buffer.unmap();
      uploaded += values.length * elementBytes;
      opts.onProgress?.(uploaded, total);
      return buffer;
    };
    const read = async (name: string): Promise<Float32Array | Uint16Array> => {
      const t = await reader.read(name);
      if (opts.format === 'f32') return toFloat32(t);
      if (t.dtype === 'F16') return t.data as Uint16Array;
      const f = toFloat32(t);
      const h = new Uint16Array(f.length);
      for (let i = 0; i < f.length; i++) h[i] = f32ToF16(f[i]!);
      return h;
    };
    const tensor = async (name: string) => upload(name, await read(name));
    // LayerNorms and Conv1D layers alike are a `.weight` and a `.bias`.
    const pair = async (prefix: string): Promise<LayerNormBuffers & LinearBuffers> => ({
      weight: await tensor(`${prefix}.weight`),
      bias: await tensor(`${prefix}.bias`),
    });

    try {
      const { vocabSize: V, nEmbd: D } = config;
      const maxRows = Math.floor(device.limits.maxStorageBufferBindingSize / (D * elementBytes));
      let rowsPerPart = Math.min(V, opts.maxVocabRowsPerPart ?? maxRows, maxRows);
      if (rowsPerPart < V) rowsPerPart -= rowsPerPart % opts.vocabAlign;
      if (rowsPerPart <= 0) throw new Error(`wte rows of ${D} values do not fit the device's binding size`);
      const wte = await read('wte.weight');
      const wteParts: VocabPart[] = [];
      for (let start = 0; start < V; start += rowsPerPart) {
        const count = Math.min(rowsPerPart, V - start);
        const label =
          wteParts.length === 0 && count === V ? 'wte.weight' : `wte.weight[${start}:${start + count}]`;
        wteParts.push({ buffer: upload(label, wte.subarray(start * D, (start + count) * D)), start, count });
      }
      const wpe = await tensor('wpe.weight');
      const blocks: BlockBuffers[] = [];
      for (let i = 0; i < config.nLayer; i++) {
        const h = `h.${i}`;
        blocks.push({
          ln1: await pair(`${h}.ln_1`),
          cAttn: await pair(`${h}.attn.c_attn`),
          attnProj: await pair(`${h}.attn.c_proj`),
          ln2: await pair(`${h}.ln_2`),
          fc: await pair(`${h}.mlp.c_fc`),
          mlpProj: await pair(`${h}.mlp.c_proj`),
        });
      }
      const lnF = await pair('ln_f');
      return new GpuWeights({ config, format: opts.format, wteParts, wpe, blocks, lnF, buffers });
    } catch (e) {
      for (const b of buffers) b.destroy();
      throw e;
    }
  }

  destroy(): void {
    for (const b of this.#buffers) b.destroy();
  }
}
