// One prompt's activations and captures on the GPU, and the forward pass that fills them. The
// buffers are the activation table's rows (activations.ts) and the steps the forward plan's
// (plan.ts), both made once per capacity (grown in steps when a longer prompt comes); a run writes
// the tokens and a few uniforms and submits the prebuilt steps in two stages: the forward (every
// block, every capture), then the logit lens over the lens points (lens-stage.ts: logits_last and
// the lens's top-k, the only readback, a few KB). runForward gives the stages apart, so that a
// view of the captures can be drawn before the lens, often the costlier half, blocks the queue.
//
// Captures are addressed by TransformerLens hook name or point: session.capture(hook) gives the
// GPU resource, rows [0, T) valid, rows ≥ T stale:
//   blocks.{l}.hook_resid_pre | hook_resid_mid | hook_resid_post, blocks.{l}.hook_attn_out,
//   blocks.{l}.hook_mlp_out: a [T, D] f32 buffer; blocks.{l}.attn.hook_z: [T, H, d_head] f32;
//   logits_last: [V] f32, the last position's next-token logits (written by the lens stage);
//   logits: [T, V] f32, every position's (written by the lens stage too on the tiled and vec4 paths);
//   hook_embed, hook_pos_embed, ln*.hook_normalized, ln_final.hook_normalized: [T, D];
//   ln1/ln2/ln_final.hook_scale: [T, 1]; attn.hook_q/k/v: [T, H, d_head]; mlp.hook_pre/post: [T, F];
//   blocks.{l}.attn.hook_attn_scores: [H, T, T] packed for the run's T (-Infinity above the diagonal);
//   blocks.{l}.attn.hook_pattern: a texture_2d_array of H layers, (ceil(T/4), T) texels each:
//       texel (s/4, t) of layer h = keys s..s+3 of query t.
// Which hooks are captured is the names filter of SessionOptions (as run_with_cache's
// names_filter); only those get buffers of their own.
//
// A run may ablate heads and MLPs (run(tokens, { ablate })): the layers concerned get one extra
// small dispatch each, the others run exactly as without ablation. After a run, trackTokens follows
// chosen tokens' probability and rank through the lens points without running the forward again.

import { hookName, hookPoints, type HookName, type HookPoint } from '../model/hooks';
import type { Gpt2Config } from '../model/types';
import { GpuOutOfMemoryError } from '../gpu/device';
import type { CaptureFormat } from '../gpu/kernels';
import {
  activationTable,
  Allocation,
  canonicalHook,
  defaultCaptures,
  resolveCaptures,
  uniformStride,
} from './activations';
import {
  activationBytes,
  captureBudgetBytes,
  captureBytes,
  chooseCaptureFormat,
  formatBytes,
  forwardFlops,
  trackFlops,
} from './cost';
import {
  defaultFusion,
  ForwardPlan,
  type Fusion,
  type LensPoints,
  lensChunk,
  lensPointsOf,
  lensTopK,
  normalizeAblation,
} from './plan';
import { ceilDiv, encodeSteps, StepFactory, type EngineParts } from './steps';
import { readLens, submitLens } from './lens-stage';
import { Tracking, type TokenTrack } from './tracking';
import type {
  CaptureOf,
  ForwardResult,
  RunOptions,
  RunResult,
  SessionOptions,
  StagedRun,
} from './session-types';

export type { Ablation, HeadRef } from '../model/ablation';
export type { NamesFilter } from './activations';
export type { TokenTrack } from './tracking';
export type { LensRows } from './lens-stage';
export { lensChunk, lensTopK, type LensPoints } from './plan';
export type {
  CaptureOf,
  ForwardResult,
  LensTopK,
  RunOptions,
  RunResult,
  SessionOptions,
  StagedRun,
} from './session-types';

/** Tokens of capacity added at a time when a prompt outgrows a session. */
const capacityStep = 64;

/** What an allocation left: the GPU's out-of-memory error, or a validation error without one (a bug). */
interface AllocationCheck {
  readonly oom?: GPUError;
  readonly bug?: Error;
}

/** A driver's message without the call stack Dawn appends. */
export function firstLine(message: string): string {
  return (message.split('\n')[0] ?? '').replace(/\.$/, '');
}

export class PromptSession {
  readonly #parts: EngineParts;
  readonly #config: Gpt2Config;
  readonly #formatOption: CaptureFormat | 'auto';
  readonly #captureBudget: number;
  readonly #lensOption: LensPoints;
  readonly #captures: Set<HookName>;
  readonly #fusion: Fusion;
  #captureFormat: CaptureFormat = 'rgba32float';
  readonly lensPoints: readonly HookPoint[];
  #capacity = 0;
  #acts = new Allocation();
  #plan: ForwardPlan | undefined;
  #factory: StepFactory | undefined;
  /** Token tracking's buffers and steps, made by the first trackTokens call at this capacity. */
  #tracking: Tracking | undefined;
  /** Positions of the last run whose lens stack is on the GPU (0: none yet). */
  #lastT = 0;
  /** The last run that completed: replayed to restore the captures after a failed growth. */
  #last: { tokens: readonly number[]; options: RunOptions } | undefined;
  /** The constructor's allocation, checked for out-of-memory by the first run. */
  #initialAllocation: Promise<AllocationCheck> | undefined;
  #destroyed = false;
  /** Runs started (runForward): a staged run's lens is refused once another has started. */
  #runs = 0;

