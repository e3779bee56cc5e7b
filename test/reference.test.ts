// The CPU reference forward is the oracle for everything else, so it gets its own independent checks:
// a numpy implementation (tools/reference_numpy.py) on several shapes and structural properties
// (a hand-computed model, ablation algebra and input validation: reference-ablation.test.ts).

import { describe, expect, it } from 'vitest';
import { f16ToF32, f32ToF16, toFloat32 } from '../src/model/dtype';
import { referenceForward, unembed } from '../src/model/reference';
import type { Gpt2Weights } from '../src/model/types';
import { allTensors } from './support/numpy-hooks';
import {
  type Shape,
  small,
  buildWeights,
  randomWeights,
  randomTokens,
  maxAbs,
  expectClose,
  sub,
  expectMatchesNumpy,
  row,
  linRow,
  mlpOut,
  attnParts,
} from './support/reference-weights';

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
