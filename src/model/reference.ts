// The CPU reference forward of GPT-2: the oracle the WGSL kernels and the capture CLI are checked
// against. Plain loops, f64 accumulation (JS numbers), results stored as f32. Written to be read
// top to bottom next to GPT2.md: pre-LayerNorm blocks, gelu_new, tied unembedding.
//
// Shapes: T tokens, D = nEmbd, H = nHead, hd = headDim, F = nInner, V = vocabSize, N = nCtx.
// Every matrix is row-major; Conv1D weights are [in, out] so y = x·W + b with no transpose.

import { checkAblation, type Ablation } from './ablation';
import { toFloat32 } from './dtype';
import type { Gpt2Config, Gpt2Weights, LayerNormWeights, LinearWeights, Tensor } from './types';

export interface ReferenceOptions {
  /**
   * Heads whose output (the head's slice of z = pattern·V, before c_proj) is replaced, c_proj's
   * bias staying; MLPs whose whole output (hook_mlp_out, bias included) is replaced. By zero, or by
   * the mean over this prompt's positions (see Ablation).
   */
  ablate?: Ablation;
  /**
   * Called with each activation of a kind in Intervention before the rest of the forward reads it
   * (resid_pre before the block, z after ablation, attn_out and mlp_out before they are added):
   * it may change `x` in place, e.g. to patch in another run's values. Captures show the result.
   */
  intervene?: Intervention;
  /** false: skip the unembedding (logits is then empty); default true. */
  logits?: boolean;
}

/** Where ReferenceOptions.intervene is called: x is [T, D] (z: [T, H·d_head]), f64, in place. */
export type Intervention = (
  hook: 'resid_pre' | 'z' | 'attn_out' | 'mlp_out',
  layer: number,
  x: Float64Array,
) => void;

export interface ReferenceResult {
  /** (T, V): next-token logits at every position. */
  logits: Float32Array;
  /** Per layer (H, T, T): softmax(q·kᵀ/√hd + causal mask); row q sums to 1, zero above the diagonal. */
  patterns: Float32Array[];
  /** Per layer (T, D): blocks.l.hook_resid_pre (resid_pre 0 = wte[tok] + wpe[pos]). */
  residPre: Float32Array[];
  /** Per layer (T, D): blocks.l.hook_resid_mid (after the attention output is added). */
  residMid: Float32Array[];
  /** (T, D): blocks.{L-1}.hook_resid_post, before ln_f. */
  residPost: Float32Array;
  /** Per layer [T, H, d_head] blocks.l.attn.hook_z (after head ablation), [T, D] hook_attn_out, and
   * [T, D] hook_mlp_out (before MLP ablation replaces it). */
  hooks: { z: Float32Array[]; attnOut: Float32Array[]; mlpOut: Float32Array[] };
}

// ---------------------------------------------------------------------------------------------
// Weights as f32, converted once per call.

export interface LnF32 {
  w: Float32Array; // (D)
  b: Float32Array; // (D)
}
export interface LinearF32 {
  w: Float32Array; // (in, out)
  b: Float32Array; // (out)
  nIn: number;
  nOut: number;
}
export interface BlockF32 {
  ln1: LnF32;
  cAttn: LinearF32; // (D, 3D)
  attnProj: LinearF32; // (D, D)
  ln2: LnF32;
  fc: LinearF32; // (D, F)
  mlpProj: LinearF32; // (F, D)
}
export interface WeightsF32 {
  wte: Float32Array; // (V, D)
  wpe: Float32Array; // (N, D)
  blocks: BlockF32[];
  lnF: LnF32;
}

/** The tensor as f32, after checking its element count: a wrong shape fails here, not as NaNs later. */
function f32Of(t: Tensor, expected: number): Float32Array {
  const data = toFloat32(t);
  if (data.length !== expected) {
    throw new Error(
      `reference forward: ${t.name} has ${data.length} elements, the config implies ${expected}`,
    );
  }
  return data;
}

function lnOf(ln: LayerNormWeights, D: number): LnF32 {
  return { w: f32Of(ln.weight, D), b: f32Of(ln.bias, D) };
}

function linearOf(l: LinearWeights, nIn: number, nOut: number): LinearF32 {
  return { w: f32Of(l.weight, nIn * nOut), b: f32Of(l.bias, nOut), nIn, nOut };
}

