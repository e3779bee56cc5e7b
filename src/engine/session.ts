// One prompt's activations and captures on the GPU, and the forward pass that fills them.
// Buffers and bind groups are created once per capacity (grown in steps when a longer prompt
// comes); a run writes the tokens and a few uniforms, encodes the prebuilt steps into one command
// buffer, submits once, and reads back only the logit lens's top-k (a few KB).
//
// Captures (TransformerLens names as labels):
//   blocks.{l}.hook_resid_pre, blocks.{l}.hook_resid_mid, blocks.{L-1}.hook_resid_post:
//       one (capacity, D) f32 buffer each, rows [0, T) valid
//   blocks.{l}.attn.hook_pattern: a texture_2d_array per layer, (ceil(capacity/4), capacity) × H,
//       texel (s/4, t) of layer h = keys s..s+3 of query t; rows/columns ≥ T are stale
//
// A run may ablate heads and MLPs (run(tokens, { ablate })): the layers concerned get one extra
// small dispatch each, the others run exactly as without ablation. After a run, trackTokens follows
// chosen tokens' probability and rank through the lens points without running the forward again.

import { checkAblation, isEmptyAblation, type Ablation } from '../model/ablation';
import { hookName, residualBoundaries, type HookPoint } from '../model/hooks';
import type { Gpt2Config } from '../model/types';
import { GpuOutOfMemoryError } from '../gpu/device';
import {
  captureBytesPerValue,
  type CaptureFormat,
  type Kernel,
  type KernelName,
  type KernelRegistry,
  type PipelineVariant,
} from '../gpu/kernels';
import {
  ablationFlagStride,
  activationBytes,
  captureBudgetBytes,
  captureBytes,
  chooseCaptureFormat,
  formatBytes,
  forwardFlops,
  maxTrackedTokens,
  trackFlops,
} from './cost';
import type { GpuWeights } from './weights';

export type { Ablation, HeadRef } from '../model/ablation';
export { maxTrackedTokens } from './cost';

/** Logit-lens settings shared by every session of an engine. */
export const lensTopK = 5; // at most 8 (MAX_K in unembed_topk_tiled.wgsl)
/** Vocabulary entries per thread in the lens kernel (wte parts are multiples of it). */
export const lensChunk = 1024;
/** Tokens of capacity added at a time when a prompt outgrows a session. */
const capacityStep = 64;

/**
 * Where the logit lens reads the stream: every resid_pre and the final resid_post ('layers',
 * L+1 points); every residual boundary, i.e. also between attention and MLP ('all', 2L+1 points:
 * resid_pre 0, resid_mid 0, resid_pre 1, …, resid_mid L-1, the final resid_post, the capture CLI's
 * residual_norms order); or only the final resid_post ('final': the model's own next-token
 * prediction). The lens over all layers costs (L+1)·T·2·D·V FLOPs — more than the rest of the
 * forward for GPT-2 small; 'all' nearly twice that.
 */
export type LensPoints = 'layers' | 'all' | 'final';

export interface SessionOptions {
  /** 'auto': the finest format whose captures at the session's capacity fit `captureBudget`. */
  readonly captureFormat: CaptureFormat | 'auto';
  /** Bytes the attention captures may take (default captureBudgetBytes). */
  readonly captureBudget?: number;
  readonly lens: LensPoints;
  /** Initial capacity in tokens (grown on demand up to n_ctx). */
  readonly capacity?: number;
}

/** Per-run options of PromptSession.run. */
export interface RunOptions {
  /**
   * Heads and MLPs to ablate in this run (see Ablation: zero, or the mean over this prompt's
   * positions). Every capture of the run (patterns of later layers, residual stream, lens, logits)
   * shows the ablated model. Omitted or empty: the clean forward.
   */
  readonly ablate?: Ablation;
}

/** Top-k of the logit lens at each of the session's lens points, in depth order. */
export interface LensTopK {
  readonly points: readonly HookPoint[];
  readonly k: number;
  /** (points, T, k) token ids, best first. */
  readonly ids: Uint32Array;
  /** (points, T, k) probabilities. */
  readonly probs: Float32Array;
}

export interface RunResult {
  readonly tokens: readonly number[];
  readonly lens: LensTopK;
  /** Compute dispatches encoded for this forward. */
  readonly dispatches: number;
  /** Bytes copied back to the CPU for this forward. */
  readonly readbackBytes: number;
  /** The ablation this run applied (a copy; heads and mlps sorted, duplicates removed), if any. */
  readonly ablation?: Ablation;
  /** Multiply-adds ×2 of this forward as encoded (forwardFlops for this path and ablation). */
  readonly flops: number;
}

/** Tracked tokens at lens points: the result of PromptSession.trackTokens. */
export interface TokenTrack {
  /** The tracked token ids, in the order asked. */
  readonly ids: readonly number[];
  /** The lens points, in the order asked. */
  readonly points: readonly HookPoint[];
  /** Positions of the run the track was read from. */
  readonly T: number;
  /** (ids, points, T): softmax probability of the token under the logit lens (ln_f recomputed). */
  readonly prob: Float32Array;
  /** (ids, points, T): vocabulary entries with a strictly larger logit (0: the top token). */
  readonly rank: Uint32Array;
  /** Bytes copied back to the CPU. */
  readonly readbackBytes: number;
}

interface Step {
  readonly label: string;
  readonly kernel: Kernel;
  readonly bindGroup: GPUBindGroup;
  /** Workgroups for n rows (T for the blocks, lens points · T for the lens and tracking). */
  readonly workgroups: (n: number) => readonly [number, number, number];
}

