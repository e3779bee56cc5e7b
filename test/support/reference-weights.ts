// The CPU reference's own test weights and checks (test/reference.test.ts,
// test/reference-ablation.test.ts): weights built here (not from src/model/fixtures.ts) so that the
// oracle depends on nothing else, the numpy cross-check, and direct recomputations of one block's
// parts.
import { expect } from 'vitest';
import { toFloat32 } from '../../src/model/dtype';
import { mulberry32 } from '../../src/model/random';
import { referenceForward, type ReferenceOptions } from '../../src/model/reference';
import type { BlockWeights, Gpt2Config, Gpt2Weights, Tensor } from '../../src/model/types';
import { readF64, runNumpyForward } from './numpy-hooks';

// ---------------------------------------------------------------------------------------------
// Test weights, built here (not from fixtures.ts) so the oracle depends on nothing else.

export interface Shape {
  nLayer: number;
  nHead: number;
  nEmbd: number;
  nCtx: number;
  vocabSize: number;
  nInner: number;
  eps?: number;
}

export function configOf(s: Shape): Gpt2Config {
  return {
    nLayer: s.nLayer,
    nHead: s.nHead,
    nEmbd: s.nEmbd,
    nCtx: s.nCtx,
    vocabSize: s.vocabSize,
    layerNormEpsilon: s.eps ?? 1e-5,
    nInner: s.nInner,
    headDim: s.nEmbd / s.nHead,
    bosTokenId: s.vocabSize - 1,
  };
}

/** A seeded generator, uniform in [0, 1). */
export const prng = mulberry32;

/** Standard normal samples (Box–Muller). */
export function gaussian(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** Every weight of a GPT-2 with this config: canonical name and checkpoint shape. */
export function weightShapes(c: Gpt2Config): [string, number[]][] {
  const D = c.nEmbd;
  const out: [string, number[]][] = [
    ['wte.weight', [c.vocabSize, D]],
    ['wpe.weight', [c.nCtx, D]],
  ];
  for (let l = 0; l < c.nLayer; l++) {
    out.push(
      [`h.${l}.ln_1.weight`, [D]],
      [`h.${l}.ln_1.bias`, [D]],
      [`h.${l}.attn.c_attn.weight`, [D, 3 * D]],
      [`h.${l}.attn.c_attn.bias`, [3 * D]],
      [`h.${l}.attn.c_proj.weight`, [D, D]],
      [`h.${l}.attn.c_proj.bias`, [D]],
      [`h.${l}.ln_2.weight`, [D]],
      [`h.${l}.ln_2.bias`, [D]],
      [`h.${l}.mlp.c_fc.weight`, [D, c.nInner]],
      [`h.${l}.mlp.c_fc.bias`, [c.nInner]],
      [`h.${l}.mlp.c_proj.weight`, [c.nInner, D]],
      [`h.${l}.mlp.c_proj.bias`, [D]],
    );
  }
  out.push(['ln_f.weight', [D]], ['ln_f.bias', [D]]);
  return out;
}

/** Assemble Gpt2Weights from a data source per tensor name (F32). */
export function buildWeights(
  c: Gpt2Config,
  data: (name: string, shape: number[]) => Float32Array,
): Gpt2Weights {
  const byName = new Map<string, Tensor>();
  for (const [name, shape] of weightShapes(c))
    byName.set(name, { name, dtype: 'F32', shape, data: data(name, shape) });
  const t = (name: string): Tensor => byName.get(name)!;
  const blocks: BlockWeights[] = [];
  for (let l = 0; l < c.nLayer; l++) {
    const p = `h.${l}.`;
    blocks.push({
      ln1: { weight: t(p + 'ln_1.weight'), bias: t(p + 'ln_1.bias') },
      cAttn: { weight: t(p + 'attn.c_attn.weight'), bias: t(p + 'attn.c_attn.bias') },
      attnProj: { weight: t(p + 'attn.c_proj.weight'), bias: t(p + 'attn.c_proj.bias') },
      ln2: { weight: t(p + 'ln_2.weight'), bias: t(p + 'ln_2.bias') },
      fc: { weight: t(p + 'mlp.c_fc.weight'), bias: t(p + 'mlp.c_fc.bias') },
      mlpProj: { weight: t(p + 'mlp.c_proj.weight'), bias: t(p + 'mlp.c_proj.bias') },
    });
  }
  return {
    config: c,
    wte: t('wte.weight'),
    wpe: t('wpe.weight'),
    blocks,
    lnF: { weight: t('ln_f.weight'), bias: t('ln_f.bias') },
  };
}

/**
 * Random weights scaled so activations stay O(1) and attention is neither uniform nor one-hot:
 * matrices N(0, gain²/in), LayerNorm gains near 1, small biases.
 */
export function randomWeights(s: Shape, seed: number): Gpt2Weights {
  const c = configOf(s);
  const g = gaussian(prng(seed));
  return buildWeights(c, (name, shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const a = new Float32Array(n);
    let sample: () => number;
    if (name.endsWith('ln_1.weight') || name.endsWith('ln_2.weight') || name === 'ln_f.weight') {
      sample = () => 1 + 0.2 * g();
    } else if (name.endsWith('.bias')) {
      sample = () => 0.1 * g();
    } else if (name === 'wte.weight' || name === 'wpe.weight') {
      sample = () => 0.5 * g();
    } else {
      const gain = name.includes('c_attn') ? 2 : 1;
      const std = gain / Math.sqrt(shape[0]!);
      sample = () => std * g();
    }
    for (let i = 0; i < n; i++) a[i] = sample();
    return a;
  });
}

export function randomTokens(n: number, V: number, seed: number): number[] {
  const r = prng(seed);
  return Array.from({ length: n }, () => Math.floor(r() * V));
}

// ---------------------------------------------------------------------------------------------
// Comparison helpers.

export function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** max |actual − expected| ≤ rel · scale, scale defaulting to max |expected|. NaN or Infinity fails. */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  what: string,
  rel = 1e-5,
  scale = maxAbs(expected),
): void {
  expect(actual.length, `${what}: length`).toBe(expected.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    if (!Number.isFinite(a)) throw new Error(`${what}: element ${i} is ${a}`);
    const d = Math.abs(a - expected[i]!);
    if (d > worst) [worst, at] = [d, i];
  }
  if (!(worst <= rel * scale)) {
    throw new Error(`${what}: |diff| ${worst} at ${at} exceeds ${rel} × ${scale}`);
  }
}

