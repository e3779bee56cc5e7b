// What the kernel tests (engine, lens, ablation, instruments) compare with: the CPU reference
// forward's residual stream and logit lens at every residual boundary, and the rows of their
// kernel-variant tables (a tiny model, a prompt length, a kernel set) with the models they share.
// No GPU and no test runner here: the e2e specs use this too.
import { gpt2Config } from '../../src/model/fixtures';
import {
  referenceForward,
  unembed,
  type ReferenceOptions,
  type ReferenceResult,
} from '../../src/model/reference';
import type { Gpt2Config, Gpt2Weights } from '../../src/model/types';

/**
 * The reference forward's attention weights of `tokens` (the heatmap and atlas specs' oracle):
 * p(layer, head, q, k), and each head's largest weight over the causal cells (k ≤ q).
 */
export function referencePatterns(weights: Gpt2Weights, tokens: readonly number[]) {
  const T = tokens.length;
  const patterns = referenceForward(weights, tokens).patterns; // per layer [H, T, T]
  const p = (layer: number, head: number, q: number, k: number) => patterns[layer]![(head * T + q) * T + k]!;
  const headMax = (layer: number, head: number) => {
    let m = 0;
    for (let q = 0; q < T; q++) for (let k = 0; k <= q; k++) m = Math.max(m, p(layer, head, q, k));
    return m;
  };
  return { p, headMax };
}

/** The residual stream [T, D] at every boundary, in residualBoundaries order (resid_pre 0, resid_mid 0, …, resid_post). */
export const referenceResiduals = (r: ReferenceResult): Float32Array[] => [
  ...r.residPre.flatMap((pre, l) => [pre, r.residMid[l]!]),
  r.residPost,
];

/**
 * What block l reads from and adds to the residual stream at position t, in f64 from the
 * reference's (f32-stored) stream: the norms of resid_pre, resid_mid, resid_post and of the two
 * additions (attention: mid − pre; MLP: post − mid), and each addition's cosine with the stream
 * it reads. The quantities of shaders/instruments/residual_stats.wgsl.
 */
export function referenceBlockStats(ref: ReferenceResult, l: number, t: number, D: number) {
  const L = ref.residPre.length;
  const pre = ref.residPre[l]!.subarray(t * D, (t + 1) * D);
  const mid = ref.residMid[l]!.subarray(t * D, (t + 1) * D);
  const post = (l + 1 < L ? ref.residPre[l + 1]! : ref.residPost).subarray(t * D, (t + 1) * D);
  const attn = Array.from(pre, (p, d) => mid[d]! - p);
  const mlp = Array.from(mid, (m, d) => post[d]! - m);
  const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
    let s = 0;
    for (let d = 0; d < D; d++) s += a[d]! * b[d]!;
    return s;
  };
  const norm = (a: ArrayLike<number>) => Math.sqrt(dot(a, a));
  return {
    preNorm: norm(pre),
    attnNorm: norm(attn),
    mlpNorm: norm(mlp),
    attnCos: dot(attn, pre) / (norm(attn) * norm(pre)),
    mlpCos: dot(mlp, mid) / (norm(mlp) * norm(mid)),
    midNorm: norm(mid),
    postNorm: norm(post),
  };
}

/** Reference lens logits [T, V] at every residual boundary (ln_f with fresh statistics, tied unembedding). */
export function referenceLens(
  weights: Gpt2Weights,
  tokens: number[],
  opts?: ReferenceOptions,
): Float32Array[] {
  const T = tokens.length;
  return referenceResiduals(referenceForward(weights, tokens, opts)).map((x) => unembed(weights, x, T));
}

/** One row of a kernel test's table: a tiny model and prompt length, run with one kernel set. */
export interface KernelCase {
  readonly name: string;
  readonly config: Gpt2Config;
  readonly T: number;
  /** The fallback kernels (scalar and vec4, for CPU adapters) or the tiled ones (real GPUs). */
  readonly fallbackKernels: boolean;
  /** Splits wte into parts of at most this many rows (as a device with a small binding limit does). */
  readonly maxVocabRowsPerPart?: number;
}

/**
 * A KernelCase from its model's dimensions [nLayer, nHead, nEmbd, nCtx, vocabSize, nInner?] (or a
 * config), prompt length and kernel set ('fallback' or 'tiled'), wte split in parts of at most
 * maxVocabRowsPerPart rows where given.
 */
export function kernelCase(
  name: string,
  model: Gpt2Config | readonly number[],
  T: number,
  kernels: 'fallback' | 'tiled',
  maxVocabRowsPerPart?: number,
): KernelCase {
  let config: Gpt2Config;
  if (Array.isArray(model)) {
    const [nLayer, nHead, nEmbd, nCtx, vocabSize, nInner] = model as number[];
    config = gpt2Config({
      nLayer: nLayer!,
      nHead: nHead!,
      nEmbd: nEmbd!,
      nCtx: nCtx!,
      vocabSize: vocabSize!,
      ...(nInner ? { nInner } : {}),
    });
  } else config = model as Gpt2Config;
  return {
    name,
    config,
    T,
    fallbackKernels: kernels === 'fallback',
    ...(maxVocabRowsPerPart ? { maxVocabRowsPerPart } : {}),
  };
}

/** Models the tables share. */
export const caseModels = {
  /** D and the head size (16) multiples of 4: the vec4 kernels. */
  vec4: gpt2Config({ nLayer: 2, nHead: 3, nEmbd: 48, nCtx: 24, vocabSize: 300 }),
  /** D = 30, head size 10: the scalar kernels. */
  scalar: gpt2Config({ nLayer: 2, nHead: 3, nEmbd: 30, nCtx: 16, vocabSize: 130 }),
} as const;

/**
 * The tiled kernels with wte in 3 parts: 75 lens rows at T=15 (2 row tiles, the second partly past
 * the end); D=40, not a multiple of the tile's 16 values of D; the last part (42 tokens) shorter
 * than one 64-token tile.
 */
export const tiledThreePartsCase: KernelCase = {
  name: 'tiled kernels, wte in 3 parts, D=40',
  config: gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 40, nCtx: 24, vocabSize: 2090 }),
  T: 15,
  fallbackKernels: false,
  maxVocabRowsPerPart: 1024,
};