/** One block's steps, in order: attention (ln_1 … values), c_proj + residual, MLP (ln_2 … c_proj). */
interface LayerSteps {
  readonly attention: readonly Step[];
  readonly attnProj: Step;
  readonly mlp: readonly [ln2: Step, fc: Step, proj: Step];
}

/** A block's ablation steps, built the first time a run ablates something in that block. */
interface AblationSteps {
  readonly heads: Step;
  /** mlp.c_proj without the residual epilogue: hook_mlp_out into the ln scratch. */
  readonly mlpOut: Step;
  readonly mlp: Step;
}

/** Token tracking's buffers and steps (see trackTokens). */
interface Tracking {
  readonly ids: GPUBuffer; // (n_ids) u32
  readonly points: GPUBuffer; // (tracked points) u32 lens point indices
  readonly target: GPUBuffer; // (n_ids, rows) f32 the tracked tokens' logits
  readonly rank: GPUBuffer; // (n_ids, rows) u32 counts, cleared per call
  readonly out: GPUBuffer; // (n_ids, rows, 2) u32 [bitcast(prob), rank]
  readonly steps: readonly Step[];
}

/** What an allocation left: the GPU's out-of-memory error, or a validation error without one (a bug). */
interface Allocation {
  readonly oom?: GPUError;
  readonly bug?: Error;
}

/** A driver's message without the call stack Dawn appends. */
export function firstLine(message: string): string {
  return (message.split('\n')[0] ?? '').replace(/\.$/, '');
}

/** The GPU context a session needs from its engine. */
export interface EngineParts {
  readonly device: GPUDevice;
  readonly kernels: KernelRegistry;
  readonly weights: GpuWeights;
  /** Barrier-free kernels for CPU fallback adapters, shared-memory tiling on real GPUs. */
  readonly fallback: boolean;
}

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);
const uniformStride = 256; // minUniformBufferOffsetAlignment
const wg = 64;
const wgVec4 = 16;
/** Ablation flag values (shaders/forward/ablate_*.wgsl). */
const flagOf = { zero: 1, mean: 2 } as const;

export class PromptSession {
  readonly #parts: EngineParts;
  readonly #config: Gpt2Config;
  readonly #formatOption: CaptureFormat | 'auto';
  readonly #captureBudget: number;
  readonly #lensOption: LensPoints;
  #captureFormat: CaptureFormat = 'rgba32float';
  readonly lensPoints: readonly HookPoint[];
  #capacity = 0;
  #buffers: GPUBuffer[] = [];
  #textures: GPUTexture[] = [];
  #resid: GPUBuffer[] = []; // 2L+1 residual boundaries, residualBoundaries() order
  #tokens!: GPUBuffer;
  #params!: GPUBuffer;
  #lensOut!: GPUBuffer;
  #logits!: GPUBuffer;
  #staging!: GPUBuffer;
  #scratch!: { ln: GPUBuffer; z: GPUBuffer; fc: GPUBuffer };
  #flags!: GPUBuffer; // (L, flag stride) u32 ablation flags
  #lensScratch!: { x: GPUBuffer; partial: GPUBuffer }; // lens stack after ln_f, softmax partials
  /** Token tracking's buffers and steps, made by the first trackTokens call at this capacity. */
  #tracking: Tracking | undefined;
  #lensCopies: { from: GPUBuffer; to: GPUBuffer }[] = [];
  #embedSteps: Step[] = [];
  #layerSteps: LayerSteps[] = [];
  #ablationSteps: (AblationSteps | undefined)[] = [];
  #lensSteps: Step[] = [];
  #logitsLastFused = false;
  /** Positions of the last run whose lens stack is on the GPU (0: none yet). */
  #lastT = 0;
  /** The last run that completed: replayed to restore the captures after a failed growth. */
  #last: { tokens: readonly number[]; options: RunOptions } | undefined;
  /** The constructor's allocation, checked for out-of-memory by the first run. */
  #initialAllocation: Promise<Allocation> | undefined;
  #destroyed = false;

  constructor(parts: EngineParts, options: SessionOptions) {
    this.#parts = parts;
    this.#config = parts.weights.config;
    this.#formatOption = options.captureFormat;
    this.#captureBudget = options.captureBudget ?? captureBudgetBytes;
    this.#lensOption = options.lens;
    const L = this.#config.nLayer;
    const final: HookPoint = { kind: 'resid_post', layer: L - 1 };
    this.lensPoints =
      options.lens === 'final'
        ? [final]
        : options.lens === 'all'
          ? residualBoundaries(L)
          : [...Array.from({ length: L }, (_, layer): HookPoint => ({ kind: 'resid_pre', layer })), final];
    this.#initialAllocation = this.#allocateChecked(
      Math.min(this.#config.nCtx, options.capacity ?? capacityStep),
    );
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** The format of the attention captures now (with 'auto', it can coarsen as the capacity grows). */
  get captureFormat(): CaptureFormat {
    return this.#captureFormat;
  }

  /** GPU bytes of this session's activations and captures at its current capacity. */
  get bytes(): number {
    return (
      this.#buffers.reduce((n, b) => n + b.size, 0) +
      this.#textures.reduce(
        (n, t) =>
          n + t.width * t.height * t.depthOrArrayLayers * 4 * captureBytesPerValue[t.format as CaptureFormat],
        0,
      )
    );
  }

