// What one forward costs: FLOPs (for GFLOP/s in the benchmark) and GPU memory (for the "too large"
// checks and the README's figures). Formulas, checked against real allocations in the tests.

import { captureBytesPerValue, type CaptureFormat } from '../gpu/kernels';
import type { Gpt2Config } from '../model/types';

/**
 * What one prompt's attention captures may take on the GPU by default: 1.5 GiB. GPT-2 small at
 * T=1024 in f32 takes 0.56 GiB; XL at T=1024 needs the 8-bit format (1.17 GiB).
 */
export const captureBudgetBytes = 1.5 * 2 ** 30;

/** Tokens one trackTokens call can follow at once (MAX_IDS in shaders/lens/track_count*.wgsl). */
export const maxTrackedTokens = 16;

/** Bytes per layer of the ablation flags: H + 1 u32 (heads, then the MLP), each layer's slot
 * aligned to 256 bytes so that it can be bound at an offset on any device. */
export function ablationFlagStride(config: Gpt2Config): number {
  return Math.ceil(((config.nHead + 1) * 4) / 256) * 256;
}

/** Bytes of the attention captures (L·H patterns of C×C, C padded to 4 keys per texel). */
export function captureBytes(config: Gpt2Config, capacity: number, format: CaptureFormat): number {
  const texels = config.nLayer * config.nHead * capacity * Math.ceil(capacity / 4);
  return texels * 4 * captureBytesPerValue[format];
}

/** The finest capture format whose captures fit the budget (the 8-bit one if none does). */
export function chooseCaptureFormat(config: Gpt2Config, capacity: number, budget: number): CaptureFormat {
  const formats: CaptureFormat[] = ['rgba32float', 'rgba16float', 'rgba8unorm'];
  return formats.find((f) => captureBytes(config, capacity, f) <= budget) ?? 'rgba8unorm';
}

/**
 * Bytes of one session's buffers (activations, lens scratch, readback, ablation flags) at a
 * capacity of C tokens; token tracking adds trackingBytes once used.
 */
export function activationBytes(
  config: Gpt2Config,
  capacity: number,
  lensPoints: number,
  lensChunk: number,
  topK: number,
): number {
  const { nLayer: L, nHead: H, nEmbd: D, nInner: F, vocabSize: V } = config;
  const C = capacity;
  const nChunks = Math.ceil(V / lensChunk);
  const f32 = 4;
  return (
    C * 4 + // tokens
    4 * 256 + // uniforms
    (2 * L + 1) * C * D * f32 + // residual stream at every boundary
    C * D * f32 + // ln
    C * 3 * D * f32 + // qkv
    H * C * C * f32 + // attention scratch
    C * D * f32 + // z
    C * F * f32 + // MLP hidden
    2 * lensPoints * C * D * f32 + // lens stack and its ln_f
    lensPoints * C * nChunks * (2 + 2 * topK) * f32 + // lens partials
    2 * lensPoints * C * topK * 8 + // lens top-k and its readback copy
    V * f32 + // logits of the last position
    L * ablationFlagStride(config) // ablation flags
  );
}

/**
 * Bytes of a session's token-tracking buffers at a capacity of C tokens, allocated by its first
 * trackTokens call: ids, points, and per (token, lens row) its logit, rank and [prob, rank] result.
 */
export function trackingBytes(capacity: number, lensPoints: number): number {
  return maxTrackedTokens * 4 + lensPoints * 4 + maxTrackedTokens * lensPoints * capacity * (4 + 4 + 8);
}

export interface ForwardFlopsOptions {
  /**
   * The final logits row (logits_last) is a by-product of the lens kernel (the vec4 lens on CPU
   * fallback adapters writes it while unembedding the last lens row) rather than its own 2·D·V
   * unembedding pass (unembed_logits, everywhere else). Default false.
   */
  readonly logitsLastFused?: boolean;
  /** Layers whose MLP is zero-ablated: their c_fc and c_proj are not run. Default 0. */
  readonly skippedMlps?: number;
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
  return L * perLayer - (options.skippedMlps ?? 0) * mlp + lensPoints * T * 2 * D * V + logitsRow;
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
