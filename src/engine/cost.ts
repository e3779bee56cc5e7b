// What one forward costs: FLOPs (for GFLOP/s in the benchmark) and GPU memory (for the "too large"
// checks and the README's figures). The memory figures sum the activation table (activations.ts),
// which is also what a session allocates.

import type { CaptureFormat } from '../gpu/kernels';
import type { Gpt2Config } from '../model/types';
import {
  activationTable,
  defaultCaptures,
  isTexture,
  rowBytes,
  trackingTable,
  type ActivationRow,
  type CaptureSet,
} from './activations';

export { ablationFlagStride, maxTrackedTokens } from './activations';

/**
 * What one prompt's attention captures may take on the GPU by default: 1.5 GiB. GPT-2 small at
 * T=1024 in f32 takes 0.56 GiB; XL at T=1024 needs the 8-bit format (1.17 GiB).
 */
export const captureBudgetBytes = 1.5 * 2 ** 30;

/** Bytes of the attention-pattern textures at a capacity of C tokens (every layer's by default). */
export function captureBytes(
  config: Gpt2Config,
  capacity: number,
  format: CaptureFormat,
  captures: CaptureSet = defaultCaptures(config.nLayer),
): number {
  // The textures alone: a table without lens rows.
  const noLens = { lensPoints: 0, lensChunk: 1, topK: 0 };
  return sum(
    activationTable(config, capacity, { ...noLens, captureFormat: format, captures }).rows.filter(isTexture),
  );
}

/** The finest capture format whose captures fit the budget (the 8-bit one if none does). */
export function chooseCaptureFormat(
  config: Gpt2Config,
  capacity: number,
  budget: number,
  captures?: CaptureSet,
): CaptureFormat {
  const formats: CaptureFormat[] = ['rgba32float', 'rgba16float', 'rgba8unorm'];
  return formats.find((f) => captureBytes(config, capacity, f, captures) <= budget) ?? 'rgba8unorm';
}

/**
 * Bytes of one session's buffers (activations, lens scratch, readback, ablation flags) at a
 * capacity of C tokens: the activation table's buffers. Token tracking adds trackingBytes once used.
 */
export function activationBytes(
  config: Gpt2Config,
  capacity: number,
  lensPoints: number,
  lensChunk: number,
  topK: number,
  captures: CaptureSet = defaultCaptures(config.nLayer),
): number {
  const { rows } = activationTable(config, capacity, {
    lensPoints,
    lensChunk,
    topK,
    captureFormat: 'rgba32float',
    captures,
  });
  return sum(rows.filter((r) => !isTexture(r)));
}

/** Bytes of a session's token-tracking buffers at a capacity of C tokens (trackingTable). */
export function trackingBytes(capacity: number, lensPoints: number): number {
  return sum(trackingTable(capacity, lensPoints));
}

const sum = (rows: readonly ActivationRow[]) => rows.reduce((n, r) => n + rowBytes(r), 0);

export interface ForwardFlopsOptions {
  /**
   * The final logits row (logits_last) is a by-product of the lens kernel (the vec4 lens on CPU
   * fallback adapters writes it while unembedding the last lens row) rather than its own 2·D·V
   * unembedding pass (unembed_logits, everywhere else). Default false.
   */
  readonly logitsLastFused?: boolean;
  /** Layers whose MLP is zero-ablated: their c_fc and c_proj are not run. Default 0. */
  readonly skippedMlps?: number;
  /**
   * Layers whose MLP is zero-ablated but whose ln_2 or MLP hooks are captured: their c_fc runs for
   * the captures, their c_proj does not. Default 0. (hook_attn_out, hook_mlp_out and mlp.hook_pre
   * cost no FLOPs: the matmuls store them beside their epilogue.)
   */
  readonly mlpInputsOnly?: number;
  /**
   * Hooks computed for their capture alone with more than O(T·D) work: attn.hook_attn_scores of
   * `attnScores` layers (q·k for every causal pair again), and `logits` at every position (the
   * unembedding of T rows). Default none.
   */
  readonly captureOnly?: { readonly attnScores: number; readonly allLogits: boolean };
}

/**
 * Multiply-adds ×2 of one forward over T tokens: the blocks (QKV, causal attention, output
 * projection, MLP), the logit lens over `lensPoints` residual streams, and the final logits row
 * unless the lens kernel computes it anyway. O(T·D) work (LayerNorm, softmax, ablation) is left out.
 */
export function forwardFlops(
  config: Gpt2Config,
  T: number,
  lensPoints: number,
  options: ForwardFlopsOptions = {},
): number {
  const { nLayer: L, nEmbd: D, nInner: F, vocabSize: V } = config;
  const causalPairs = (T * (T + 1)) / 2; // (query, key) pairs with key ≤ query
  const mlp = 2 * 2 * T * D * F;
  const perLayer = 2 * T * D * 3 * D + 2 * 2 * causalPairs * D + 2 * T * D * D + mlp;
  const logitsRow = options.logitsLastFused ? 0 : 2 * D * V;
  const only = options.captureOnly ?? { attnScores: 0, allLogits: false };
  const captureOnly = only.attnScores * 2 * causalPairs * D + (only.allLogits ? T * 2 * D * V : 0);
  return (
    L * perLayer -
    (options.skippedMlps ?? 0) * mlp -
    (options.mlpInputsOnly ?? 0) * (mlp / 2) +
    captureOnly +
    lensPoints * T * 2 * D * V +
    logitsRow
  );
}

/**
 * Multiply-adds ×2 of one trackTokens call: every vocabulary logit at each of the rows (points·T),
 * which the ranks need, plus the tracked tokens' own logits.
 */
export function trackFlops(config: Gpt2Config, rows: number, ids: number): number {
  return rows * 2 * config.nEmbd * (config.vocabSize + ids);
}

/** Bytes as a person reads them: KiB, MiB or GiB. */
export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${(n / 2 ** 10).toFixed(1)} KiB`;
}

/** Dispatches of one block's clean forward by fusion setting (plan.ts's Fusion). */
export function blockDispatches(fusion: 'on' | 'attention' | 'off'): number {
  // 'on': ln_1+c_attn, attention, attn.c_proj, ln_2+c_fc, mlp.c_proj; 'attention': ln_1 and ln_2
  // on their own; 'off': also softmax and values apart.
  return { on: 5, attention: 7, off: 8 }[fusion];
}

/**
 * Dispatches of one clean forward without capture-only hooks or ablation (any lens points): the
 * embedding per wte part, the blocks, then the lens's ln_f, its unembedding per part, the top-k
 * merge and, unless the lens kernel writes it, logits_last per part.
 */
export function forwardDispatches(
  nLayer: number,
  o: {
    readonly fusion: 'on' | 'attention' | 'off';
    readonly wteParts: number;
    readonly logitsLastFused: boolean;
  },
): number {
  return o.wteParts + nLayer * blockDispatches(o.fusion) + 2 + o.wteParts * (o.logitsLastFused ? 1 : 2);
}
