// The logit-lens and ablation panels' pure helpers (src/state/lens-view.ts,
// src/state/ablation-view.ts, src/viz/depth-chart.ts) on hand-made inputs with answers worked out
// by hand, and token picking on GPT-2's real tokenizer. The state classes on the engine:
// instruments-state.test.ts.
import { describe, expect, test } from 'vitest';
import type { LensTopK, TokenTrack } from '../src/engine/session';
import type { Ablation } from '../src/model/ablation';
import { residualBoundaries, type HookPoint } from '../src/model/hooks';
import {
  ablationKey,
  describeAblation,
  distributionChange,
  lastPositionProbs,
  nextTokenTopK,
  setLayerHeads,
  toggleHead,
  toggleMlp,
  unionIds,
} from '../src/state/ablation-view';
import {
  formatProb,
  lensRows,
  pickToken,
  pointCaption,
  pointName,
  pointTick,
  showToken,
  trackSeries,
} from '../src/state/lens-view';
import { chartMargin, probabilityChart, rankChart } from '../src/viz/depth-chart';
import { gpt2Tokenizer } from './support/tiny-models';

const tokenizer = gpt2Tokenizer();

const pre = (layer: number): HookPoint => ({ kind: 'resid_pre', layer });
const mid = (layer: number): HookPoint => ({ kind: 'resid_mid', layer });
const post = (layer: number): HookPoint => ({ kind: 'resid_post', layer });

describe('token picking on GPT-2’s tokenizer', () => {
  const V = 50257;
  test('one token: its id, with a hint when the spaced form is another token', () => {
    expect(pickToken(tokenizer, ' Paris', V)).toEqual({ ok: true, id: 6342, label: ' Paris' });
    const bare = pickToken(tokenizer, 'Paris', V);
    expect(bare.ok && bare.id).toBe(40313);
    expect(bare.ok && bare.hint).toMatch(/" Paris" is a different token \(6342\)/);
    expect(pickToken(tokenizer, '<|endoftext|>', V)).toMatchObject({ ok: true, id: 50256 });
  });
  test('several tokens: the pieces named, the first offered', () => {
    const p = pickToken(tokenizer, ' Parisian', V);
    expect(p.ok).toBe(false);
    if (p.ok) return;
    expect(p.message).toBe(
      '" Parisian" is 2 tokens (" Paris" + "ian"); one token can be followed at a time — the first is " Paris".',
    );
    expect(p.suggestion).toEqual({ id: 6342, label: ' Paris' });
  });
  test('empty text, and a token outside a small model’s vocabulary', () => {
    const empty = pickToken(tokenizer, '', V);
    expect(!empty.ok && empty.message).toMatch(/Type a token/);
    const outside = pickToken(tokenizer, ' Paris', 1000);
    expect(!outside.ok && outside.message).toBe(
      '" Paris" is token 6342, outside this model\'s vocabulary (0…999).',
    );
    // Several tokens whose first is outside: no suggestion to take.
    const far = pickToken(tokenizer, ' Parisian', 1000);
    expect(!far.ok && far.suggestion).toBeUndefined();
  });
});

/** L = 1 (points resid_pre 0, resid_mid 0, resid_post 0), T = 2, k = 2; ids 10·point + 2·t + i. */
const handLens: LensTopK = {
  points: [pre(0), mid(0), post(0)],
  k: 2,
  ids: Uint32Array.from({ length: 12 }, (_, j) => {
    const [p, t, i] = [Math.floor(j / 4), Math.floor(j / 2) % 2, j % 2];
    return 10 * p + 2 * t + i;
  }),
  probs: Float32Array.from({ length: 12 }, (_, j) => (j % 2 === 0 ? 0.5 : 0.25)),
};