export function sub(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: a.length }, (_, i) => a[i]! - b[i]!);
}

// ---------------------------------------------------------------------------------------------
// The numpy cross-check.

export interface NumpyResult {
  logits: Float64Array;
  patterns: Float64Array[];
  residPre: Float64Array[];
  residMid: Float64Array[];
  residPost: Float64Array;
}

export function runNumpy(w: Gpt2Weights, tokens: number[], ablate?: ReferenceOptions['ablate']): NumpyResult {
  return runNumpyForward(w, tokens, ablate, false, (dir) => {
    const read = (name: string): Float64Array => readF64(dir, `${name}.f64`);
    const layers = Array.from({ length: w.config.nLayer }, (_, l) => l);
    return {
      logits: read('logits'),
      patterns: layers.map((l) => read(`pattern.${l}`)),
      residPre: layers.map((l) => read(`resid_pre.${l}`)),
      residMid: layers.map((l) => read(`resid_mid.${l}`)),
      residPost: read('resid_post'),
    };
  });
}

export function expectMatchesNumpy(w: Gpt2Weights, tokens: number[], opts?: ReferenceOptions): void {
  const ours = referenceForward(w, tokens, opts);
  const theirs = runNumpy(w, tokens, opts?.ablate);
  const T = tokens.length;
  const { nLayer, nHead, nEmbd: D, vocabSize: V } = w.config;
  expect(ours.logits.length).toBe(T * V);
  for (let l = 0; l < nLayer; l++) {
    expect(ours.patterns[l]!.length).toBe(nHead * T * T);
    expect(ours.residPre[l]!.length).toBe(T * D);
    expectClose(ours.residPre[l]!, theirs.residPre[l]!, `resid_pre ${l}`);
    expectClose(ours.patterns[l]!, theirs.patterns[l]!, `pattern ${l}`);
    expectClose(ours.residMid[l]!, theirs.residMid[l]!, `resid_mid ${l}`);
  }
  expectClose(ours.residPost, theirs.residPost, 'resid_post');
  expectClose(ours.logits, theirs.logits, 'logits');
}

