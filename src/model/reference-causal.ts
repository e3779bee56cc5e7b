// The CPU reference of the causal instruments: direct logit attribution and activation patching,
// built on the reference forward (reference.ts) and its intervention hook. The oracle the GPU
// versions are checked against; plain loops, f64 arithmetic.
//
// The metric is the logit difference at the last position, logit[answer] − logit[foil]
// = ln_f(x_last) · (u[answer] − u[foil]), u = wte (GPT-2 ties lm_head to it).
//
// Shapes: T tokens, D = nEmbd, H = nHead, hd = headDim, L = nLayer.

import { toFloat32 } from './dtype';
import { referenceForward, type Intervention, type ReferenceResult } from './reference';
import type { Gpt2Config, Gpt2Weights, Tensor } from './types';

/** Direct logit attribution of the last position's logit difference (see directLogitAttribution). */
export interface Attribution {
  /** The position attributed: the last one, T − 1. */
  readonly position: number;
  /** [L][H]: each head's result z[p, h] · W_O[h rows], without c_proj's bias. */
  readonly heads: number[][];
  /** [L]: attn.c_proj.bias of each layer. */
  readonly attn_bias: number[];
  /** [L]: hook_mlp_out[l][p], its biases included. */
  readonly mlp: number[];
  /** wte[token] + wpe[p]. */
  readonly embed: number;
  /** ln_f.bias · (u[answer] − u[foil]). */
  readonly ln_final_bias: number;
  /** The model's logit difference. */
  readonly total: number;
  /** Σ terms − total. */
  readonly sum_error: number;
}

export type PatchKind = 'resid_pre' | 'attn_out' | 'mlp_out' | 'z';

/** Normalised activation patching maps: (m_patched − m_B) / (m_A − m_B). */
export interface PatchMaps {
  /** [L][T]: blocks.l.hook_resid_pre at one position patched. */
  readonly resid_pre: number[][];
  /** [L][T]: blocks.l.hook_attn_out at one position. */
  readonly attn_out: number[][];
  /** [L][T]: blocks.l.hook_mlp_out at one position. */
  readonly mlp_out: number[][];
  /** [L][H]: blocks.l.attn.hook_z of one head, all positions at once. */
  readonly z: number[][];
}

export interface PatchingResult extends PatchMaps {
  /** m_A: the clean prompt's logit difference. */
  readonly clean_logit_diff: number;
  /** m_B: the corrupted prompt's logit difference. */
  readonly corrupt_logit_diff: number;
}

/** Below this |m_A − m_B| the normalisation of the patching maps is undefined. */
export const minLogitDiffGap = 1e-3;

// ---------------------------------------------------------------------------------------------
// Validation, shared with the GPU version and the CLI.

function checkTokenId(c: Gpt2Config, what: string, id: number): void {
  if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize) {
    throw new Error(`the ${what} is ${id}, not a token id in [0, ${c.vocabSize})`);
  }
}

/** The answer and foil must be two different token ids of the model. */
export function checkAnswerFoil(c: Gpt2Config, answer: number, foil: number): void {
  checkTokenId(c, 'answer', answer);
  checkTokenId(c, 'foil', foil);
  if (answer === foil) {
    throw new Error(
      `the answer and the foil are the same token (${answer}): the logit difference is always 0`,
    );
  }
}

/** Clean and corrupted prompts must have the same length and the same BOS setting. */
export function checkPromptPair(c: Gpt2Config, clean: readonly number[], corrupt: readonly number[]): void {
  if (clean.length === 0 || corrupt.length === 0) throw new Error('a prompt is empty: patching needs tokens');
  const bos = (t: readonly number[]) => t[0] === c.bosTokenId;
  if (bos(clean) !== bos(corrupt)) {
    throw new Error(
      `the clean prompt ${bos(clean) ? 'starts' : 'does not start'} with <|endoftext|> but the corrupted one ` +
        `${bos(corrupt) ? 'does' : 'does not'}: give both the same BOS setting`,
    );
  }
  if (clean.length !== corrupt.length) {
    throw new Error(
      `the clean prompt has ${clean.length} tokens and the corrupted one ${corrupt.length}: ` +
        'activation patching needs the same number of tokens (position by position)',
    );
  }
}

/** Refuses a pair whose logit differences are too close to normalise by. */
export function checkLogitDiffGap(mA: number, mB: number): void {
  if (!(Math.abs(mA - mB) >= minLogitDiffGap)) {
    throw new Error(
      `the clean and corrupted logit differences are ${mA.toFixed(6)} and ${mB.toFixed(6)}: ` +
        `|m_A − m_B| < ${minLogitDiffGap}, so the normalisation (m − m_B) / (m_A − m_B) is undefined; ` +
        'pick prompts, an answer or a foil that the model tells apart',
    );
  }
}

// ---------------------------------------------------------------------------------------------