  /** The attention-pattern capture of one layer (see the file comment for its layout). */
  patternTexture(layer: number): GPUTexture {
    const t = this.#textures[layer];
    if (!t) throw new RangeError(`no layer ${layer}: the model has ${this.#config.nLayer}`);
    return t;
  }

  /** The residual-stream capture at a boundary (resid_pre, resid_mid or the final resid_post). */
  residual(point: HookPoint): GPUBuffer {
    const i = residualBoundaries(this.#config.nLayer).findIndex(
      (p) => p.kind === point.kind && 'layer' in p && 'layer' in point && p.layer === point.layer,
    );
    const b = this.#resid[i];
    if (!b) throw new RangeError(`${hookName(point)} is not a residual boundary that is captured`);
    return b;
  }

  /** The final position's next-token logits (V) f32, written by every run. */
  get logitsLast(): GPUBuffer {
    return this.#logits;
  }

  /**
   * Runs the forward pass on `tokens`: one queue submission; resolves once the lens top-k is back.
   * With `options.ablate`, the listed heads' outputs (hook_z, before attn.c_proj, whose bias stays)
   * and MLPs' outputs (hook_mlp_out) are replaced by zero or by their mean over this prompt's
   * positions. Runs of one session must not overlap (await each); two sessions may run at once.
   */
  async run(tokens: readonly number[], options: RunOptions = {}): Promise<RunResult> {
    if (this.#destroyed) throw new Error('this prompt session was destroyed');
    const T = tokens.length;
    const { nCtx, vocabSize, nLayer: L, nHead: H } = this.#config;
    if (T === 0) throw new RangeError('the prompt is empty: type at least one token');
    if (T > nCtx) throw new RangeError(`the prompt has ${T} tokens but the model's context is ${nCtx}`);
    for (const id of tokens) {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize)
        throw new RangeError(`token id ${id} is outside the vocabulary (0…${vocabSize - 1})`);
    }
    const ablation = normalizeAblation(this.#config, options.ablate);
    if (this.#initialAllocation) {
      const { oom, bug } = await this.#initialAllocation;
      this.#initialAllocation = undefined;
      if (bug) throw bug;
      if (oom) {
        const capacity = this.#capacity;
        this.#release();
        this.#capacity = 0;
        throw this.#outOfMemory(T, capacity, oom, false);
      }
    }
    if (T > this.#capacity) await this.#grow(T);

    const { device } = this.#parts;
    const nLens = this.lensPoints.length;
    device.queue.writeBuffer(this.#tokens, 0, new Uint32Array(tokens));
    const params = new Uint32Array((3 * uniformStride) / 4);
    params[0] = T; // per-position kernels
    params[uniformStride / 4] = nLens * T; // lens rows
    params[(2 * uniformStride) / 4] = nLens * T - 1; // the last position of the final stream
    device.queue.writeBuffer(this.#params, 0, params);

    // Flags per layer: heads 0..H-1, then the MLP at H; 0 keep, 1 zero, 2 mean.
    const flagStride = ablationFlagStride(this.#config) / 4;
    const flags = new Uint32Array(L * flagStride);
    if (ablation) {
      const flag = flagOf[ablation.mode];
      for (const { layer, head } of ablation.heads) flags[layer * flagStride + head] = flag;
      for (const layer of ablation.mlps ?? []) flags[layer * flagStride + H] = flag;
      device.queue.writeBuffer(this.#flags, 0, flags);
    }
    const blockSteps = [...this.#embedSteps];
    for (let l = 0; l < L; l++) {
      const layer = this.#layerSteps[l]!;
      const headsAblated = flags.subarray(l * flagStride, l * flagStride + H).some((f) => f !== 0);
      const mlpFlag = flags[l * flagStride + H]!;
      const ablate = headsAblated || mlpFlag !== 0 ? this.#ablationStepsOf(l) : undefined;
      blockSteps.push(...layer.attention);
      if (headsAblated) blockSteps.push(ablate!.heads);
      blockSteps.push(layer.attnProj);
      if (mlpFlag === 0) blockSteps.push(...layer.mlp);
      else if (mlpFlag === flagOf.mean)
        blockSteps.push(layer.mlp[0], layer.mlp[1], ablate!.mlpOut, ablate!.mlp);
      else blockSteps.push(ablate!.mlp); // zero: resid_post = resid_mid, the MLP need not run
    }

    const encoder = device.createCommandEncoder({ label: 'forward' });
    let dispatches = this.#encode(encoder, 'blocks', blockSteps, T);
    // The lens points' rows, stacked for the lens kernels: copies, not dispatches.
    const rowBytes = this.#config.nEmbd * 4;
    this.#lensCopies.forEach(({ from, to }, i) =>
      encoder.copyBufferToBuffer(from, 0, to, i * T * rowBytes, T * rowBytes),
    );
    dispatches += this.#encode(encoder, 'logit lens', this.#lensSteps, nLens * T);
    const readbackBytes = nLens * T * lensTopK * 8;
    encoder.copyBufferToBuffer(this.#lensOut, 0, this.#staging, 0, readbackBytes);
    device.queue.submit([encoder.finish()]);
    this.#lastT = T; // trackTokens called from now on reads this run (queue order)

    await this.#staging.mapAsync(GPUMapMode.READ, 0, readbackBytes);
    const raw = new Uint32Array(this.#staging.getMappedRange(0, readbackBytes).slice(0));
    this.#staging.unmap();
    const ids = new Uint32Array(raw.length / 2);
    const probs = new Float32Array(raw.length / 2);
    const rawF = new Float32Array(raw.buffer);
    for (let i = 0; i < ids.length; i++) {
      ids[i] = raw[2 * i]!;
      probs[i] = rawF[2 * i + 1]!;
    }
    const skippedMlps = ablation?.mode === 'zero' ? (ablation.mlps?.length ?? 0) : 0;
    this.#last = { tokens: [...tokens], options };
    return {
      tokens: [...tokens],
      lens: { points: this.lensPoints, k: lensTopK, ids, probs },
      dispatches,
      readbackBytes,
      ...(ablation ? { ablation } : {}),
      flops: forwardFlops(this.#config, T, nLens, { logitsLastFused: this.#logitsLastFused, skippedMlps }),
    };
  }

  /**
   * The probability and rank of each token in `ids` at every position of the last run, under the
   * logit lens at each of `points` (default: all of this session's lens points; each must be one of
   * them). Reads the last run's lens stack (ln_f already applied with each row's own statistics):
   * no forward runs again. On the GPU: the tokens' logits, every vocabulary logit compared with
   * them (rank = entries with a strictly larger logit), and the softmax denominator the lens
   * computed; one readback of ids·points·T·8 bytes. Costs about one lens pass over `points`
   * (trackFlops). Must not overlap a run of this session that grows its capacity.
   */
  async trackTokens(
    ids: readonly number[],
    points: readonly HookPoint[] = this.lensPoints,
  ): Promise<TokenTrack> {
    if (this.#destroyed) throw new Error('this prompt session was destroyed');
    const T = this.#lastT;
    if (T === 0) throw new Error('nothing to track yet: run the session on a prompt first');
    const { vocabSize } = this.#config;
    if (ids.length === 0) throw new RangeError('give at least one token id to track');
    if (ids.length > maxTrackedTokens) {
      throw new RangeError(`at most ${maxTrackedTokens} tokens can be tracked at once, got ${ids.length}`);
    }
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize)
        throw new RangeError(`token id ${id} is outside the vocabulary (0…${vocabSize - 1})`);
    }
    if (points.length === 0) throw new RangeError('give at least one lens point to track the tokens at');
    const pointIndex = points.map((p) => {
      const i = this.lensPoints.findIndex(
        (q) => q.kind === p.kind && 'layer' in q && 'layer' in p && q.layer === p.layer,
      );
      if (i < 0) {
        throw new RangeError(
          `${hookName(p)} is not a logit-lens point of this session (lens: '${this.#lensOption}'); ` +
            `create the session with lens: 'all' to track at every residual boundary`,
        );
      }
      return i;
    });

    const { device } = this.#parts;
    const rows = points.length * T;
    const n = ids.length;
    const track = this.#trackingOf();
    device.queue.writeBuffer(track.ids, 0, new Uint32Array(ids));
    device.queue.writeBuffer(track.points, 0, new Uint32Array(pointIndex));
    device.queue.writeBuffer(this.#params, 3 * uniformStride, new Uint32Array([rows, T, n, 0]));
    const readbackBytes = n * rows * 8;
    const staging = device.createBuffer({
      label: 'track.readback',
      size: readbackBytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    try {
      const encoder = device.createCommandEncoder({ label: 'track tokens' });
      encoder.clearBuffer(track.rank, 0, n * rows * 4);
      this.#encode(encoder, 'track tokens', track.steps, rows);
      encoder.copyBufferToBuffer(track.out, 0, staging, 0, readbackBytes);
      device.queue.submit([encoder.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const raw = new Uint32Array(staging.getMappedRange().slice(0));
      const rawF = new Float32Array(raw.buffer);
      const prob = new Float32Array(n * rows);
      const rank = new Uint32Array(n * rows);
      for (let i = 0; i < prob.length; i++) {
        prob[i] = rawF[2 * i]!;
        rank[i] = raw[2 * i + 1]!;
      }
      return { ids: [...ids], points: [...points], T, prob, rank, readbackBytes };
    } finally {
      staging.destroy();
    }
  }

  /** Multiply-adds ×2 of trackTokens for `ids` tokens at `points` lens points (last run's T). */
  trackFlops(ids: number, points: number = this.lensPoints.length): number {
    return trackFlops(this.#config, points * this.#lastT, ids);
  }

  #encode(encoder: GPUCommandEncoder, label: string, steps: readonly Step[], n: number): number {
    const pass = encoder.beginComputePass({ label });
    for (const step of steps) {
      pass.setPipeline(step.kernel.pipeline);
      pass.setBindGroup(0, step.bindGroup);
      pass.dispatchWorkgroups(...step.workgroups(n));
    }
    pass.end();
    return steps.length;
  }

  /**
   * Grows the buffers to fit T tokens. When the GPU is out of memory: the previous capacity is
   * allocated again and the last run replayed (its captures are what the studio shows), then a
   * GpuOutOfMemoryError says what the prompt needed.
   */
  async #grow(T: number): Promise<void> {
    const previous = this.#capacity;
    const capacity = Math.min(this.#config.nCtx, ceilDiv(T, capacityStep) * capacityStep);
    const { oom, bug } = await this.#allocateChecked(capacity);
    if (bug) throw bug;
    if (!oom) return;
    this.#release();
    this.#capacity = 0;
    let restored = false;
    if (previous > 0) {
      const again = await this.#allocateChecked(previous);
      if (again.oom || again.bug) {
        this.#release();
        this.#capacity = 0;
      } else {
        restored = true;
        const last = this.#last;
        if (last) await this.run(last.tokens, last.options);
      }
    }
    throw this.#outOfMemory(T, capacity, oom, restored);
  }

  /**
   * #allocate inside error scopes. Validation errors that follow an out-of-memory error (views and
   * bind groups of resources that could not be made) are its consequences; one without it is a bug.
   */
  #allocateChecked(capacity: number): Promise<Allocation> {
    const { device } = this.#parts;
    device.pushErrorScope('validation');
    device.pushErrorScope('out-of-memory');
    this.#allocate(capacity);
    const oom = device.popErrorScope();
    const validation = device.popErrorScope();
    return Promise.all([oom, validation]).then(
      ([o, v]) => ({
        oom: o ?? undefined,
        bug:
          !o && v ? new Error(`allocating a prompt session for ${capacity} tokens: ${v.message}`) : undefined,
      }),
      // (Never rejected while the scopes are balanced; a rejection is held for the run that checks.)
      (e: unknown) => ({ bug: e instanceof Error ? e : new Error(String(e)) }),
    );
  }

  #outOfMemory(T: number, capacity: number, oom: GPUError, restored: boolean): GpuOutOfMemoryError {
    const config = this.#config;
    const format =
      this.#formatOption === 'auto'
        ? chooseCaptureFormat(config, capacity, this.#captureBudget)
        : this.#formatOption;
    const captures = captureBytes(config, capacity, format);
    const activations = activationBytes(config, capacity, this.lensPoints.length, lensChunk, lensTopK);
    const kept = restored
      ? this.#last
        ? `the previous prompt (${this.#last.tokens.length} tokens) and its results are kept`
        : `prompts up to ${this.#capacity} tokens still run`
      : 'nothing of this prompt slot is left on the GPU';
    return new GpuOutOfMemoryError(
      captures + activations,
      `out of GPU memory for a prompt of ${T} tokens: its attention captures (${format}, ` +
        `${formatBytes(captures)}) and activations (${formatBytes(activations)}) come on top of the ` +
        `model's weights (${formatBytes(this.#parts.weights.bytes)}), more than this GPU could give ` +
        `(${firstLine(oom.message)}); ${kept}. Try a shorter prompt, or close other GPU-heavy tabs.`,
      { cause: oom },
    );
  }

  destroy(): void {
    this.#destroyed = true;
    this.#release();
  }

  #release(): void {
    for (const b of this.#buffers) b.destroy();
    for (const t of this.#textures) t.destroy();
    this.#buffers = [];
    this.#textures = [];
    this.#lastT = 0;
  }

  /** A step: one kernel, its bind group (resources in @binding order) and its dispatch shape. */
  #step(
    label: string,
    name: KernelName,
    variant: PipelineVariant,
    resources: GPUBindingResource[],
    workgroups: Step['workgroups'],
  ): Step {
    const { device, kernels } = this.#parts;
    const kernel = kernels.get(name, variant);
    const bindGroup = device.createBindGroup({
      label,
      layout: kernel.layout,
      entries: resources.map((resource, binding) => ({ binding, resource })),
    });
    return { label, kernel, bindGroup, workgroups };
  }

  #uniform(entry: number): GPUBindingResource {
    return { buffer: this.#params, offset: entry * uniformStride, size: 16 };
  }

  /** out = epilogue(a · w + bias) (EPILOGUE 0 none, 1 gelu_new, 2 + residual), T rows. */
  #matmul(
    label: string,
    a: GPUBuffer,
    w: GPUBuffer,
    bias: GPUBuffer,
    out: GPUBuffer,
    K: number,
    N: number,
    epilogue: 0 | 1 | 2,
    residual?: GPUBuffer,
  ): Step {
    const { weights, fallback } = this.#parts;
    const wf = { weightFormat: weights.format } as const;
    // Without a residual the binding still needs a buffer; the shader does not read it.
    const res = residual ?? a;
    const resources = [
      this.#uniform(0),
      { buffer: a },
      { buffer: w },
      { buffer: bias },
      { buffer: res },
      { buffer: out },
    ];
    if (fallback && K % 4 === 0 && N % 4 === 0) {
      // 8×8 outputs per thread with vec4 loads; small workgroups so that T=16 still makes
      // several of them for SwiftShader's worker threads.
      return this.#step(
        label,
        'matmulBlockedVec4',
        { ...wf, overrides: { K, N, EPILOGUE: epilogue, WG_X: wgVec4 } },
        resources,
        (T) => [ceilDiv(N, 8 * wgVec4), ceilDiv(T, 8), 1],
      );
    }
    if (fallback) {
      return this.#step(
        label,
        'matmulBlocked',
        { ...wf, overrides: { K, N, EPILOGUE: epilogue, WG_X: wg } },
        resources,
        (T) => [ceilDiv(N, 4 * wg), ceilDiv(T, 4), 1],
      );
    }
    return this.#step(
      label,
      'matmulTiled',
      { ...wf, overrides: { K, N, EPILOGUE: epilogue } },
      resources,
      (T) => [ceilDiv(N, 64), ceilDiv(T, 64), 1],
    );
  }

  /**
   * Layer l's ablation steps, built (pipelines compiled, bind groups made) the first time a run
   * ablates something there, so that sessions that never ablate pay nothing for it.
   */
  #ablationStepsOf(l: number): AblationSteps {
    const cached = this.#ablationSteps[l];
    if (cached) return cached;
    const { nEmbd: D, nHead: H, headDim: HD, nInner: F } = this.#config;
    const b = this.#parts.weights.blocks[l]!;
    const { ln, z, fc } = this.#scratch;
    const flagBytes = ablationFlagStride(this.#config);
    const flags: GPUBindingResource = { buffer: this.#flags, offset: l * flagBytes, size: (H + 1) * 4 };
    const columns = (): readonly [number, number, number] => [ceilDiv(D, wg), 1, 1];
    const steps: AblationSteps = {
      heads: this.#step(
        `blocks.${l}.attn.hook_z.ablate`,
        'ablateHeads',
        { overrides: { D, HD, WG_X: wg } },
        [this.#uniform(0), flags, { buffer: z }],
        columns,
      ),
      // hook_mlp_out goes to the ln scratch, free once c_fc has read ln_2's output.
      mlpOut: this.#matmul(`blocks.${l}.mlp.c_proj`, fc, b.mlpProj.weight, b.mlpProj.bias, ln, F, D, 0),
      mlp: this.#step(
        `blocks.${l}.hook_mlp_out.ablate`,
        'ablateMlp',
        { overrides: { D, H, WG_X: wg } },
        [
          this.#uniform(0),
          flags,
          { buffer: ln },
          { buffer: this.#resid[2 * l + 1]! },
          { buffer: this.#resid[2 * l + 2]! },
        ],
        columns,
      ),
    };
    this.#ablationSteps[l] = steps;
    return steps;
  }

  /** (Re)creates every buffer, texture and bind group for `capacity` tokens. */
  #allocate(capacity: number): void {
    this.#release();
    this.#capacity = capacity;
    this.#captureFormat =
      this.#formatOption === 'auto'
        ? chooseCaptureFormat(this.#config, capacity, this.#captureBudget)
        : this.#formatOption;
    const { device, weights, fallback } = this.#parts;
    const {
      nLayer: L,
      nHead: H,
      nEmbd: D,
      nInner: F,
      headDim: HD,
      vocabSize: V,
      layerNormEpsilon,
    } = this.#config;
    const C = capacity;
    const nLens = this.lensPoints.length;
    const nChunks = ceilDiv(V, lensChunk);
    const wf = { weightFormat: weights.format } as const;

    const buffer = (label: string, bytes: number, usage = 0): GPUBuffer => {
      const b = device.createBuffer({
        label,
        size: Math.max(4, Math.ceil(bytes / 4) * 4),
        usage: GPUBufferUsage.STORAGE | usage,
      });
      this.#buffers.push(b);
      return b;
    };
    const f32 = 4;
    this.#tokens = buffer('tokens', C * 4, GPUBufferUsage.COPY_DST);
    // Uniform entries: 0 the blocks (T), 1 the lens (rows), 2 logits_last (row), 3 tracking.
    this.#params = device.createBuffer({
      label: 'params',
      size: 4 * uniformStride,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.#buffers.push(this.#params);
    this.#resid = residualBoundaries(L).map((p) => buffer(hookName(p), C * D * f32, GPUBufferUsage.COPY_SRC));
    const ln = buffer('ln', C * D * f32); // (C, D) ln_1 / ln_2 output; hook_mlp_out when ablated
    const qkv = buffer('qkv', C * 3 * D * f32); // (C, 3D)
    const att = buffer('att', H * C * C * f32); // (H, C, C) pattern scratch
    const z = buffer('z', C * D * f32); // (C, D) heads' outputs (hook_z)
    const fc = buffer('mlp.hidden', C * F * f32); // (C, F) after gelu
    this.#scratch = { ln, z, fc };
    this.#flags = buffer('ablation.flags', L * ablationFlagStride(this.#config), GPUBufferUsage.COPY_DST); // (L, H+1)
    this.#ablationSteps = [];
    this.#tracking = undefined;
    const lensRaw = buffer('lens.stack', nLens * C * D * f32, GPUBufferUsage.COPY_DST); // (nLens·C, D)
    const lensX = buffer('lens.ln_f', nLens * C * D * f32); // (nLens·C, D)
    const partial = buffer('lens.partial', nLens * C * nChunks * (2 + 2 * lensTopK) * f32);
    this.#lensScratch = { x: lensX, partial };
    this.#lensOut = buffer('lens.topk', nLens * C * lensTopK * 8, GPUBufferUsage.COPY_SRC); // (nLens·C, k, 2)
    this.#logits = buffer('logits_last', V * f32, GPUBufferUsage.COPY_SRC); // (V)
    this.#staging = device.createBuffer({
      label: 'lens.readback',
      size: nLens * C * lensTopK * 8,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    this.#buffers.push(this.#staging);
    this.#textures = Array.from({ length: L }, (_, layer) => {
      const t = device.createTexture({
        label: hookName({ kind: 'pattern', layer }),
        size: [ceilDiv(C, 4), C, H],
        format: this.#captureFormat,
        dimension: '2d',
        usage: GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_SRC,
      });
      return t;
    });
    this.#lensCopies = this.lensPoints.map((p) => ({ from: this.residual(p), to: lensRaw }));

    const uniform = (entry: number) => this.#uniform(entry);
    const step = this.#step.bind(this);
    // The vec4 kernels (fallback adapters only) read rows of D floats as D/4 vec4s.
    const vec4D = fallback && D % 4 === 0;
    const vec4HD = fallback && HD % 4 === 0; // and so D % 4 == 0
    const lnOverrides = { ...wf, overrides: { D, EPS: layerNormEpsilon, WG_X: wg } };

    const resid0 = this.#resid[0]!;
    this.#embedSteps = weights.wteParts.map((part) =>
      step(
        'embed',
        'embed',
        { ...wf, overrides: { D, VOCAB_START: part.start, VOCAB_COUNT: part.count, WG_X: wg } },
        [
          uniform(0),
          { buffer: this.#tokens },
          { buffer: part.buffer },
          { buffer: weights.wpe },
          { buffer: resid0 },
        ],
        (T) => [ceilDiv(D, wg), T, 1],
      ),
    );
    this.#layerSteps = weights.blocks.map((b, l): LayerSteps => {
      const pre = this.#resid[2 * l]!;
      const mid = this.#resid[2 * l + 1]!;
      const post = this.#resid[2 * l + 2]!;
      return {
        attention: [
          step(
            `blocks.${l}.ln_1`,
            'layerNorm',
            lnOverrides,
            [uniform(0), { buffer: pre }, { buffer: b.ln1.weight }, { buffer: b.ln1.bias }, { buffer: ln }],
            (T) => [ceilDiv(T, wg), 1, 1],
          ),
          this.#matmul(`blocks.${l}.attn.c_attn`, ln, b.cAttn.weight, b.cAttn.bias, qkv, D, 3 * D, 0),
          step(
            `blocks.${l}.attn.softmax`,
            // One thread per (query, head) on fallback adapters, a workgroup per row on GPUs.
            fallback ? 'attentionSoftmax' : 'attentionSoftmaxRows',
            {
              captureFormat: this.#captureFormat,
              overrides: { D, H, HD, WG_X: wg, SQRT_ENCODE: this.#captureFormat === 'rgba8unorm' ? 1 : 0 },
            },
            [
              uniform(0),
              { buffer: qkv },
              { buffer: att },
              this.#textures[l]!.createView({ dimension: '2d-array' }),
            ],
            fallback ? (T) => [ceilDiv(T, wg), H, 1] : (T) => [T, H, 1],
          ),
          step(
            `blocks.${l}.attn.values`,
            vec4HD ? 'attentionValuesVec4' : 'attentionValues',
            { overrides: { D, H, HD, WG_X: vec4HD ? wgVec4 : wg } },
            [uniform(0), { buffer: qkv }, { buffer: att }, { buffer: z }],
            // The vec4 kernel: 4 queries × 4 columns per thread.
            vec4HD ? (T) => [ceilDiv(D, 4 * wgVec4), ceilDiv(T, 4), 1] : (T) => [ceilDiv(D, wg), T, 1],
          ),
        ],
        attnProj: this.#matmul(
          `blocks.${l}.attn.c_proj`,
          z,
          b.attnProj.weight,
          b.attnProj.bias,
          mid,
          D,
          D,
          2,
          pre,
        ),
        mlp: [
          step(
            `blocks.${l}.ln_2`,
            'layerNorm',
            lnOverrides,
            [uniform(0), { buffer: mid }, { buffer: b.ln2.weight }, { buffer: b.ln2.bias }, { buffer: ln }],
            (T) => [ceilDiv(T, wg), 1, 1],
          ),
          this.#matmul(`blocks.${l}.mlp.c_fc`, ln, b.fc.weight, b.fc.bias, fc, D, F, 1),
          this.#matmul(`blocks.${l}.mlp.c_proj`, fc, b.mlpProj.weight, b.mlpProj.bias, post, F, D, 2, mid),
        ],
      };
    });

    // The logit lens over nLens·T stacked rows.
    this.#lensSteps = [
      step(
        'lens.ln_f',
        'layerNorm',
        lnOverrides,
        [
          uniform(1),
          { buffer: lensRaw },
          { buffer: weights.lnF.weight },
          { buffer: weights.lnF.bias },
          { buffer: lensX },
        ],
        (rows) => [ceilDiv(rows, wg), 1, 1],
      ),
    ];
    for (const part of weights.wteParts) {
      const overrides = {
        D,
        CHUNK: lensChunk,
        N_CHUNKS: nChunks,
        VOCAB_START: part.start,
        VOCAB_COUNT: part.count,
        TOPK: lensTopK,
      };
      const resources = [uniform(1), { buffer: lensX }, { buffer: part.buffer }, { buffer: partial }];
      const chunks = ceilDiv(part.count, lensChunk);
      if (!fallback) {
        // 64 rows × one chunk per workgroup, tiled through workgroup memory; also logits_last.
        this.#lensSteps.push(
          step(
            'lens.unembed_topk',
            'unembedTopkTiled',
            { ...wf, overrides },
            [...resources, { buffer: this.#logits }],
            (rows) => [chunks, ceilDiv(rows, 64), 1],
          ),
        );
      } else if (vec4D) {
        // 8 lens rows × one chunk per thread; the stack's last row (the final stream's last
        // position) also goes out whole as logits_last.
        this.#lensSteps.push(
          step(
            'lens.unembed_topk',
            'unembedTopkVec4',
            { ...wf, overrides: { ...overrides, WG_X: wgVec4 } },
            [...resources, { buffer: this.#logits }],
            (rows) => [ceilDiv(chunks, wgVec4), ceilDiv(rows, 8), 1],
          ),
        );
      } else {
        this.#lensSteps.push(
          step(
            'lens.unembed_topk',
            'unembedTopk',
            { ...wf, overrides: { ...overrides, WG_X: wg } },
            resources,
            (rows) => [ceilDiv(chunks, wg), rows, 1],
          ),
        );
      }
    }
    this.#lensSteps.push(
      step(
        'lens.topk_merge',
        'topkMerge',
        { overrides: { N_CHUNKS: nChunks, TOPK: lensTopK, WG_X: wg } },
        [uniform(1), { buffer: partial }, { buffer: this.#lensOut }],
        (rows) => [ceilDiv(rows, wg), 1, 1],
      ),
    );
    // The tiled and vec4 lens kernels have written logits_last already.
    this.#logitsLastFused = !fallback || vec4D;
    for (const part of this.#logitsLastFused ? [] : weights.wteParts) {
      this.#lensSteps.push(
        step(
          'logits_last',
          'unembedLogits',
          { ...wf, overrides: { D, VOCAB_START: part.start, VOCAB_COUNT: part.count, WG_X: wg } },
          [uniform(2), { buffer: lensX }, { buffer: part.buffer }, { buffer: this.#logits }],
          () => [ceilDiv(part.count, wg), 1, 1],
        ),
      );
    }
  }

  /**
   * Token tracking's buffers and steps over (tracked points · T) rows of the lens stack, made the
   * first time trackTokens is called at this capacity (pipelines compiled, buffers of
   * trackingBytes allocated), so that sessions that never track pay nothing for it.
   */
  #trackingOf(): Tracking {
    if (this.#tracking) return this.#tracking;
    const { device, weights, fallback } = this.#parts;
    const { nEmbd: D, vocabSize: V } = this.#config;
    const wf = { weightFormat: weights.format } as const;
    const nChunks = ceilDiv(V, lensChunk);
    const rows = this.lensPoints.length * this.#capacity;
    const buffer = (label: string, bytes: number, usage: number): GPUBuffer => {
      const b = device.createBuffer({ label, size: bytes, usage: GPUBufferUsage.STORAGE | usage });
      this.#buffers.push(b); // released with the session's other buffers
      return b;
    };
    const track = {
      ids: buffer('track.ids', maxTrackedTokens * 4, GPUBufferUsage.COPY_DST), // (n_ids)
      points: buffer('track.points', this.lensPoints.length * 4, GPUBufferUsage.COPY_DST), // (points)
      target: buffer('track.logit', maxTrackedTokens * rows * 4, 0), // (n_ids, rows) f32
      rank: buffer('track.rank', maxTrackedTokens * rows * 4, GPUBufferUsage.COPY_DST), // (n_ids, rows) u32
      out: buffer('track.out', maxTrackedTokens * rows * 8, GPUBufferUsage.COPY_SRC), // (n_ids, rows, 2)
    };
    const { x, partial } = this.#lensScratch;
    const uniform = this.#uniform(3);
    const steps: Step[] = weights.wteParts.map((part) =>
      this.#step(
        'track.logit',
        'trackTarget',
        { ...wf, overrides: { D, VOCAB_START: part.start, VOCAB_COUNT: part.count, WG_X: wg } },
        [
          uniform,
          { buffer: x },
          { buffer: part.buffer },
          { buffer: track.ids },
          { buffer: track.points },
          { buffer: track.target },
        ],
        (rows) => [ceilDiv(rows, wg), 1, 1],
      ),
    );
    for (const part of weights.wteParts) {
      const chunks = ceilDiv(part.count, lensChunk);
      const overrides = { D, CHUNK: lensChunk, VOCAB_START: part.start, VOCAB_COUNT: part.count };
      const resources = [
        uniform,
        { buffer: x },
        { buffer: part.buffer },
        { buffer: track.ids },
        { buffer: track.points },
        { buffer: track.target },
        { buffer: track.rank },
      ];
      steps.push(
        // As the lens: tiled on real GPUs, 8 rows × one chunk per thread with vec4 loads on
        // fallback adapters.
        !fallback
          ? this.#step('track.rank', 'trackCountTiled', { ...wf, overrides }, resources, (rows) => [
              chunks,
              ceilDiv(rows, 64),
              1,
            ])
          : D % 4 === 0
            ? this.#step(
                'track.rank',
                'trackCountVec4',
                { ...wf, overrides: { ...overrides, WG_X: wgVec4 } },
                resources,
                (rows) => [ceilDiv(chunks, wgVec4), ceilDiv(rows, 8), 1],
              )
            : this.#step(
                'track.rank',
                'trackCount',
                { ...wf, overrides: { ...overrides, WG_X: wg } },
                resources,
                (rows) => [ceilDiv(chunks, wg), rows, 1],
              ),
      );
    }
    steps.push(
      this.#step(
        'track.merge',
        'trackMerge',
        { overrides: { N_CHUNKS: nChunks, TOPK: lensTopK, WG_X: wg } },
        [
          uniform,
          { buffer: partial },
          { buffer: track.points },
          { buffer: track.target },
          { buffer: track.rank },
          { buffer: track.out },
        ],
        (rows) => [ceilDiv(rows, wg), 1, 1],
      ),
    );
    this.#tracking = { ...track, steps };
    return this.#tracking;
  }
}

/**
 * The ablation checked against the model, with heads and MLP layers sorted and deduplicated;
 * undefined when it removes nothing (the run is then the clean forward).
 */
function normalizeAblation(config: Gpt2Config, ablation: Ablation | undefined): Ablation | undefined {
  if (!ablation) return undefined;
  checkAblation(config, ablation);
  if (isEmptyAblation(ablation)) return undefined;
  const heads = [...new Map(ablation.heads.map((h) => [h.layer * config.nHead + h.head, h])).entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([, { layer, head }]) => ({ layer, head }));
  const mlps = [...new Set(ablation.mlps ?? [])].sort((a, b) => a - b);
  return { heads, mlps, mode: ablation.mode };
}
