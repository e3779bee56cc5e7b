// The CPU reference forward is the oracle for everything else, so it gets its own independent checks:
// a numpy implementation (tools/reference_numpy.py) on several shapes, structural properties, a
// hand-computed model, ablation algebra and input validation.

import { describe, expect, it } from 'vitest';
import { f16ToF32, f32ToF16, toFloat32 } from '../src/model/dtype';
import { mulberry32 } from '../src/model/random';
import { referenceForward, unembed, type ReferenceOptions } from '../src/model/reference';
import type { BlockWeights, Gpt2Config, Gpt2Weights, Tensor } from '../src/model/types';
import { allTensors, readF64, runNumpyForward } from './support/numpy-hooks';

// ---------------------------------------------------------------------------------------------
// Test weights, built here (not from fixtures.ts) so the oracle depends on nothing else.

interface Shape {
  nLayer: number;
  nHead: number;
  nEmbd: number;
  nCtx: number;
  vocabSize: number;
  nInner: number;
  eps?: number;
}

function configOf(s: Shape): Gpt2Config {
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
const prng = mulberry32;

/** Standard normal samples (Box–Muller). */
function gaussian(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** Every weight of a GPT-2 with this config: canonical name and checkpoint shape. */
function weightShapes(c: Gpt2Config): [string, number[]][] {
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
function buildWeights(c: Gpt2Config, data: (name: string, shape: number[]) => Float32Array): Gpt2Weights {
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
function randomWeights(s: Shape, seed: number): Gpt2Weights {
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

function randomTokens(n: number, V: number, seed: number): number[] {
  const r = prng(seed);
  return Array.from({ length: n }, () => Math.floor(r() * V));
}

// ---------------------------------------------------------------------------------------------
// Comparison helpers.

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

/** max |actual − expected| ≤ rel · scale, scale defaulting to max |expected|. NaN or Infinity fails. */
function expectClose(
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

function sub(a: ArrayLike<number>, b: ArrayLike<number>): Float64Array {
  return Float64Array.from({ length: a.length }, (_, i) => a[i]! - b[i]!);
}

// ---------------------------------------------------------------------------------------------
// The numpy cross-check.

interface NumpyResult {
  logits: Float64Array;
  patterns: Float64Array[];
  residPre: Float64Array[];
  residMid: Float64Array[];
  residPost: Float64Array;
}

function runNumpy(w: Gpt2Weights, tokens: number[], ablate?: ReferenceOptions['ablate']): NumpyResult {
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

function expectMatchesNumpy(w: Gpt2Weights, tokens: number[], opts?: ReferenceOptions): void {
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

function row(a: ArrayLike<number>, t: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => a[t * n + i]!);
}

function lnRow(x: number[], w: Tensor, b: Tensor, eps: number): number[] {
  const n = x.length;
  const mean = x.reduce((s, v) => s + v, 0) / n;
  const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / n;
  const g = toFloat32(w);
  const h = toFloat32(b);
  return x.map((v, i) => ((v - mean) / Math.sqrt(variance + eps)) * g[i]! + h[i]!);
}

/** x·W + b for one row, W [in, out]. */
function linRow(x: number[], w: Tensor, b: Tensor): number[] {
  const W = toFloat32(w);
  const B = toFloat32(b);
  const nOut = B.length;
  return Array.from({ length: nOut }, (_, o) => x.reduce((s, v, i) => s + v * W[i * nOut + o]!, B[o]!));
}

/** Block l's MLP output for residual rows [T, D]. */
function mlpOut(w: Gpt2Weights, l: number, resid: Float32Array, T: number): Float64Array {
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
function attnParts(w: Gpt2Weights, l: number, resid: Float32Array, T: number) {
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
function headContribution(w: Gpt2Weights, l: number, z: Float64Array, h: number, T: number): Float64Array {
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

// ---------------------------------------------------------------------------------------------

const small: Shape = { nLayer: 2, nHead: 4, nEmbd: 48, nCtx: 16, vocabSize: 300, nInner: 192 };

describe('referenceForward against tools/reference_numpy.py', () => {
  const shapes: [string, Shape, number[]][] = [
    ['2 layers, 4 heads, D=48', small, [1, 7, 16]],
    [
      '3 layers, 3 heads, D=36, nInner=100',
      { ...small, nLayer: 3, nHead: 3, nEmbd: 36, nCtx: 9, vocabSize: 97, nInner: 100 },
      [1, 5, 9],
    ],
    [
      '1 layer, 5 heads, D=40, nInner=24, eps 1e-3',
      { nLayer: 1, nHead: 5, nEmbd: 40, nCtx: 6, vocabSize: 50, nInner: 24, eps: 1e-3 },
      [6],
    ],
  ];
  for (const [label, shape, lengths] of shapes) {
    it(`${label}: T = ${lengths.join(', ')}`, () => {
      const w = randomWeights(shape, 11 + shape.nEmbd);
      for (const T of lengths) expectMatchesNumpy(w, randomTokens(T, shape.vocabSize, T));
    });
  }

  it('with heads ablated, zero and mean', () => {
    const w = randomWeights(small, 3);
    const tokens = randomTokens(10, small.vocabSize, 4);
    const heads = [
      { layer: 0, head: 1 },
      { layer: 1, head: 3 },
      { layer: 1, head: 0 },
    ];
    expectMatchesNumpy(w, tokens, { ablate: { heads, mode: 'zero' } });
    expectMatchesNumpy(w, tokens, { ablate: { heads, mode: 'mean' } });
  });
});

describe('referenceForward properties', () => {
  const w = randomWeights(small, 1);
  const { nLayer: L, nHead: H, nEmbd: D, vocabSize: V } = w.config;
  const tokens = randomTokens(12, V, 2);
  const T = tokens.length;
  const r = referenceForward(w, tokens);

  it('pattern rows are distributions over the keys at or before the query', () => {
    for (let l = 0; l < L; l++) {
      const p = r.patterns[l]!;
      for (let h = 0; h < H; h++) {
        for (let q = 0; q < T; q++) {
          let sum = 0;
          for (let k = 0; k < T; k++) {
            const v = p[(h * T + q) * T + k]!;
            if (k > q) expect(v, `pattern ${l}.${h} [${q}, ${k}]`).toBe(0);
            expect(v).toBeGreaterThanOrEqual(0);
            sum += v;
          }
          expect(Math.abs(sum - 1), `pattern ${l}.${h} row ${q}`).toBeLessThan(1e-6);
        }
      }
    }
  });

  it('attention is not trivially uniform in these weights (so the checks above mean something)', () => {
    const last = r.patterns[0]!.subarray((T - 1) * T, T * T); // head 0, last query
    expect(maxAbs(last)).toBeGreaterThan(2 / T);
  });

  it('with one token every pattern is [1]', () => {
    const one = referenceForward(w, [42]);
    for (const p of one.patterns) expect(Array.from(p)).toEqual(new Array(H).fill(1));
  });

  it('resid_pre 0 is wte[token] + wpe[position]', () => {
    const wte = toFloat32(w.wte);
    const wpe = toFloat32(w.wpe);
    const expected = new Float32Array(T * D);
    for (let t = 0; t < T; t++) {
      for (let i = 0; i < D; i++) expected[t * D + i] = wte[tokens[t]! * D + i]! + wpe[t * D + i]!;
    }
    expect(r.residPre[0]).toEqual(expected);
  });

  it('resid_mid − resid_pre is the attention output (recomputed directly)', () => {
    for (let l = 0; l < L; l++) {
      const { pattern, z } = attnParts(w, l, r.residPre[l]!, T);
      expectClose(r.patterns[l]!, pattern, `pattern ${l}`);
      const b = w.blocks[l]!;
      const out = new Float64Array(T * D);
      for (let t = 0; t < T; t++) out.set(linRow(row(z, t, D), b.attnProj.weight, b.attnProj.bias), t * D);
      const scale = maxAbs(r.residMid[l]!); // both sides are rounded to f32 at this magnitude
      expectClose(sub(r.residMid[l]!, r.residPre[l]!), out, `attention out ${l}`, 1e-5, scale);
    }
  });

  it('resid_pre l+1 − resid_mid l is the MLP output (recomputed directly)', () => {
    for (let l = 0; l < L; l++) {
      const next = l + 1 < L ? r.residPre[l + 1]! : r.residPost;
      const scale = maxAbs(next);
      expectClose(sub(next, r.residMid[l]!), mlpOut(w, l, r.residMid[l]!, T), `mlp out ${l}`, 1e-5, scale);
    }
  });

  it('logits are the logit lens of resid_post', () => {
    expect(unembed(w, r.residPost, T)).toEqual(r.logits);
    // Position by position too: the lens of one row does not depend on the others.
    const lastRow = r.residPost.slice((T - 1) * D);
    expect(unembed(w, lastRow, 1)).toEqual(r.logits.slice((T - 1) * V));
  });

  it('the logit lens recomputes the LayerNorm statistics for the residual it is given', () => {
    // ln_f is scale-invariant (up to eps), so a scaled stream must give the same logits;
    // reusing another residual's statistics would scale them.
    const resid = r.residMid[0]!;
    const scaled = resid.map((v) => 5 * v);
    expectClose(unembed(w, scaled, T), unembed(w, resid, T), 'lens of 5·resid', 1e-4);
    // And it is not the final layer's logits.
    expect(maxAbs(sub(unembed(w, resid, T), r.logits))).toBeGreaterThan(0.1);
  });

  it('is causal: later tokens change nothing at earlier positions', () => {
    const n = 5;
    const prefix = referenceForward(w, tokens.slice(0, n));
    const other = referenceForward(w, [...tokens.slice(0, n), ...randomTokens(T - n, V, 99)]);
    for (const full of [r, other]) {
      expect(full.logits.slice(0, n * V)).toEqual(prefix.logits);
      expect(full.residPost.slice(0, n * D)).toEqual(prefix.residPost);
      for (let l = 0; l < L; l++) {
        expect(full.residMid[l]!.slice(0, n * D)).toEqual(prefix.residMid[l]);
        for (let h = 0; h < H; h++) {
          for (let q = 0; q < n; q++) {
            const a = full.patterns[l]!.slice((h * T + q) * T, (h * T + q) * T + n);
            expect(a).toEqual(prefix.patterns[l]!.slice((h * n + q) * n, (h * n + q + 1) * n));
          }
        }
      }
    }
    // …while the later positions do see the different suffix.
    expect(other.logits.slice(n * V)).not.toEqual(r.logits.slice(n * V));
  });

  it('F16 weights give the same result as their f32 values', () => {
    const halfBits = new Map<string, Uint16Array>();
    for (const t of allTensors(w)) halfBits.set(t.name, Uint16Array.from(toFloat32(t), f32ToF16));
    const asF32 = buildWeights(w.config, (name) => Float32Array.from(halfBits.get(name)!, f16ToF32));
    const asF16: Gpt2Weights = {
      ...asF32,
      wte: { ...asF32.wte, dtype: 'F16', data: halfBits.get('wte.weight')! },
      blocks: asF32.blocks.map((b, l) => ({
        ...b,
        cAttn: {
          ...b.cAttn,
          weight: { ...b.cAttn.weight, dtype: 'F16', data: halfBits.get(`h.${l}.attn.c_attn.weight`)! },
        },
      })),
    };
    expect(referenceForward(asF16, tokens)).toEqual(referenceForward(asF32, tokens));
  });
});

describe('a model whose output can be written down', () => {
  // D = 4, 2 heads of 2, one block, V = 3, nInner = 3. The embeddings are rows of a Hadamard matrix
  // (mean 0, variance 1, mutually orthogonal), wpe is 0, every LayerNorm is the identity affine.
  //   attention: v = ln_1(x) (identity into the v slot), c_proj = identity;
  //     head 0: q[0] = ln_1(x)[1], k[0] = ln_1(x)[2], q[1] = k[1] = 0 → score = q·k / √2
  //     head 1: q = k = 0 → uniform over the visible keys
  //   MLP: c_fc weight 0, bias [1, 0, 0] → gelu_new → [g, 0, 0]; c_proj row 0 = e0 → adds g·e0.
  const e = [
    [1, -1, 1, -1],
    [1, 1, -1, -1],
    [-1, 1, 1, -1],
  ];
  const eps = 1e-5;
  const cfg = configOf({ nLayer: 1, nHead: 2, nEmbd: 4, nCtx: 4, vocabSize: 3, nInner: 3, eps });
  const w = buildWeights(cfg, (name, shape) => {
    const a = new Float32Array(shape.reduce((x, y) => x * y, 1));
    if (name === 'wte.weight') a.set(e.flat());
    if (name.endsWith('ln_1.weight') || name.endsWith('ln_2.weight') || name === 'ln_f.weight') a.fill(1);
    if (name === 'h.0.attn.c_attn.weight') {
      // [D, 3D]: row i is input feature i; columns 0..3 q, 4..7 k, 8..11 v.
      a[1 * 12 + 0] = 1; // q head 0, feature 0 ← x̂[1]
      a[2 * 12 + 4] = 1; // k head 0, feature 0 ← x̂[2]
      for (let i = 0; i < 4; i++) a[i * 12 + 8 + i] = 1; // v = x̂
    }
    if (name === 'h.0.attn.c_proj.weight') for (let i = 0; i < 4; i++) a[i * 4 + i] = 1;
    if (name === 'h.0.mlp.c_fc.bias') a[0] = 1;
    if (name === 'h.0.mlp.c_proj.weight') a.set(e[0]!, 0); // row 0 of [nInner, D]
    return a;
  });

  const g = 0.8411919906082768; // gelu_new(1), the tanh form (the erf GELU gives 0.8413447460685429)
  const c = 1 / Math.sqrt(1 + eps); // ln_1 of a Hadamard row x is c·x
  // Tokens [2, 1]. Head 0, query 1: q = c·e1[1] = c; keys c·e2[2] = c and c·e1[2] = −c.
  const a = (c * c) / Math.SQRT2;
  const p0 = 1 / (1 + Math.exp(-2 * a)); // softmax([a, −a])
  const p1 = 1 - p0;
  // Position 0 sees only itself: z = c·e2. Position 1: head 0 mixes v = c·e2, c·e1 by [p0, p1]
  // on features 0..1; head 1 averages them on features 2..3.
  const mid = [e[2]!.map((v) => (1 + c) * v), [1 + c * (p1 - p0), 1 + c, -1, -1 - c]];
  const post = mid.map((x) => x.map((v, i) => v + g * e[0]![i]!));
  const lnF = (x: number[]) => {
    const mean = x.reduce((s, v) => s + v, 0) / 4;
    const variance = x.reduce((s, v) => s + (v - mean) ** 2, 0) / 4;
    return x.map((v) => (v - mean) / Math.sqrt(variance + eps));
  };
  const logits = post.map((x) => e.map((ev) => lnF(x).reduce((s, v, i) => s + v * ev[i]!, 0)));

  it('gives the hand-computed patterns, residuals and logits', () => {
    const r = referenceForward(w, [2, 1]);
    expect(Array.from(r.patterns[0]!)).toEqual([1, 0, Math.fround(p0), Math.fround(p1), 1, 0, 0.5, 0.5]);
    expect(Array.from(r.residPre[0]!)).toEqual([...e[2]!, ...e[1]!]);
    expectClose(r.residMid[0]!, mid.flat(), 'resid_mid', 1e-7);
    expectClose(r.residPost, post.flat(), 'resid_post', 1e-7);
    expectClose(r.logits, logits.flat(), 'logits', 1e-7);
    // Position 0 in closed form: x = (1+c)·e2 + g·e0, orthogonal rows of squared norm 4.
    const n0 = Math.sqrt((1 + c) ** 2 + g * g + eps);
    expectClose(r.logits.subarray(0, 3), [(4 * g) / n0, 0, (4 * (1 + c)) / n0], 'logits 0', 1e-7);
  });
});

describe('ablation', () => {
  const w = randomWeights(small, 5);
  const { nLayer: L, nEmbd: D, headDim: hd } = w.config;
  const tokens = randomTokens(9, small.vocabSize, 6);
  const T = tokens.length;
  const clean = referenceForward(w, tokens);
  const layer = 1;
  const head = 2;
  const { z } = attnParts(w, layer, clean.residPre[layer]!, T);

  it('ablating nothing is identical to no options', () => {
    expect(referenceForward(w, tokens, { ablate: { heads: [], mode: 'zero' } })).toEqual(clean);
    expect(referenceForward(w, tokens, { ablate: { heads: [], mode: 'mean' } })).toEqual(clean);
  });

  it("zero-ablating a head removes exactly that head's z·W_proj from resid_mid", () => {
    const r = referenceForward(w, tokens, { ablate: { heads: [{ layer, head }], mode: 'zero' } });
    // Earlier layers and this layer's pattern are untouched.
    for (let l = 0; l <= layer; l++) {
      expect(r.residPre[l]).toEqual(clean.residPre[l]);
      expect(r.patterns[l]).toEqual(clean.patterns[l]);
    }
    const expected = headContribution(w, layer, z, head, T).map((v) => -v);
    const scale = maxAbs(clean.residMid[layer]!);
    expectClose(sub(r.residMid[layer]!, clean.residMid[layer]!), expected, 'Δ resid_mid', 1e-5, scale);
    expect(maxAbs(expected)).toBeGreaterThan(1e-2); // the head did contribute something
    expect(r.logits).not.toEqual(clean.logits);
  });

  it("mean-ablating a head replaces its z by the per-position mean of that head's z", () => {
    const r = referenceForward(w, tokens, { ablate: { heads: [{ layer, head }], mode: 'mean' } });
    const replaced = Float64Array.from(z);
    for (let j = head * hd; j < (head + 1) * hd; j++) {
      let mean = 0;
      for (let t = 0; t < T; t++) mean += z[t * D + j]!;
      mean /= T;
      for (let t = 0; t < T; t++) replaced[t * D + j] = mean;
    }
    const expected = headContribution(w, layer, sub(replaced, z), head, T);
    const scale = maxAbs(clean.residMid[layer]!);
    expectClose(sub(r.residMid[layer]!, clean.residMid[layer]!), expected, 'Δ resid_mid', 1e-5, scale);
    // The mean over positions keeps the head's average contribution: the deltas sum to ~0 over t.
    const delta = sub(r.residMid[layer]!, clean.residMid[layer]!);
    for (let o = 0; o < D; o++) {
      let s = 0;
      for (let t = 0; t < T; t++) s += delta[t * D + o]!;
      expect(Math.abs(s)).toBeLessThan(1e-5 * T * scale);
    }
  });

  it('ablating a head of layer 0 changes resid_mid 0 and everything after it', () => {
    const r = referenceForward(w, tokens, { ablate: { heads: [{ layer: 0, head: 0 }], mode: 'zero' } });
    expect(r.residPre[0]).toEqual(clean.residPre[0]);
    expect(r.residMid[0]).not.toEqual(clean.residMid[0]);
    expect(r.patterns[L - 1]).not.toEqual(clean.patterns[L - 1]);
  });
});

describe('bad input', () => {
  const w = randomWeights(small, 7);

  it('names the problem with the tokens', () => {
    expect(() => referenceForward(w, [])).toThrow('prompt is empty');
    expect(() => referenceForward(w, new Array(17).fill(0))).toThrow(
      "prompt has 17 tokens but the model's context is 16",
    );
    expect(() => referenceForward(w, [1, 2, 300])).toThrow('token 2 is 300, not a token id in [0, 300)');
    expect(() => referenceForward(w, [-1])).toThrow('token 0 is -1, not a token id in [0, 300)');
    expect(() => referenceForward(w, [1, 2.5])).toThrow('token 1 is 2.5');
    expect(() => referenceForward(w, [NaN])).toThrow('token 0 is NaN');
  });

  it('accepts T = nCtx and the last token id', () => {
    expect(referenceForward(w, new Array(16).fill(299)).logits.length).toBe(16 * 300);
  });

  it('names the head that cannot be ablated', () => {
    const ablate = (layer: number, head: number) => () =>
      referenceForward(w, [1], { ablate: { heads: [{ layer, head }], mode: 'zero' } });
    expect(ablate(2, 0)).toThrow('cannot ablate head 2.0: layer 2 is not in [0, 2)');
    expect(ablate(0, 4)).toThrow('cannot ablate head 0.4: head 4 is not in [0, 4)');
    expect(ablate(-1, 0)).toThrow('layer -1 is not in [0, 2)');
  });

  it('names a tensor whose size disagrees with the config', () => {
    const bad: Gpt2Weights = {
      ...w,
      lnF: { ...w.lnF, bias: { ...w.lnF.bias, data: new Float32Array(47) } },
    };
    expect(() => referenceForward(bad, [1])).toThrow('ln_f.bias has 47 elements, the config implies 48');
  });

  it('unembed checks the residual length', () => {
    expect(() => unembed(w, new Float32Array(48 * 2 + 1), 2)).toThrow(
      'residual has 97 values, expected T·D = 2·48',
    );
    expect(() => unembed(w, new Float32Array(0), 0)).toThrow('T must be a positive integer');
  });
});
