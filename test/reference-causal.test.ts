// The CPU reference of the causal instruments (src/model/reference-causal.ts): the attribution's
// terms sum to the model's logit difference (≤ 1e-4·max(1, |total|)) and total matches the full
// reference forward's logits; the patching machinery recovers 1 when all of layer 0's residual is
// patched and 0 when nothing is, positions with the same token give exactly 0 at layer 0, and
// patching every head's z equals patching attn_out at every position; bad input is refused.
import { describe, expect, test } from 'vitest';
import { gpt2Config } from '../src/model/fixtures';
import { referenceForward } from '../src/model/reference';
import {
  activationPatching,
  checkLogitDiffGap,
  directLogitAttribution,
  f32Weights,
  lastLogitDiff,
  logitDiffDirection,
  patchedLogitDiff,
  recordActivations,
} from '../src/model/reference-causal';
import { corruptedPair, tinyWeights } from './support/tiny-models';

const config = gpt2Config({ nLayer: 3, nHead: 3, nEmbd: 24, nCtx: 16, vocabSize: 97 });
const weights = tinyWeights(config, 5, { attention: 8, wte: 4 });
const T = 7;
const { clean, corrupt } = corruptedPair(T, config.vocabSize, 3, [2, 4]);
const [answer, foil] = [5, 17];

describe('direct logit attribution (reference)', () => {
  test('the terms sum to the logit difference, which matches the forward', () => {
    const dla = directLogitAttribution(weights, clean, answer, foil);
    const ref = referenceForward(weights, clean);
    const V = config.vocabSize;
    const want = ref.logits[(T - 1) * V + answer]! - ref.logits[(T - 1) * V + foil]!;
    expect(Math.abs(dla.total - want)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(want)));
    expect(Math.abs(dla.sum_error)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(dla.total)));
    expect(dla.position).toBe(T - 1);
    expect(dla.heads.length).toBe(config.nLayer);
    expect(dla.heads[0]!.length).toBe(config.nHead);
    expect(dla.mlp.length).toBe(config.nLayer);
    expect(dla.attn_bias.length).toBe(config.nLayer);
    // Not all zero: the heads carry signal.
    expect(Math.max(...dla.heads.flat().map(Math.abs))).toBeGreaterThan(1e-3);
    // Swapping answer and foil negates every term.
    const swapped = directLogitAttribution(weights, clean, foil, answer);
    expect(swapped.total).toBeCloseTo(-dla.total, 10);
    swapped.heads.flat().forEach((v, i) => expect(v).toBeCloseTo(-dla.heads.flat()[i]!, 10));
    expect(swapped.embed).toBeCloseTo(-dla.embed, 10);
  });

  test('an answer equal to the foil, or outside the vocabulary, is refused', () => {
    expect(() => directLogitAttribution(weights, clean, 5, 5)).toThrow(
      'the answer and the foil are the same token (5)',
    );
    expect(() => directLogitAttribution(weights, clean, 5, 97)).toThrow(
      'the foil is 97, not a token id in [0, 97)',
    );
  });
});

describe('activation patching (reference)', () => {
  const w = f32Weights(weights);
  const u = logitDiffDirection(w, answer, foil);
  const { acts, ref: refA } = recordActivations(w, clean);
  const refB = referenceForward(w, corrupt, { logits: false });
  const mA = lastLogitDiff(w, refA.residPost, T, u);
  const mB = lastLogitDiff(w, refB.residPost, T, u);
  const norm = (m: number) => (m - mB) / (mA - mB);
  const all = Array.from({ length: T }, (_, t) => t);

  test('machinery: all of resid_pre 0 patched recovers 1, nothing patched gives 0', () => {
    expect(Math.abs(mA - mB)).toBeGreaterThan(1e-3);
    expect(
      norm(patchedLogitDiff(w, acts, corrupt, u, [{ kind: 'resid_pre', layer: 0, places: all }])),
    ).toBeCloseTo(1, 9);
    expect(norm(patchedLogitDiff(w, acts, corrupt, u, []))).toBe(0);
    // Every head's z at layer 1 = attn_out at every position of layer 1.
    const heads = Array.from({ length: config.nHead }, (_, h) => h);
    const z = patchedLogitDiff(w, acts, corrupt, u, [{ kind: 'z', layer: 1, places: heads }]);
    const attn = patchedLogitDiff(w, acts, corrupt, u, [{ kind: 'attn_out', layer: 1, places: all }]);
    expect(Math.abs(z - attn)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(attn)));
  });

  test('the maps: shapes, same-token positions give 0 at layer 0, the last layer at the last position', () => {
    const p = activationPatching(weights, clean, corrupt, answer, foil);
    expect(p.clean_logit_diff).toBeCloseTo(mA, 12);
    expect(p.corrupt_logit_diff).toBeCloseTo(mB, 12);
    for (const m of [p.resid_pre, p.attn_out, p.mlp_out]) {
      expect(m.length).toBe(config.nLayer);
      for (const row of m) expect(row.length).toBe(T);
    }
    expect(p.z.map((r) => r.length)).toEqual([3, 3, 3]);
    for (let t = 0; t < T; t++) if (t !== 2 && t !== 4) expect(p.resid_pre[0]![t]).toBe(0);
    // resid_pre at the last layer only matters at the last position (attention looks back, and
    // only one block is left): the other positions still move it through that block's attention.
    expect(Number.isFinite(p.resid_pre[2]![T - 1]!)).toBe(true);
    // Only the tokens that differ can change anything at layer 0's resid_pre.
    expect(p.resid_pre[0]![2]! !== 0 || p.resid_pre[0]![4]! !== 0).toBe(true);
  });

  test('bad input: lengths, BOS settings, answer = foil, m_A ≈ m_B', () => {
    expect(() => activationPatching(weights, clean, clean.slice(1), answer, foil)).toThrow(
      'the clean prompt has 7 tokens and the corrupted one 6',
    );
    const bos = config.bosTokenId;
    expect(() => activationPatching(weights, [bos, ...clean.slice(1)], clean, answer, foil)).toThrow(
      'give both the same BOS setting',
    );
    expect(() => activationPatching(weights, clean, corrupt, 3, 3)).toThrow('the same token (3)');
    expect(() => activationPatching(weights, clean, clean, answer, foil)).toThrow(
      /\|m_A − m_B\| < 0\.001, so the normalisation .* is undefined/,
    );
    expect(() => checkLogitDiffGap(1, NaN)).toThrow('undefined');
  });
});