// ---------------------------------------------------------------------------------------------
// A plain recomputation of one block's pieces, row by row with number[] (test-side, for properties).

export function row(a: ArrayLike<number>, t: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => a[t * n + i]!);
}

export function lnRow(x: number[], w: Tensor, b: Tensor, eps: number): number[] {
  const n = x.length;
  const mean = x.reduce((s, v) => s + v, 0) / n;
  const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
  const g = toFloat32(w);
  const h = toFloat32(b);
  return x.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * g[i]! + h[i]!);
}

/** x·W + b for one row, W [in, out]. */
export function linRow(x: number[], w: Tensor, b: Tensor): number[] {
  const W = toFloat32(w);
  const B = toFloat32(b);
  const nOut = B.length;
  return Array.from({ length: nOut }, (_, o) => x.reduce((s, v, i) => s + v * W[i * nOut + o]!, B[o]!));
}

/** Block l's MLP output for residual rows [T, D]. */
export function mlpOut(w: Gpt2Weights, l: number, resid: Float32Array, T: number): Float64Array {
  const { nEmbd: D, layerNormEpsilon: eps } = w.config;
  const b = w.blocks[l]!;
  const out = new Float64Array(T * D);
  for (let t = 0; t < T; t++) {
    const h = linRow(lnRow(row(resid, t, D), b.ln2.weight, b.ln2.bias, eps), b.fc.weight, b.fc.bias);
    const g = h.map((v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))));
    out.set(linRow(g, b.mlpProj.weight, b.mlpProj.bias), t * D);
  }
  return out;
}

/** Block l's attention from resid_pre [T, D]: the pattern [H, T, T] and z [T, D], before c_proj. */
export function attnParts(w: Gpt2Weights, l: number, resid: Float32Array, T: number) {
  const { nEmbd: D, nHead: H, headDim: hd, layerNormEpsilon: eps } = w.config;
  const b = w.blocks[l]!;
  const qkv = Array.from({ length: T }, (_, t) =>
    linRow(lnRow(row(resid, t, D), b.ln1.weight, b.ln1.bias, eps), b.cAttn.weight, b.cAttn.bias),
  );
  const pattern = new Float64Array(H * T * T);
  const z = new Float64Array(T * D);
  for (let h = 0; h < H; h++) {
    for (let q = 0; q < T; q++) {
      const s = Array.from({ length: q + 1 }, (_, k) => {
        let dot = 0;
        for (let j = 0; j < hd; j++) dot += qkv[q]![h * hd + j]! * qkv[k]![D + h * hd + j]!;
        return dot / Math.sqrt(hd);
      });
      const e = s.map((v) => Math.exp(v - Math.max(...s)));
      const sum = e.reduce((a, v) => a + v, 0);
      e.forEach((v, k) => (pattern[(h * T + q) * T + k] = v / sum));
      for (let j = 0; j < hd; j++) {
        z[q * D + h * hd + j] = e.reduce((a, v, k) => a + (v / sum) * qkv[k]![2 * D + h * hd + j]!, 0);
      }
    }
  }
  return { pattern, z };
}

/** z [T, D] with only head h's columns kept, times c_proj's weight (no bias): head h's contribution. */
export function headContribution(
  w: Gpt2Weights,
  l: number,
  z: Float64Array,
  h: number,
  T: number,
): Float64Array {
  const { nEmbd: D, headDim: hd } = w.config;
  const W = toFloat32(w.blocks[l]!.attnProj.weight);
  const out = new Float64Array(T * D);
  for (let t = 0; t < T; t++) {
    for (let o = 0; o < D; o++) {
      let s = 0;
      for (let j = h * hd; j < (h + 1) * hd; j++) s += z[t * D + j]! * W[j * D + o]!;
      out[t * D + o] = s;
    }
  }
  return out;
}

/** The shape most of the reference's checks use. */
export const small: Shape = { nLayer: 2, nHead: 4, nEmbd: 48, nCtx: 16, vocabSize: 300, nInner: 192 };