export function convertWeights(weights: Gpt2Weights): WeightsF32 {
  const c = weights.config;
  const D = c.nEmbd;
  if (c.headDim * c.nHead !== D) {
    throw new Error(`reference forward: nHead ${c.nHead} × headDim ${c.headDim} is not nEmbd ${D}`);
  }
  if (weights.blocks.length !== c.nLayer) {
    throw new Error(
      `reference forward: ${weights.blocks.length} blocks but the config says nLayer ${c.nLayer}`,
    );
  }
  return {
    wte: f32Of(weights.wte, c.vocabSize * D),
    wpe: f32Of(weights.wpe, c.nCtx * D),
    blocks: weights.blocks.map((b) => ({
      ln1: lnOf(b.ln1, D),
      cAttn: linearOf(b.cAttn, D, 3 * D),
      attnProj: linearOf(b.attnProj, D, D),
      ln2: lnOf(b.ln2, D),
      fc: linearOf(b.fc, D, c.nInner),
      mlpProj: linearOf(b.mlpProj, c.nInner, D),
    })),
    lnF: lnOf(weights.lnF, D),
  };
}

// ---------------------------------------------------------------------------------------------
// The operations. Inputs and outputs are f64 (Float64Array) so nothing is rounded between them.

/**
 * LayerNorm over the last axis with the biased variance: (x − mean) / √(var + eps) · w + b. (T, D) → (T, D)
 * `scaleOut` (T), when given, receives √(var + eps) per row (TransformerLens's hook_scale).
 */
export function layerNorm(
  x: ArrayLike<number>,
  T: number,
  D: number,
  ln: LnF32,
  eps: number,
  scaleOut?: Float32Array,
): Float64Array {
  const out = new Float64Array(T * D);
  for (let t = 0; t < T; t++) {
    const row = t * D;
    let mean = 0;
    for (let i = 0; i < D; i++) mean += x[row + i]!;
    mean /= D;
    let variance = 0;
    for (let i = 0; i < D; i++) {
      const d = x[row + i]! - mean;
      variance += d * d;
    }
    variance /= D; // biased, as torch.nn.LayerNorm
    const rstd = 1 / Math.sqrt(variance + eps);
    if (scaleOut) scaleOut[t] = Math.sqrt(variance + eps);
    for (let i = 0; i < D; i++) out[row + i] = (x[row + i]! - mean) * rstd * ln.w[i]! + ln.b[i]!;
  }
  return out;
}

/** Conv1D: y = x·W + b with W [in, out]. (T, in) → (T, out) */
export function linear(x: Float64Array, T: number, l: LinearF32): Float64Array {
  const { w, b, nIn, nOut } = l;
  const out = new Float64Array(T * nOut);
  const acc = new Float64Array(nOut); // one output row
  for (let t = 0; t < T; t++) {
    for (let o = 0; o < nOut; o++) acc[o] = b[o]!;
    // Walk W row by row so the inner loop reads contiguous memory.
    for (let i = 0; i < nIn; i++) {
      const xi = x[t * nIn + i]!;
      const wRow = i * nOut;
      for (let o = 0; o < nOut; o++) acc[o] = acc[o]! + xi * w[wRow + o]!;
    }
    out.set(acc, t * nOut);
  }
  return out;
}

/** gelu_new (the tanh approximation GPT-2 was trained with), in place. */
export function geluNew(x: Float64Array): void {
  const k = Math.sqrt(2 / Math.PI);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    x[i] = 0.5 * v * (1 + Math.tanh(k * (v + 0.044715 * v * v * v)));
  }
}

/**
 * Causal self-attention up to (not including) c_proj.
 * qkv (T, 3D) = [q | k | v] along the feature axis, head h owning columns h·hd … h·hd+hd−1 of each.
 * Writes the pattern (H, T, T) and returns z (T, D) = per head pattern·v, heads side by side.
 * `scoresOut` (H, T, T), when given, receives q·k/√hd with -Infinity above the diagonal.
 */