  constructor(parts: EngineParts, options: SessionOptions) {
    this.#parts = parts;
    this.#config = parts.weights.config;
    this.#formatOption = options.captureFormat;
    this.#captureBudget = options.captureBudget ?? captureBudgetBytes;
    this.#lensOption = options.lens;
    this.#fusion = options.fusion ?? defaultFusion(parts.fallback);
    const L = this.#config.nLayer;
    this.lensPoints = lensPointsOf(options.lens, L);
    this.#captures = options.namesFilter ? resolveCaptures(L, options.namesFilter) : defaultCaptures(L);
    for (const p of [...this.lensPoints, { kind: 'logits_last' } as const])
      this.#captures.add(canonicalHook(p, L));
    this.#initialAllocation = this.#allocateChecked(
      Math.min(this.#config.nCtx, options.capacity ?? capacityStep),
    );
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** The model's configuration. */
  get config(): Gpt2Config {
    return this.#config;
  }

  /** The format of the attention captures now (with 'auto', it can coarsen as the capacity grows). */
  get captureFormat(): CaptureFormat {
    return this.#captureFormat;
  }

  /** The hooks this session captures (resid_post of a block before the last is its next resid_pre). */
  get captures(): readonly HookName[] {
    return [...this.#captures];
  }

  /** GPU bytes of this session's activations and captures at its current capacity. */
  get bytes(): number {
    return this.#acts.bytes + (this.#tracking?.bytes ?? 0);
  }

  /**
   * A capture of the last run, by hook name or point (see the file comment for the layouts).
   * Throws for a hook this session does not capture (see SessionOptions.namesFilter).
   */
  capture<H extends HookName | HookPoint>(hook: H): CaptureOf<H> {
    const L = this.#config.nLayer;
    const point =
      typeof hook === 'string' ? hookPoints(L).find((p) => hookName(p) === hook) : (hook as HookPoint);
    const asked = point ? hookName(point) : String(hook);
    const name = point ? canonicalHook(point, L) : undefined;
    if (!name || !this.#captures.has(name)) {
      throw new RangeError(
        `${asked} is not captured by this session; it captures ${this.captures.join(', ')} ` +
          `(ask for more hooks with the session's namesFilter)`,
      );
    }
    if (this.#capacity === 0) throw new Error('this prompt session has no GPU memory left (out of memory)');
    const texture = point!.kind === 'pattern';
    return (texture ? this.#acts.texture(name) : this.#acts.buffer(name)) as CaptureOf<H>;
  }

  /**
   * Runs the forward pass on `tokens` and the logit lens over it; resolves once the lens top-k is
   * back. The same as runForward(tokens, options) then its lens(): two queue submissions.
   * With `options.ablate`, the listed heads' outputs (hook_z, before attn.c_proj, whose bias stays)
   * and MLPs' outputs (hook_mlp_out) are replaced by zero or by their mean over this prompt's
   * positions. Runs of one session must not overlap (await each); two sessions may run at once.
   */
  async run(tokens: readonly number[], options: RunOptions = {}): Promise<RunResult> {
    return (await this.runForward(tokens, options)).lens();
  }

  /**
   * The first stage of run: encodes and submits the blocks' forward (every capture but the lens
   * stack, logits_last and, on the tiled and vec4 paths, logits); resolves once it is submitted, with the run's second stage. Work
   * submitted after this resolves sees the forward's captures (queue order). Call `lens()` of the
   * result to submit the logit lens, or drop it: the session then keeps the last lens it ran (its
   * stack, which trackTokens reads, and its logits). The next run of the session supersedes it.
   */
  async runForward(tokens: readonly number[], options: RunOptions = {}): Promise<StagedRun> {
    if (this.#destroyed) throw new Error('this prompt session was destroyed');
    const T = tokens.length;
    const { nCtx, vocabSize } = this.#config;
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
    const plan = this.#plan!;
    const acts = this.#acts;
    const nLens = this.lensPoints.length;
    device.queue.writeBuffer(acts.buffer('tokens'), 0, new Uint32Array(tokens));
    const params = new Uint32Array((3 * uniformStride) / 4);
    params[0] = T; // per-position kernels
    params[uniformStride / 4] = nLens * T; // lens rows
    params[(2 * uniformStride) / 4] = nLens * T - 1; // the last position of the final stream
    device.queue.writeBuffer(acts.buffer('params'), 0, params);
    const flags = plan.flags(ablation);
    if (ablation) device.queue.writeBuffer(acts.buffer('ablation.flags'), 0, flags);

    const encoder = device.createCommandEncoder({ label: 'forward' });
    const blockDispatches = encodeSteps(encoder, 'blocks', plan.blockSteps(flags), T);
    device.queue.submit([encoder.finish()]);
    const run = ++this.#runs;
    this.#last = { tokens: [...tokens], options };
    const flopsOptions = plan.flopsOptions(flags);
    const forward: ForwardResult = {
      tokens: [...tokens],
      dispatches: blockDispatches,
      ...(ablation ? { ablation } : {}),
      flops: forwardFlops(this.#config, T, 0, { ...flopsOptions, logitsLastFused: true }),
    };
    let started = false;
    const superseded = () => run !== this.#runs || plan !== this.#plan || this.#destroyed;
    const lens = async (): Promise<RunResult> => {
      if (started) throw new Error("this run's lens was already asked for");
      started = true;
      if (this.#destroyed) throw new Error('this prompt session was destroyed');
      if (superseded()) throw new Error('this run was superseded: the session ran again since its forward');
      const { dispatches, bytes } = submitLens(device, plan, acts, T, nLens, this.#config, lensTopK);
      this.#lastT = T; // trackTokens called from now on reads this run (queue order)
      const { ids, probs } = await readLens(acts, bytes);
      return {
        ...forward,
        lens: { points: this.lensPoints, k: lensTopK, ids, probs },
        dispatches: blockDispatches + dispatches,
        readbackBytes: bytes,
        flops: forwardFlops(this.#config, T, nLens, flopsOptions),
      };
    };
    return {
      forward,
      lens,
      get superseded() {
        return superseded();
      },
    };
  }

  /**
   * The probability and rank of each token in `ids` at every position of the last run, under the
   * logit lens at each of `points` (default: all of this session's lens points; each must be one of
   * them), without running the forward again (tracking.ts). Costs about one lens pass over
   * `points` (trackFlops). Must not overlap a run of this session that grows its capacity.
   */
  async trackTokens(
    ids: readonly number[],
    points: readonly HookPoint[] = this.lensPoints,
  ): Promise<TokenTrack> {
    if (this.#destroyed) throw new Error('this prompt session was destroyed');
    const T = this.#lastT;
    if (T === 0) throw new Error('nothing to track yet: run the session on a prompt first');
    this.#tracking ??= new Tracking(this.#factory!, this.#acts, this.lensPoints, this.#capacity);
    return this.#tracking.track(ids, points, T, this.#lensOption);
  }

  /** Multiply-adds ×2 of trackTokens for `ids` tokens at `points` lens points (last run's T). */
  trackFlops(ids: number, points: number = this.lensPoints.length): number {
    return trackFlops(this.#config, points * this.#lastT, ids);
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
  #allocateChecked(capacity: number): Promise<AllocationCheck> {
    const { device } = this.#parts;
    this.#checkBindingSizes(capacity);
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

  /** The captures format at a capacity (with 'auto', the finest whose captures fit the budget). */
  #formatAt(capacity: number): CaptureFormat {
    return this.#formatOption === 'auto'
      ? chooseCaptureFormat(this.#config, capacity, this.#captureBudget, this.#captures)
      : this.#formatOption;
  }

  /** A capture too large for one binding (e.g. `logits` at every position of a long prompt): a clear error. */
  #checkBindingSizes(capacity: number): void {
    const limit = this.#parts.device.limits.maxStorageBufferBindingSize;
    const { rows } = activationTable(this.#config, capacity, {
      lensPoints: this.lensPoints.length,
      lensChunk,
      topK: lensTopK,
      captureFormat: 'rgba8unorm',
      captures: this.#captures,
    });
    for (const row of rows) {
      if (!row.hook || row.type !== 'f32') continue;
      const bytes = row.shape.reduce((a, b) => a * b, 4);
      if (bytes > limit) {
        throw new RangeError(
          `${row.name} for ${capacity} tokens takes ${formatBytes(bytes)} in one buffer, more than ` +
            `this GPU binds at once (${formatBytes(limit)}): capture it for a shorter prompt`,
        );
      }
    }
  }

  /** (Re)creates every buffer, texture and step for `capacity` tokens. */
  #allocate(capacity: number): void {
    this.#release();
    this.#capacity = capacity;
    this.#captureFormat = this.#formatAt(capacity);
    const { rows, slots } = activationTable(this.#config, capacity, {
      lensPoints: this.lensPoints.length,
      lensChunk,
      topK: lensTopK,
      captureFormat: this.#captureFormat,
      captures: this.#captures,
    });
    this.#acts.add(this.#parts.device, rows);
    this.#factory = new StepFactory(this.#parts, this.#acts.buffer('params'));
    this.#plan = new ForwardPlan(this.#factory, this.#acts, slots, this.lensPoints, this.#fusion);
  }

  #outOfMemory(T: number, capacity: number, oom: GPUError, restored: boolean): GpuOutOfMemoryError {
    const config = this.#config;
    const format = this.#formatAt(capacity);
    const captures = captureBytes(config, capacity, format, this.#captures);
    const activations = activationBytes(
      config,
      capacity,
      this.lensPoints.length,
      lensChunk,
      lensTopK,
      this.#captures,
    );
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
    this.#acts.destroy();
    this.#tracking?.destroy();
    this.#tracking = undefined;
    this.#plan = undefined;
    this.#lastT = 0;
  }
}