/** The model with every tensor as f32 (converted once, so repeated forwards do not convert again). */
export function f32Weights(w: Gpt2Weights): Gpt2Weights {
  const t = (x: Tensor): Tensor =>
    x.data instanceof Float32Array ? x : { name: x.name, dtype: 'F32', shape: x.shape, data: toFloat32(x) };
  const ln = (l: Gpt2Weights['lnF']) => ({ weight: t(l.weight), bias: t(l.bias) });
  return {
    config: w.config,
    wte: t(w.wte),
    wpe: t(w.wpe),
    blocks: w.blocks.map((b) => ({
      ln1: ln(b.ln1),
      cAttn: ln(b.cAttn),
      attnProj: ln(b.attnProj),
      ln2: ln(b.ln2),
      fc: ln(b.fc),
      mlpProj: ln(b.mlpProj),
    })),
    lnF: ln(w.lnF),
  };
}

/** u[answer] − u[foil], [D] in f64. */
export function logitDiffDirection(w: Gpt2Weights, answer: number, foil: number): Float64Array {
  const D = w.config.nEmbd;
  const wte = toFloat32(w.wte);
  const u = new Float64Array(D);
  for (let i = 0; i < D; i++) u[i] = wte[answer * D + i]! - wte[foil * D + i]!;
  return u;
}

/** ln_f's mean and scale s = √(var + ε) of one residual row (biased variance). */
function lnStats(x: ArrayLike<number>, off: number, D: number, eps: number): { mean: number; s: number } {
  let mean = 0;
  for (let i = 0; i < D; i++) mean += x[off + i]!;
  mean /= D;
  let v = 0;
  for (let i = 0; i < D; i++) v += (x[off + i]! - mean) ** 2;
  return { mean, s: Math.sqrt(v / D + eps) };
}

/** logit[answer] − logit[foil] at the last position of a forward's final residual. */
export function lastLogitDiff(
  w: Gpt2Weights,
  residPost: ArrayLike<number>,
  T: number,
  u: Float64Array,
): number {
  const c = w.config;
  const D = c.nEmbd;
  const g = toFloat32(w.lnF.weight);
  const b = toFloat32(w.lnF.bias);
  const off = (T - 1) * D;
  const { mean, s } = lnStats(residPost, off, D, c.layerNormEpsilon);
  let m = 0;
  for (let i = 0; i < D; i++) m += (((residPost[off + i]! - mean) / s) * g[i]! + b[i]!) * u[i]!;
  return m;
}

/** The attribution's terms summed (embed, ln_final bias, then per layer attn bias, MLP, heads). */
export function attributionSum(
  embed: number,
  lnFinalBias: number,
  attnBias: readonly number[],
  mlp: readonly number[],
  heads: readonly (readonly number[])[],
): number {
  let sum = embed + lnFinalBias;
  for (let l = 0; l < attnBias.length; l++)
    sum += attnBias[l]! + mlp[l]! + heads[l]!.reduce((a, b) => a + b, 0);
  return sum;
}

/**
 * Direct logit attribution of `tokens`' last position: the final residual's components (embed,
 * each head's result, each c_proj bias, each MLP) through ln_f with its scale frozen from this run,
 * dotted with u[answer] − u[foil]. The terms sum to `total` up to rounding (`sum_error`).
 */
export function directLogitAttribution(
  model: Gpt2Weights,
  tokens: readonly number[],
  answer: number,
  foil: number,
  ref?: ReferenceResult,
): Attribution {
  const c = model.config;
  checkAnswerFoil(c, answer, foil);
  const w = f32Weights(model);
  const r = ref ?? referenceForward(w, tokens, { logits: false });
  const { nLayer: L, nHead: H, nEmbd: D, headDim: hd } = c;
  const T = tokens.length;
  const p = T - 1;
  const u = logitDiffDirection(w, answer, foil);
  const g = toFloat32(w.lnF.weight);
  const { s } = lnStats(r.residPost, p * D, D, c.layerNormEpsilon);
  // A component c [D] contributes ((c − mean(c)) / s ⊙ g) · u.
  const term = (comp: ArrayLike<number>): number => {
    let mean = 0;
    for (let i = 0; i < D; i++) mean += comp[i]!;
    mean /= D;
    let t = 0;
    for (let i = 0; i < D; i++) t += ((comp[i]! - mean) / s) * g[i]! * u[i]!;
    return t;
  };
  const wte = toFloat32(w.wte);
  const wpe = toFloat32(w.wpe);
  const embed = new Float64Array(D);
  for (let i = 0; i < D; i++) embed[i] = wte[tokens[p]! * D + i]! + wpe[p * D + i]!;
  const heads: number[][] = [];
  const attnBias: number[] = [];
  const mlp: number[] = [];
  const result = new Float64Array(D);
  for (let l = 0; l < L; l++) {
    const wo = toFloat32(w.blocks[l]!.attnProj.weight); // [D, D]: rows h·hd … h·hd+hd−1 are head h's
    const z = r.hooks.z[l]!; // [T, H·hd]
    const row: number[] = [];
    for (let h = 0; h < H; h++) {
      result.fill(0);
      for (let j = 0; j < hd; j++) {
        const zj = z[p * D + h * hd + j]!;
        const wRow = (h * hd + j) * D;
        for (let o = 0; o < D; o++) result[o] = result[o]! + zj * wo[wRow + o]!;
      }
      row.push(term(result));
    }
    heads.push(row);
    attnBias.push(term(toFloat32(w.blocks[l]!.attnProj.bias)));
    mlp.push(term(r.hooks.mlpOut[l]!.subarray(p * D, (p + 1) * D)));
  }
  const lnB = toFloat32(w.lnF.bias);
  let lnFinalBias = 0;
  for (let i = 0; i < D; i++) lnFinalBias += lnB[i]! * u[i]!;
  const embedTerm = term(embed);
  const total = lastLogitDiff(w, r.residPost, T, u);
  const sum = attributionSum(embedTerm, lnFinalBias, attnBias, mlp, heads);
  return {
    position: p,
    heads,
    attn_bias: attnBias,
    mlp,
    embed: embedTerm,
    ln_final_bias: lnFinalBias,
    total,
    sum_error: sum - total,
  };
}

