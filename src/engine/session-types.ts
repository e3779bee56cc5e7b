// The public types of a prompt session (session.ts): its options, a run's options and results, the
// staged run, and what capture(hook) returns.

import type { CaptureFormat } from '../gpu/kernels';
import type { Ablation } from '../model/ablation';
import type { HookPoint, PatternHookName, PatternPoint } from '../model/hooks';
import type { NamesFilter } from './activations';
import type { Fusion, LensPoints } from './plan';

export interface SessionOptions {
  /** 'auto': the finest format whose captures at the session's capacity fit `captureBudget`. */
  readonly captureFormat: CaptureFormat | 'auto';
  /** Bytes the attention captures may take (default captureBudgetBytes). */
  readonly captureBudget?: number;
  readonly lens: LensPoints;
  /** Initial capacity in tokens (grown on demand up to n_ctx). */
  readonly capacity?: number;
  /**
   * The hooks to capture (names, points or a predicate on names; unknown names are refused).
   * Default: every attention pattern, every residual boundary and logits_last. The lens points
   * and logits_last are captured whatever the filter says.
   */
  readonly namesFilter?: NamesFilter;
  /** Fused kernels: 'on' 5 dispatches per block, 'attention' 7, 'off' 8 (plan.ts: defaultFusion). */
  readonly fusion?: Fusion;
}

/** Per-run options of PromptSession.run. */
export interface RunOptions {
  /**
   * Heads and MLPs to ablate in this run (see Ablation: zero, or the mean over this prompt's
   * positions). Every capture of the run (patterns of later layers, residual stream, lens, logits)
   * shows the ablated model; hook_z the ablated heads' replaced values, hook_mlp_out the MLP's
   * output before ablation replaced it. Omitted or empty: the clean forward.
   */
  readonly ablate?: Ablation;
}

/** Top-k of the logit lens at each of the session's lens points, in depth order. */
export interface LensTopK {
  readonly points: readonly HookPoint[];
  readonly k: number;
  /** [points, T, k] token ids, best first. */
  readonly ids: Uint32Array;
  /** [points, T, k] probabilities. */
  readonly probs: Float32Array;
}

/** A run's forward, submitted (runForward): what it ran, before its lens. */
export interface ForwardResult {
  readonly tokens: readonly number[];
  /** Compute dispatches encoded (RunResult: the forward's and the lens's). */
  readonly dispatches: number;
  /** The ablation this run applied (a copy; heads and mlps sorted, duplicates removed), if any. */
  readonly ablation?: Ablation;
  /** Multiply-adds ×2 as encoded (forwardFlops for this path and ablation; RunResult: with the lens). */
  readonly flops: number;
}

export interface RunResult extends ForwardResult {
  readonly lens: LensTopK;
  /** Bytes copied back to the CPU for this run (the lens top-k). */
  readonly readbackBytes: number;
}

/** runForward's result: the forward, submitted, and the run's second stage. */
export interface StagedRun {
  readonly forward: ForwardResult;
  /**
   * Submits the logit lens over this run's stream (and logits_last) and resolves with the whole
   * run's result, as run() gives it. Once per run; it throws once the session has run again.
   */
  lens(): Promise<RunResult>;
  /** The session ran again (or was destroyed or regrown) since this forward: lens() would throw. */
  readonly superseded: boolean;
}

/** What capture(hook) gives: the pattern texture, or a buffer for every other hook. */
export type CaptureOf<H> = H extends PatternHookName | PatternPoint ? GPUTexture : GPUBuffer;