export function attention(
  qkv: Float64Array,
  T: number,
  c: Gpt2Config,
  pattern: Float32Array,
  scoresOut?: Float32Array,
): Float64Array {
  const D = c.nEmbd;
  const hd = c.headDim;
  const scale = 1 / Math.sqrt(hd);
  const z = new Float64Array(T * D);
  const scores = new Float64Array(T); // one query row, keys 0..q
  for (let h = 0; h < c.nHead; h++) {
    const qOff = h * hd;
    const kOff = D + h * hd;
    const vOff = 2 * D + h * hd;
    for (let q = 0; q < T; q++) {
      // Scores for keys 0..q only: the causal mask leaves the rest at probability 0.
      let max = -Infinity;
      for (let k = 0; k <= q; k++) {
        let dot = 0;
        for (let j = 0; j < hd; j++) dot += qkv[q * 3 * D + qOff + j]! * qkv[k * 3 * D + kOff + j]!;
        const s = dot * scale;
        scores[k] = s;
        if (scoresOut) scoresOut[(h * T + q) * T + k] = s;
        if (s > max) max = s;
      }
      let sum = 0;
      for (let k = 0; k <= q; k++) {
        const e = Math.exp(scores[k]! - max); // shift by the max: same softmax, no overflow
        scores[k] = e;
        sum += e;
      }
      const row = (h * T + q) * T;
      scoresOut?.fill(-Infinity, row + q + 1, row + T);
      for (let k = 0; k <= q; k++) {
        scores[k] = scores[k]! / sum; // probabilities, kept in f64 for z
        pattern[row + k] = scores[k]!;
      }
      // z[q, head] = Σ_k p[q, k] · v[k, head]
      for (let j = 0; j < hd; j++) {
        let acc = 0;
        for (let k = 0; k <= q; k++) acc += scores[k]! * qkv[k * 3 * D + vOff + j]!;
        z[q * D + qOff + j] = acc;
      }
    }
  }
  return z;
}

/**
 * Replace columns [from, to) of x (T, width) by zero or by their mean over the T positions: a
 * head's slice of z, or the whole MLP output.
 */
export function ablateColumns(
  x: Float64Array,
  T: number,
  width: number,
  from: number,
  to: number,
  mode: 'zero' | 'mean',
): void {
  for (let j = from; j < to; j++) {
    let mean = 0;
    if (mode === 'mean') {
      for (let t = 0; t < T; t++) mean += x[t * width + j]!;
      mean /= T;
    }
    for (let t = 0; t < T; t++) x[t * width + j] = mean;
  }
}

/** ln_f with fresh statistics, then logits = ln_f(x)·wteᵀ. (T, D) → (T, V) */
export function unembedF32(
  c: Gpt2Config,
  lnF: LnF32,
  wte: Float32Array, // (V, D)
  resid: ArrayLike<number>, // (T, D)
  T: number,
): Float32Array {
  const { vocabSize: V, nEmbd: D, layerNormEpsilon: eps } = c;
  const x = layerNorm(resid, T, D, lnF, eps); // (T, D)
  const logits = new Float32Array(T * V);
  // This is the hot loop (T·V·D multiply-adds, 400M for V=50257, D=128, T=64). Token-major: one wte
  // row, widened to f64 once, stays in cache while every position uses it; two independent sums let
  // the CPU overlap the multiply-adds.
  const e = new Float64Array(D); // wte[v]
  for (let v = 0; v < V; v++) {
    for (let i = 0; i < D; i++) e[i] = wte[v * D + i]!;
    for (let t = 0; t < T; t++) {
      const xRow = t * D;
      let even = 0;
      let odd = 0;
      let i = 0;
      for (; i + 1 < D; i += 2) {
        even += x[xRow + i]! * e[i]!;
        odd += x[xRow + i + 1]! * e[i + 1]!;
      }
      if (i < D) even += x[xRow + i]! * e[i]!; // odd D
      logits[t * V + v] = even + odd;
    }
  }
  return logits;
}

// ---------------------------------------------------------------------------------------------
// Validation: every message names the problem in the user's terms.

export function checkTokens(c: Gpt2Config, tokens: readonly number[]): void {
  const T = tokens.length;
  if (T === 0) throw new Error('prompt is empty: the forward pass needs at least one token');
  if (T > c.nCtx) throw new Error(`prompt has ${T} tokens but the model's context is ${c.nCtx}`);
  for (let t = 0; t < T; t++) {
    const id = tokens[t]!;
    if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize) {
      throw new Error(`token ${t} is ${id}, not a token id in [0, ${c.vocabSize})`);
    }
  }
}

