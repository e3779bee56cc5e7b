// Head detectors, entropy and sparsity computed on the GPU from the attention captures, where they
// are: per layer, detect_heads_rows.wgsl reduces each (query, head) row of the capture texture to a
// few terms and detect_heads_reduce.wgsl sums them over queries into that layer's slot of a small
// [L, H, 16] buffer; one submission, one readback of L·H·64 bytes. Definitions: head-scores.ts;
// CPU oracle: detectors-reference.ts.
//
// The scorer takes capture textures, not a session, so that hand-made patterns can be scored too
// (the tests write them in each capture format). A HeadScorer keeps its buffers and bind groups
// between calls (they grow with T and L; bind groups are cached per capture texture).

import type { Engine } from '../engine/engine';
import type { PromptSession } from '../engine/session';
import { captureBytesPerValue, type CaptureFormat, type KernelRegistry } from '../gpu/kernels';
import {
  checkTokens,
  detectorQueries,
  detectors,
  repeatedRandomTokens,
  resolveDetectorOptions,
  type Detector,
  type DetectorOptions,
  type HeadScores,
  type HeadStat,
  type RepeatedTokensOptions,
} from './head-scores';

const rowStride = 16; // ROW_STRIDE in detect_heads_rows.wgsl / detect_heads_reduce.wgsl
const outStride = 16; // OUT_STRIDE in detect_heads_reduce.wgsl
const reduceItems = 10; // threads per head in detect_heads_reduce.wgsl
const uniformStride = 256; // minUniformBufferOffsetAlignment: one DetectParams slot per layer
const wgRows = 64;
const wgReduce = 16;
const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

/** The attention captures of a session's layers, in depth order (what HeadScorer.score takes). */
export function sessionPatterns(session: PromptSession, nLayer: number): GPUTexture[] {
  return Array.from({ length: nLayer }, (_, l) => session.capture({ kind: 'pattern', layer: l }));
}

export class HeadScorer {
  readonly #device: GPUDevice;
  readonly #kernels: KernelRegistry;
  #tokens: GPUBuffer | undefined; // [T] u32
  #params: GPUBuffer | undefined; // L × 256 bytes: DetectParams per layer
  #rowStats: GPUBuffer | undefined; // [H, T, 16] f32, reused by every layer
  #out: GPUBuffer | undefined; // [L, H, 16] f32
  #staging: GPUBuffer | undefined;
  #rowGroups = new WeakMap<GPUTexture, GPUBindGroup>();
  #reduceGroups: GPUBindGroup[] = [];
  #queue: Promise<unknown> = Promise.resolve();
  #destroyed = false;

  constructor(device: GPUDevice, kernels: KernelRegistry) {
    this.#device = device;
    this.#kernels = kernels;
  }