/** One patched run of B: the activations chosen by `patch` replaced by A's; its logit difference. */
export interface PatchSpec {
  readonly kind: PatchKind;
  readonly layer: number;
  /** Positions patched (resid_pre, attn_out, mlp_out), or heads patched at every position (z). */
  readonly places: readonly number[];
}

/** A run's activations of every patchable kind, in f64 as the forward held them: [kind][layer]. */
export type RunActivations = Record<PatchKind, Float64Array[]>;

/** Runs `tokens`, keeping every patchable activation (f64) and the final residual. */
export function recordActivations(
  w: Gpt2Weights,
  tokens: readonly number[],
): { acts: RunActivations; ref: ReferenceResult } {
  const acts: RunActivations = { resid_pre: [], attn_out: [], mlp_out: [], z: [] };
  const ref = referenceForward(w, tokens, {
    logits: false,
    intervene: (hook, layer, x) => {
      acts[hook][layer] = Float64Array.from(x);
    },
  });
  return { acts, ref };
}

/** Runs `corrupt` with the activations of `specs` taken from the clean run's `source`. */
export function patchedLogitDiff(
  w: Gpt2Weights,
  source: RunActivations,
  corrupt: readonly number[],
  u: Float64Array,
  specs: readonly PatchSpec[],
): number {
  const c = w.config;
  const D = c.nEmbd;
  const hd = c.headDim;
  const T = corrupt.length;
  const intervene: Intervention = (hook, layer, x) => {
    for (const s of specs) {
      if (s.kind !== hook || s.layer !== layer) continue;
      const a = source[hook][layer]!;
      for (const place of s.places) {
        if (hook === 'z') {
          for (let t = 0; t < T; t++)
            for (let j = 0; j < hd; j++) x[t * D + place * hd + j] = a[t * D + place * hd + j]!;
        } else {
          for (let i = 0; i < D; i++) x[place * D + i] = a[place * D + i]!;
        }
      }
    }
  };
  const r = referenceForward(w, corrupt, { intervene, logits: false });
  return lastLogitDiff(w, r.residPost, T, u);
}

/**
 * Activation patching from `clean` (A) into `corrupt` (B): for every hook kind and place, B's run
 * with that activation replaced by A's, normalised (m_patched − m_B) / (m_A − m_B).
 */
export function activationPatching(
  model: Gpt2Weights,
  clean: readonly number[],
  corrupt: readonly number[],
  answer: number,
  foil: number,
): PatchingResult {
  const c = model.config;
  checkPromptPair(c, clean, corrupt);
  checkAnswerFoil(c, answer, foil);
  const w = f32Weights(model);
  const u = logitDiffDirection(w, answer, foil);
  const T = clean.length;
  const { acts, ref: refA } = recordActivations(w, clean);
  const refB = referenceForward(w, corrupt, { logits: false });
  const mA = lastLogitDiff(w, refA.residPost, T, u);
  const mB = lastLogitDiff(w, refB.residPost, T, u);
  checkLogitDiffGap(mA, mB);
  const norm = (m: number) => (m - mB) / (mA - mB);
  const map = (kind: PatchKind, n: number) =>
    Array.from({ length: c.nLayer }, (_, layer) =>
      Array.from({ length: n }, (_, place) =>
        norm(patchedLogitDiff(w, acts, corrupt, u, [{ kind, layer, places: [place] }])),
      ),
    );
  return {
    clean_logit_diff: mA,
    corrupt_logit_diff: mB,
    resid_pre: map('resid_pre', T),
    attn_out: map('attn_out', T),
    mlp_out: map('mlp_out', T),
    z: map('z', c.nHead),
  };
}