// ---------------------------------------------------------------------------------------------

/** One GPT-2 forward pass over `tokens` on the CPU, keeping the residual stream and patterns. */
export function referenceForward(
  weights: Gpt2Weights,
  tokens: readonly number[],
  opts?: ReferenceOptions,
): ReferenceResult {
  const c = weights.config;
  checkTokens(c, tokens);
  if (opts?.ablate) checkAblation(c, opts.ablate);
  const w = convertWeights(weights);
  const T = tokens.length;
  const D = c.nEmbd;
  const eps = c.layerNormEpsilon;
  const ablate = opts?.ablate;

  // resid_pre 0 = wte[tok] + wpe[pos]. The stream stays f64 across layers; outputs are f32 copies.
  const x = new Float64Array(T * D); // (T, D)
  for (let t = 0; t < T; t++) {
    const tok = tokens[t]!;
    for (let i = 0; i < D; i++) x[t * D + i] = w.wte[tok * D + i]! + w.wpe[t * D + i]!;
  }

  const patterns: Float32Array[] = [];
  const residPre: Float32Array[] = [];
  const residMid: Float32Array[] = [];
  const hooks: ReferenceResult['hooks'] = { z: [], attnOut: [], mlpOut: [] };
  for (let l = 0; l < c.nLayer; l++) {
    const b = w.blocks[l]!;
    opts?.intervene?.('resid_pre', l, x);
    residPre.push(Float32Array.from(x));

    // Attention: x += c_proj(attn(ln_1(x)))
    const qkv = linear(layerNorm(x, T, D, b.ln1, eps), T, b.cAttn); // (T, 3D)
    const pattern = new Float32Array(c.nHead * T * T); // (H, T, T), zero above the diagonal
    const z = attention(qkv, T, c, pattern); // (T, D)
    if (ablate) {
      for (const { layer, head } of ablate.heads) {
        if (layer === l) ablateColumns(z, T, D, head * c.headDim, (head + 1) * c.headDim, ablate.mode);
      }
    }
    opts?.intervene?.('z', l, z);
    const attnOut = linear(z, T, b.attnProj); // (T, D)
    opts?.intervene?.('attn_out', l, attnOut);
    hooks.z.push(Float32Array.from(z));
    hooks.attnOut.push(Float32Array.from(attnOut));
    for (let i = 0; i < x.length; i++) x[i] = x[i]! + attnOut[i]!;
    patterns.push(pattern);
    residMid.push(Float32Array.from(x));

    // MLP: x += c_proj(gelu_new(c_fc(ln_2(x))))
    const hidden = linear(layerNorm(x, T, D, b.ln2, eps), T, b.fc); // (T, F)
    geluNew(hidden);
    const mlpOut = linear(hidden, T, b.mlpProj); // (T, D): blocks.l.hook_mlp_out
    hooks.mlpOut.push(Float32Array.from(mlpOut));
    if (ablate?.mlps?.includes(l)) ablateColumns(mlpOut, T, D, 0, D, ablate.mode);
    opts?.intervene?.('mlp_out', l, mlpOut);
    for (let i = 0; i < x.length; i++) x[i] = x[i]! + mlpOut[i]!;
  }

  const residPost = Float32Array.from(x);
  // Unembed the stored f32 residual, so the logit lens of residPost is exactly these logits.
  const logits = opts?.logits === false ? new Float32Array(0) : unembedF32(c, w.lnF, w.wte, residPost, T);
  return { logits, patterns, residPre, residMid, residPost, hooks };
}

/** ln_f with statistics recomputed for this residual, then the tied unembedding: the logit lens. (T, V) */
export function unembed(weights: Gpt2Weights, resid: Float32Array, T: number): Float32Array {
  const c = weights.config;
  if (!Number.isInteger(T) || T < 1) throw new Error(`unembed: T must be a positive integer, got ${T}`);
  if (resid.length !== T * c.nEmbd) {
    throw new Error(`unembed: residual has ${resid.length} values, expected T·D = ${T}·${c.nEmbd}`);
  }
  // Only ln_f and wte are needed here: convert those alone, not the whole model.
  const wte = f32Of(weights.wte, c.vocabSize * c.nEmbd);
  return unembedF32(c, lnOf(weights.lnF, c.nEmbd), wte, resid, T);
}