  /**
   * Scores every head of every layer from the captures `patterns` (one texture_2d_array per layer,
   * in depth order, as PromptSession.patternTexture gives them) of a run over `tokens` (T =
   * tokens.length). Calls are queued, never overlapped; one readback each.
   */
  score(
    patterns: readonly GPUTexture[],
    tokens: readonly number[],
    options?: DetectorOptions,
  ): Promise<HeadScores> {
    const run = this.#queue.then(() => this.#score(patterns, tokens, options));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  destroy(): void {
    this.#destroyed = true;
    for (const b of [this.#tokens, this.#params, this.#rowStats, this.#out, this.#staging]) b?.destroy();
    this.#tokens = this.#params = this.#rowStats = this.#out = this.#staging = undefined;
  }

  async #score(
    patterns: readonly GPUTexture[],
    tokens: readonly number[],
    options?: DetectorOptions,
  ): Promise<HeadScores> {
    if (this.#destroyed) throw new Error('this head scorer was destroyed');
    checkTokens(tokens);
    const o = resolveDetectorOptions(options);
    const { format, H } = checkPatterns(patterns, tokens.length);
    const L = patterns.length;
    const T = tokens.length;
    this.#ensure(L, H, T);
    const device = this.#device;

    device.queue.writeBuffer(this.#tokens!, 0, new Uint32Array(tokens));
    // DetectParams (detect_heads_rows.wgsl): rows, window, exclude_first, exclude_current, layer.
    const params = new Uint32Array((L * uniformStride) / 4);
    for (let l = 0; l < L; l++) {
      params.set([T, o.window, o.excludeFirst ? 1 : 0, o.excludeCurrent ? 1 : 0, l], (l * uniformStride) / 4);
    }
    device.queue.writeBuffer(this.#params!, 0, params);

    const rows = this.#kernels.get('detectHeadsRows', {
      overrides: { WG_X: wgRows, SQRT_ENCODE: format === 'rgba8unorm' ? 1 : 0 },
    });
    const reduce = this.#kernels.get('detectHeadsReduce', { overrides: { WG_X: wgReduce, H } });
    const encoder = device.createCommandEncoder({ label: 'head detectors' });
    const pass = encoder.beginComputePass({ label: 'head detectors' });
    for (const [l, texture] of patterns.entries()) {
      pass.setPipeline(rows.pipeline);
      pass.setBindGroup(0, this.#rowGroup(texture, rows.layout));
      pass.dispatchWorkgroups(ceilDiv(T, wgRows), H, 1);
      pass.setPipeline(reduce.pipeline);
      pass.setBindGroup(0, this.#reduceGroup(l, reduce.layout));
      pass.dispatchWorkgroups(ceilDiv(reduceItems, wgReduce), H, 1);
    }
    pass.end();
    const bytes = L * H * outStride * 4;
    encoder.copyBufferToBuffer(this.#out!, 0, this.#staging!, 0, bytes);
    device.queue.submit([encoder.finish()]);
    const staging = this.#staging!;
    await staging.mapAsync(GPUMapMode.READ, 0, bytes);
    const out = new Float32Array(staging.getMappedRange(0, bytes).slice(0));
    staging.unmap();
    return assemble(out, L, H, tokens, o);
  }

  /** Grows the buffers to L layers, H heads and T tokens; new buffers drop the cached bind groups. */
  #ensure(L: number, H: number, T: number): void {
    const device = this.#device;
    const grow = (
      current: GPUBuffer | undefined,
      label: string,
      bytes: number,
      usage: number,
    ): GPUBuffer | undefined => {
      if (current && current.size >= bytes) return undefined;
      current?.destroy();
      return device.createBuffer({ label, size: Math.max(16, Math.ceil(bytes / 16) * 16), usage });
    };
    const storage = GPUBufferUsage.STORAGE;
    const copyDst = GPUBufferUsage.COPY_DST;
    const tokens = grow(this.#tokens, 'detectors.tokens', T * 4, storage | copyDst);
    const params = grow(
      this.#params,
      'detectors.params',
      L * uniformStride,
      GPUBufferUsage.UNIFORM | copyDst,
    );
    const rowStats = grow(this.#rowStats, 'detectors.row_stats', H * T * rowStride * 4, storage);
    const out = grow(this.#out, 'detectors.out', L * H * outStride * 4, storage | GPUBufferUsage.COPY_SRC);
    const staging = grow(
      this.#staging,
      'detectors.readback',
      L * H * outStride * 4,
      GPUBufferUsage.MAP_READ | copyDst,
    );
    if (tokens) this.#tokens = tokens;
    if (params) this.#params = params;
    if (rowStats) this.#rowStats = rowStats;
    if (out) this.#out = out;
    if (staging) this.#staging = staging;
    if (tokens || params || rowStats) this.#rowGroups = new WeakMap();
    if (params || rowStats || out) this.#reduceGroups = [];
  }

  #rowGroup(texture: GPUTexture, layout: GPUBindGroupLayout): GPUBindGroup {
    let group = this.#rowGroups.get(texture);
    if (!group) {
      group = this.#device.createBindGroup({
        label: `detect_heads_rows:${texture.label}`,
        layout,
        entries: [
          { binding: 0, resource: { buffer: this.#params!, offset: 0, size: 32 } },
          { binding: 1, resource: { buffer: this.#tokens! } },
          { binding: 2, resource: texture.createView({ dimension: '2d-array' }) },
          { binding: 3, resource: { buffer: this.#rowStats! } },
        ],
      });
      this.#rowGroups.set(texture, group);
    }
    return group;
  }

  #reduceGroup(layer: number, layout: GPUBindGroupLayout): GPUBindGroup {
    // The registry gives every pipeline with these bindings one layout, whatever its overrides.
    let group = this.#reduceGroups[layer];
    if (!group) {
      group = this.#device.createBindGroup({
        label: `detect_heads_reduce:${layer}`,
        layout,
        entries: [
          { binding: 0, resource: { buffer: this.#params!, offset: layer * uniformStride, size: 32 } },
          { binding: 1, resource: { buffer: this.#rowStats! } },
          { binding: 2, resource: { buffer: this.#out! } },
        ],
      });
      this.#reduceGroups[layer] = group;
    }
    return group;
  }
}

/** The captures' common format and head count, or a clear error. */
function checkPatterns(patterns: readonly GPUTexture[], T: number): { format: CaptureFormat; H: number } {
  const first = patterns[0];
  if (!first) throw new RangeError('no attention captures to score: pass one texture per layer');
  const format = first.format as CaptureFormat;
  const H = first.depthOrArrayLayers;
  for (const [l, p] of patterns.entries()) {
    const name = p.label || `patterns[${l}]`;
    if (!(p.format in captureBytesPerValue)) {
      throw new TypeError(
        `${name} is ${p.format}, not an attention-capture format (${Object.keys(captureBytesPerValue).join(', ')})`,
      );
    }
    if (p.format !== format) throw new TypeError(`${name} is ${p.format} but layer 0's capture is ${format}`);
    if (p.depthOrArrayLayers !== H) {
      throw new RangeError(`${name} has ${p.depthOrArrayLayers} heads but layer 0's capture has ${H}`);
    }
    if (p.dimension !== '2d' || !(p.usage & GPUTextureUsage.TEXTURE_BINDING)) {
      throw new TypeError(`${name} is not a 2d texture array that shaders can read (TEXTURE_BINDING)`);
    }
    if (p.height < T || p.width * 4 < T) {
      throw new RangeError(
        `${name} holds ${Math.min(p.height, p.width * 4)} tokens, fewer than the ${T} scored`,
      );
    }
  }
  return { format, H };
}

function assemble(
  out: Float32Array,
  L: number,
  H: number,
  tokens: readonly number[],
  options: HeadScores['options'],
): HeadScores {
  const queries = detectorQueries(tokens, options);
  const n = L * H;
  const scores = Object.fromEntries(
    detectors.map((d, k) => [
      d,
      Float64Array.from({ length: n }, (_, i) => (queries[d] === 0 ? NaN : out[i * outStride + k]!)),
    ]),
  ) as Record<Detector, Float64Array>;
  const rowWeight = Float64Array.from({ length: n }, (_, i) => out[i * outStride + 6]!);
  const stat = (col: number): HeadStat => ({
    mean: Float64Array.from({ length: n }, (_, i) => (rowWeight[i]! > 0 ? out[i * outStride + col]! : NaN)),
    std: Float64Array.from({ length: n }, (_, i) =>
      rowWeight[i]! > 0 ? out[i * outStride + col + 1]! : NaN,
    ),
  });
  return {
    nLayer: L,
    nHead: H,
    tokens: [...tokens],
    options,
    scores,
    queries,
    entropy: stat(7),
    normalizedEntropy: stat(9),
    sparsity: stat(11),
    rowWeight,
  };
}

/** One-shot scoring (a HeadScorer made and destroyed for the call). */
export async function scoreHeads(
  device: GPUDevice,
  kernels: KernelRegistry,
  patterns: readonly GPUTexture[],
  tokens: readonly number[],
  options?: DetectorOptions,
): Promise<HeadScores> {
  const scorer = new HeadScorer(device, kernels);
  try {
    return await scorer.score(patterns, tokens, options);
  } finally {
    scorer.destroy();
  }
}

export interface InductionOptions extends RepeatedTokensOptions, DetectorOptions {
  /** A session to run the probe in (default: a new one with the final lens only, destroyed after). */
  readonly session?: PromptSession;
  /** A scorer to reuse (default: a new one, destroyed after). */
  readonly scorer?: HeadScorer;
}

export interface InductionResult {
  /** The probe: [BOS] + R + R. */
  readonly tokens: readonly number[];
  /** n, the length of R. */
  readonly length: number;
  /** Every detector on the probe; scores.induction is the induction score. */
  readonly scores: HeadScores;
  /** [L, H]: mean attention from each query of the second copy to the token after its first occurrence. */
  readonly induction: Float64Array;
}

/**
 * The induction score as TransformerLens measures it: [BOS] + R + R of random distinct ids (seeded)
 * run through a session of `engine` (not the user's prompt's), every head scored on it.
 */
export async function measureInduction(
  engine: Engine,
  options: InductionOptions = {},
): Promise<InductionResult> {
  const tokens = repeatedRandomTokens(engine.config, options);
  const length = Math.floor(tokens.length / 2); // 2n, or 2n + 1 with BOS
  const session = options.session ?? engine.createSession({ lens: 'final', capacity: tokens.length });
  const scorer = options.scorer ?? new HeadScorer(engine.gpu.device, engine.kernels);
  try {
    await session.run(tokens);
    const scores = await scorer.score(sessionPatterns(session, engine.config.nLayer), tokens, options);
    return { tokens, length, scores, induction: scores.scores.induction };
  } finally {
    if (!options.session) session.destroy();
    if (!options.scorer) scorer.destroy();
  }
}