describe('lens rows and tracked series', () => {
  test('rows in depth order with TransformerLens names, the final row marked', () => {
    const rows = lensRows(handLens, 2, 1, (id) => `t${id}`);
    expect(rows.map((r) => r.name)).toEqual([
      'blocks.0.hook_resid_pre',
      'blocks.0.hook_resid_mid',
      'blocks.0.hook_resid_post',
    ]);
    expect(rows.map((r) => r.final)).toEqual([false, false, true]);
    expect(rows.map((r) => r.display)).toEqual(['Embeddings', 'L0 · after attention', 'L0 · after MLP']);
    expect(rows.map((r) => r.caption)).toEqual([
      'hook_embed + hook_pos_embed = blocks.0.hook_resid_pre',
      'blocks.0.hook_resid_mid',
      'blocks.0.hook_resid_post (ln_final reads it)',
    ]);
    expect(rows[1]!.cells[1]!.top).toEqual([
      { id: 12, label: 't12', p: 0.5 },
      { id: 13, label: 't13', p: 0.25 },
    ]);
    expect(() => lensRows(handLens, 3, 1, String)).toThrow(/not 3 points × 3 positions × 2/);
  });
  test('point names, captions and ticks: one name per boundary (depth-names), hooks in the caption', () => {
    const L = 3;
    expect(residualBoundaries(L).map((p) => pointTick(p))).toEqual([
      'emb',
      'L0a',
      'L0m',
      'L1a',
      'L1m',
      'L2a',
      'L2m',
    ]);
    expect(pointName(pre(0))).toBe('Embeddings');
    expect(pointName(mid(1))).toBe('L1 · after attention');
    // resid_post of layer l and resid_pre of layer l+1: one boundary, one name.
    expect(pointName(pre(2))).toBe('L1 · after MLP');
    expect(pointName(post(1))).toBe('L1 · after MLP');
    expect(pointCaption(pre(2), L)).toBe('blocks.1.hook_resid_post = blocks.2.hook_resid_pre');
    expect(pointCaption(post(L - 1), L)).toBe('blocks.2.hook_resid_post (ln_final reads it)');
  });
  test('series at a position: (ids, points, T) indexing', () => {
    // 2 ids, 3 points, T = 2: prob = 100·i + 10·p + t, rank = i + p + t.
    const track: TokenTrack = {
      ids: [7, 9],
      points: [pre(0), mid(0), post(0)],
      T: 2,
      prob: Float32Array.from(
        { length: 12 },
        (_, j) => 100 * Math.floor(j / 6) + 10 * (Math.floor(j / 2) % 3) + (j % 2),
      ),
      rank: Uint32Array.from({ length: 12 }, (_, j) => Math.floor(j / 6) + (Math.floor(j / 2) % 3) + (j % 2)),
      readbackBytes: 96,
    };
    expect(trackSeries(track, 1)).toEqual([
      { id: 7, prob: [1, 11, 21], rank: [1, 2, 3] },
      { id: 9, prob: [101, 111, 121], rank: [2, 3, 4] },
    ]);
    expect(() => trackSeries(track, 2)).toThrow(/position 2 is outside the tracked run \(0…1\)/);
  });
  test('formatting', () => {
    expect(showToken(' a\nb', 3)).toBe('·a…');
    expect(formatProb(0.1234)).toBe('12.3%');
    expect(formatProb(0.00001234)).toBe('0.0012%');
    expect(formatProb(0)).toBe('0%');
  });
});

describe('depth charts', () => {
  const size = { width: 300, height: 150 };
  const bottom = size.height - chartMargin.bottom;
  test('linear probability: 0 at the bottom, 1 at the top, one x per point', () => {
    const c = probabilityChart([[0, 0.5, 1]], 3, size, false);
    expect(c.xs).toHaveLength(3);
    expect(c.xs[0]!).toBeLessThan(c.xs[1]!);
    expect(c.lines[0]!.points.map((p) => p.y)).toEqual([
      bottom,
      (bottom + chartMargin.top) / 2,
      chartMargin.top,
    ]);
    expect(c.lines[0]!.path.startsWith('M')).toBe(true);
  });
  test('log probability: the floor is the decade below the smallest, zeros drawn there', () => {
    const c = probabilityChart([[0.003, 0, 1]], 3, size, true);
    expect(c.yTicks.map((t) => t.label)).toEqual(['0.001', '0.01', '0.1', '1']);
    expect(c.lines[0]!.points[1]!.y).toBe(bottom); // 0 → the floor 0.001
    expect(c.lines[0]!.points[2]!.y).toBe(chartMargin.top);
  });
  test('rank: rank 0 (the top token) at the top, down to the decade above the largest', () => {
    const c = rankChart([[0, 9, 99]], 3, size, 50257);
    expect(c.yTicks.map((t) => t.label)).toEqual(['1', '10', '100']);
    const ys = c.lines[0]!.points.map((p) => p.y);
    expect(ys[0]).toBe(chartMargin.top);
    expect(ys[2]).toBe(bottom);
    expect(ys[1]).toBeCloseTo((chartMargin.top + bottom) / 2, 9);
  });
});

