// The CPU reference forward's own checks, continued (test/reference.test.ts): a hand-computed
// model, ablation algebra and input validation.

import { describe, expect, it } from 'vitest';
import { referenceForward, unembed } from '../src/model/reference';
import type { Gpt2Weights } from '../src/model/types';
import {
  small,
  configOf,
  buildWeights,
  randomWeights,
  randomTokens,
  maxAbs,
  expectClose,
  sub,
  attnParts,
  headContribution,
} from './support/reference-weights';

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