describe('ablation selection and before/after', () => {
  test('toggling heads, MLPs, whole layers; the description and key', () => {
    let heads = toggleHead([], 1, 2);
    heads = toggleHead(heads, 0, 1);
    expect(heads).toEqual([
      { layer: 0, head: 1 },
      { layer: 1, head: 2 },
    ]);
    expect(toggleHead(heads, 1, 2)).toEqual([{ layer: 0, head: 1 }]);
    expect(setLayerHeads(heads, 1, 3, true)).toEqual([
      { layer: 0, head: 1 },
      { layer: 1, head: 0 },
      { layer: 1, head: 1 },
      { layer: 1, head: 2 },
    ]);
    expect(setLayerHeads(heads, 0, 3, false)).toEqual([{ layer: 1, head: 2 }]);
    expect(toggleMlp(toggleMlp([2], 0), 2)).toEqual([0]);
    const a: Ablation = { heads, mlps: [0], mode: 'zero' };
    expect(describeAblation(a)).toBe('heads L0.H1, L1.H2 and the MLP of L0, zeroed');
    expect(describeAblation({ heads: [], mlps: [0, 2], mode: 'mean' })).toBe(
      'the MLPs of L0, L2, replaced by their mean over the prompt',
    );
    expect(ablationKey(a)).toBe(ablationKey({ heads: [...heads].reverse(), mlps: [0, 0], mode: 'zero' }));
    expect(ablationKey(a)).not.toBe(ablationKey({ ...a, mode: 'mean' }));
  });
  test('next-token top-k: the final point at the last position', () => {
    expect(nextTokenTopK(handLens, 2)).toEqual([
      { id: 22, p: 0.5 },
      { id: 23, p: 0.25 },
    ]);
    expect(() => nextTokenTopK({ ...handLens, points: [pre(0), mid(0), mid(0)] }, 2)).toThrow(/no final/);
  });
  test('the last position of a track at the final point', () => {
    // 2 ids, 1 point, T = 3: prob = 10·i + t.
    const track: TokenTrack = {
      ids: [4, 8],
      points: [post(1)],
      T: 3,
      prob: Float32Array.from([0, 1, 2, 10, 11, 12]),
      rank: new Uint32Array(6),
      readbackBytes: 48,
    };
    expect([...lastPositionProbs(track)]).toEqual([
      [4, 2],
      [8, 12],
    ]);
    expect(() => lastPositionProbs({ ...track, points: [pre(0)] })).toThrow(/final point only/);
  });
  test('before and after merged, each token on both sides, most probable first', () => {
    const before = [
      { id: 1, p: 0.5 },
      { id: 2, p: 0.3 },
    ];
    const after = [
      { id: 3, p: 0.6 },
      { id: 1, p: 0.2 },
    ];
    expect(unionIds(before, after, [2, 9])).toEqual([1, 2, 3, 9]);
    const rows = distributionChange(before, after, new Map([[3, 0.1]]), new Map([[2, 0.05]]));
    expect(rows.map((r) => [r.id, r.before, r.after, r.rankBefore, r.rankAfter])).toEqual([
      [3, 0.1, 0.6, -1, 0],
      [1, 0.5, 0.2, 0, 1],
      [2, 0.3, 0.05, 1, -1],
    ]);
    expect(rows.map((r) => r.delta)).toEqual([0.6 - 0.1, 0.2 - 0.5, 0.05 - 0.3]);
    expect(() => distributionChange(before, after, new Map(), new Map())).toThrow(
      /no ablated probability for token 2/,
    );
  });
});
