// The instruments' UI side: the pure helpers behind the depth summary and the detector maps
// (src/instruments/depth-evidence.ts) on hand-made inputs with answers worked out by hand, and the
// state class (src/state/instruments.svelte.ts) driving the real GPU scorer through a Studio and a
// PromptRun in Node (Dawn on SwiftShader), against the CPU oracle (referenceHeadScores on
// referenceForward's f64 patterns) within 2e-5, as test/detectors.test.ts checks the scorer itself.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { LensTopK } from '../src/engine/session';
import {
  cellLabel,
  depthCaption,
  depthSummary,
  formatProb,
  formatScore,
  layerPatterns,
  lensByDepth,
  lensConvergence,
  patternPhrase,
  withProbeInduction,
} from '../src/instruments/depth-evidence';
import { referenceHeadScores } from '../src/instruments/detectors-reference';
import {
  defaultInductionLength,
  detectors,
  dominantDetectors,
  repeatedRandomTokens,
  type Detector,
  type DetectorOptions,
  type HeadScores,
} from '../src/instruments/head-scores';
import { gpt2Config } from '../src/model/fixtures';
import type { HookPoint } from '../src/model/hooks';
import { referenceForward } from '../src/model/reference';
import type { Gpt2Weights } from '../src/model/types';
import { Instruments, instrumentsFor } from '../src/state/instruments.svelte';
import { detectorColors, headBadge } from '../src/viz/detector-colors';
import type { Studio } from '../src/state/studio.svelte';
import { PromptRun } from '../src/state/prompt-run.svelte';
import { studioWith } from './support/tiny-engine';
import { gpt2Tokenizer, pickedFiles, sharpWeights } from './support/tiny-models';

// ---------------------------------------------------------------------------------------------
// Pure helpers

/** A HeadScores with the given per-head values ([L, H] row-major); the rest 0 (or NaN for induction). */
function handScores(
  L: number,
  H: number,
  scores: Partial<Record<Detector, number[]>>,
  stats: { entropy?: number[]; normalized?: number[]; sparsity?: number[] } = {},
): HeadScores {
  const n = L * H;
  const col = (v: number[] | undefined, fill: number) => Float64Array.from(v ?? Array(n).fill(fill));
  const stat = (v: number[] | undefined) => ({ mean: col(v, 0.5), std: new Float64Array(n) });
  return {
    nLayer: L,
    nHead: H,
    tokens: [1, 2, 3],
    options: { excludeFirst: false, excludeCurrent: false, window: 3 },
    scores: Object.fromEntries(
      detectors.map((d) => [d, col(scores[d], d === 'induction' ? NaN : 0)]),
    ) as Record<Detector, Float64Array>,
    queries: Object.fromEntries(detectors.map((d) => [d, 3])) as Record<Detector, number>,
    entropy: stat(stats.entropy),
    normalizedEntropy: stat(stats.normalized),
    sparsity: stat(stats.sparsity),
    rowWeight: new Float64Array(n).fill(2),
  };
}

const pre = (layer: number): HookPoint => ({ kind: 'resid_pre', layer });
const post = (layer: number): HookPoint => ({ kind: 'resid_post', layer });

/**
 * L = 2, T = 3, k = 2; the final point's top-1 at positions 0, 1, 2 is 10, 20, 30.
 * resid_pre 0: position 0 agrees (p 0.5); position 1 has it second (p 0.25); position 2 lacks it
 * (its second-best p is 0.125). resid_pre 1: all three agree (p 0.75 each).
 */
const lens: LensTopK = {
  points: [pre(0), pre(1), post(1)],
  k: 2,
  ids: Uint32Array.from([10, 11, 21, 20, 31, 32, 10, 1, 20, 1, 30, 1, 10, 1, 20, 1, 30, 1]),
  probs: Float32Array.from([
    0.5, 0.25, 0.5, 0.25, 0.5, 0.125, 0.75, 0.1, 0.75, 0.1, 0.75, 0.1, 1, 0, 1, 0, 1, 0,
  ]),
};

describe('depth evidence', () => {
  test('lens convergence: agreement with the final top-1 and the bounds on its probability', () => {
    const c = lensConvergence(lens, 3);
    expect(c.map((x) => x.point)).toEqual(lens.points);
    expect(c[0]).toEqual({
      point: pre(0),
      agreement: 1 / 3,
      finalProb: (0.5 + 0.25 + 0) / 3,
      finalProbUpper: (0.5 + 0.25 + 0.125) / 3,
      inTopK: 2 / 3,
      positions: 3,
    });
    expect(c[1]).toMatchObject({ agreement: 1, finalProb: 0.75, finalProbUpper: 0.75, inTopK: 1 });
    expect(c[2]).toMatchObject({ agreement: 1, finalProb: 1, inTopK: 1 });
    // By depth: 'layers' maps one to one; with only the final point, the other depths are missing.
    expect(lensByDepth(lens, 3, 2).map((x) => x?.agreement)).toEqual([1 / 3, 1, 1]);
    const finalOnly: LensTopK = {
      points: [post(1)],
      k: 2,
      ids: lens.ids.slice(12),
      probs: lens.probs.slice(12),
    };
    expect(lensByDepth(finalOnly, 3, 2).map((x) => x?.agreement)).toEqual([undefined, undefined, 1]);
  });

  test('lens convergence: clear errors for a lens it cannot read', () => {
    expect(() => lensConvergence(lens, 4)).toThrow(/not points·T·k = 3·4·2/);
    expect(() => lensConvergence({ ...lens, points: [pre(0), pre(1), pre(2)] }, 3)).toThrow(
      /last point is not the final resid_post/,
    );
    expect(() => lensConvergence(lens, 0)).toThrow(/at least one position/);
  });

  test('cell labels: 3 decimals, NaN says why', () => {
    expect(cellLabel(3, 5, 'previous', 0.8704)).toBe('L3.H5: previous-token 0.870');
    expect(cellLabel(0, 1, 'induction', NaN)).toBe('L0.H1: induction n/a (no query in scope)');
    expect(formatScore(1)).toBe('1.000');
    expect([0, 0.123, 0.00002042].map(formatProb)).toEqual(['0.00', '0.12', '0.000020']);
  });

  test('head patterns per layer and their phrase', () => {
    // Layer 0: two previous-token heads (0.91, 0.85), a sink head (0.77), one with nothing ≥ 0.4.
    // Layer 1: an induction head (0.55) and three unlabelled.
    const s = handScores(2, 4, {
      previous: [0.91, 0.85, 0.1, 0.2, 0, 0, 0, 0.3],
      first: [0.05, 0.1, 0.77, 0.3, 0, 0, 0, 0],
      induction: [NaN, NaN, NaN, NaN, 0.55, 0.1, 0.2, 0.39],
    });
    const labels = dominantDetectors(s, 0.4);
    expect(labels).toEqual(['previous', 'previous', 'first', null, 'induction', null, null, null]);
    const p = layerPatterns(s, labels);
    expect(p[0]!.counts).toMatchObject({ previous: 2, first: 1, induction: 0 });
    expect(p[0]!.best.previous).toBe(0.91);
    expect(p[0]!.best.induction).toBeNaN();
    expect(p[0]!.unlabeled).toBe(1);
    expect(patternPhrase(p[0]!, 0.4)).toBe(
      '2 previous-token heads (best 0.91), 1 first-token head (0.77), 1 without a clear pattern',
    );
    expect(patternPhrase(p[1]!, 0.4)).toBe('1 induction head (0.55), 3 without a clear pattern');
    const none = layerPatterns(s, Array(8).fill(null))[0]!;
    expect(patternPhrase(none, 0.4)).toBe('no head scores 0.40 or more on any pattern');
    expect(() => layerPatterns(s, labels.slice(1))).toThrow(/7 head labels for 2×4 heads/);
  });

  test('depth summary rows and captions come from the numbers', () => {
    const s = handScores(
      2,
      2,
      { previous: [0.91, 0.2, 0.1, 0.1], duplicate: [0, 0, 0.6, 0.1] },
      { entropy: [1, 2, 0.5, 0.7], normalized: [0.25, 0.75, 0.1, 0.3], sparsity: [0.6, 0.2, 0.9, 0.5] },
    );
    const labels = dominantDetectors(s, 0.4);
    const rows = depthSummary({
      nLayer: 2,
      scores: s,
      labels,
      lens: { topk: lens, T: 3 },
      probes: [{ name: 'POS', accuracy: [0.5, 0.7, 0.8], baseline: 0.4 }],
    });
    expect(rows.map((r) => [r.layer, r.depth, r.final])).toEqual([
      [null, 0, false],
      [0, 1, false],
      [1, 2, true],
    ]);
    expect(rows[1]!.entropy).toEqual({ nats: 1.5, normalized: 0.5, sparsity: 0.4 });
    expect(rows[1]!.lens?.agreement).toBe(1);
    expect(rows.map((r) => depthCaption(r, 0.4))).toEqual([
      "Embeddings: at the embeddings the lens's top token is the final one at 1 of 3 positions (33%), " +
        'p(final token) 0.25–0.29; POS probe 50% (baseline 40%, +10 points).',
      'L0: 1 previous-token head (0.91), 1 without a clear pattern; attention entropy 1.50 nats ' +
        "(0.50 of uniform, sparsity 0.40); after it the lens's top token is the final one at 3 of 3 " +
        'positions (100%), p(final token) 0.75; POS probe 70% (baseline 40%, +30 points).',
      'L1: 1 duplicate-token head (0.60), 1 without a clear pattern; attention entropy 0.60 nats ' +
        "(0.20 of uniform, sparsity 0.70); after it the stream is the model's output (the final " +
        'prediction itself); POS probe 80% (baseline 40%, +40 points).',
    ]);
    // Nothing measured: the caption says so rather than inventing anything.
    const empty = depthSummary({ nLayer: 1 });
    expect(empty.map((r) => depthCaption(r, 0.4))).toEqual([
      'Embeddings: nothing measured yet.',
      'L0: nothing measured yet.',
    ]);
    expect(() => depthSummary({ nLayer: 3, scores: s, labels })).toThrow(/cover 2 layers, the model has 3/);
  });

  test('head badges read the labels row-major', () => {
    const labels: (Detector | null)[] = ['previous', null, 'first', 'induction'];
    expect(headBadge(labels, 2, 0, 0)).toEqual({
      detector: 'previous',
      short: 'prev',
      title: 'previous token',
      color: detectorColors.previous,
    });
    expect(headBadge(labels, 2, 0, 1)).toBeUndefined();
    expect(headBadge(labels, 2, 1, 1)?.short).toBe('ind');
    expect(headBadge([], 2, 1, 1)).toBeUndefined();
    expect(new Set(Object.values(detectorColors)).size).toBe(detectors.length);
  });

  test("the probe's induction column replaces the prompt's", () => {
    const prompt = handScores(1, 2, { previous: [0.9, 0.1] });
    const probe = handScores(1, 2, { induction: [0.2, 0.8] });
    const merged = withProbeInduction(prompt, probe);
    expect([...merged.scores.induction]).toEqual([0.2, 0.8]);
    expect(merged.scores.previous).toBe(prompt.scores.previous);
    expect(dominantDetectors(merged)).toEqual(['previous', 'induction']);
    expect(() => withProbeInduction(prompt, handScores(2, 2, {}))).toThrow(/2×2 heads, the prompt on 1×2/);
  });
});

// ---------------------------------------------------------------------------------------------
// The state class on the GPU

const tokenizer = gpt2Tokenizer();
const config = gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 16, nCtx: 24, vocabSize: 50257 });

const tolerance = 2e-5;

/** Largest |GPU − CPU| over every detector score and row statistic (NaN must match NaN). */
function maxDiff(got: HeadScores, want: HeadScores): number {
  let m = 0;
  const pairs: [Float64Array, Float64Array][] = [
    ...detectors.map((d): [Float64Array, Float64Array] => [got.scores[d], want.scores[d]]),
    [got.entropy.mean, want.entropy.mean],
    [got.normalizedEntropy.mean, want.normalizedEntropy.mean],
    [got.sparsity.mean, want.sparsity.mean],
  ];
  for (const [a, b] of pairs) {
    expect(a.length).toBe(b.length);
    for (let i = 0; i < a.length; i++) {
      if (Number.isNaN(b[i]!)) expect(a[i]).toBeNaN();
      else m = Math.max(m, Math.abs(a[i]! - b[i]!));
    }
  }
  return m;
}

function reference(weights: Gpt2Weights, tokens: readonly number[], options?: DetectorOptions): HeadScores {
  return referenceHeadScores(referenceForward(weights, tokens).patterns, config.nHead, tokens, options);
}

describe('Instruments (state) on the GPU', () => {
  const weights = sharpWeights(config, 5);
  const other = sharpWeights(config, 6);
  let studio: Studio;
  let run: PromptRun;
  let instruments: Instruments;

  beforeAll(async () => {
    studio = await studioWith(pickedFiles(weights));
    run = new PromptRun(studio, '');
    instruments = instrumentsFor(studio, run);
  });
  afterAll(() => {
    instruments?.dispose();
    run?.dispose();
    studio?.dispose();
  });

  test('one instance per prompt', () => {
    expect(instrumentsFor(studio, run)).toBe(instruments);
    expect(instrumentsFor(studio, new PromptRun(studio, ''))).not.toBe(instruments);
  });

  test("after a run: the prompt's scores as the oracle computes them, with each option", async () => {
    await instruments.refresh();
    expect(instruments.prompt).toBeUndefined(); // nothing has run yet
    const tokens = tokenizer.encode('the cat sat on the mat and the cat sat');
    await run.run(tokens);
    await instruments.refresh();
    expect(instruments.error).toBeUndefined();
    const got = instruments.prompt!;
    expect(got.scores.tokens).toEqual(tokens);
    expect(maxDiff(got.scores, reference(weights, tokens))).toBeLessThan(tolerance);
    // Repeated tokens: the prompt's own duplicate and induction scores are defined.
    expect(got.scores.scores.induction[0]).not.toBeNaN();

    for (const options of [
      { excludeFirst: true },
      { excludeCurrent: true, window: 2 },
      { excludeFirst: true, excludeCurrent: true, window: 5 },
    ]) {
      instruments.excludeFirst = options.excludeFirst ?? false;
      instruments.excludeCurrent = options.excludeCurrent ?? false;
      instruments.window = options.window ?? 3;
      await instruments.refresh();
      expect(instruments.prompt!.scores.options).toEqual({
        excludeFirst: false,
        excludeCurrent: false,
        window: 3,
        ...options,
      });
      expect(maxDiff(instruments.prompt!.scores, reference(weights, tokens, options))).toBeLessThan(
        tolerance,
      );
    }
    // A bad window: a clear error, the last good scores stay.
    instruments.window = 0;
    await instruments.refresh();
    expect(instruments.error).toMatch(/window must be a whole number of positions ≥ 1, not 0/);
    expect(instruments.prompt!.scores.options.window).toBe(5);
    instruments.excludeFirst = instruments.excludeCurrent = false;
    instruments.window = 3;
  });

  test('scoring waits for the run in flight and never shows an older run after a newer one', async () => {
    const a = tokenizer.encode('one two three four five');
    const b = tokenizer.encode('a b c a b c a');
    const seen: number[][] = [];
    const note = () => seen.push([...(instruments.prompt?.scores.tokens ?? [])]);
    // A run is in flight; scoring asked now is queued behind it and scores its captures.
    const runA = run.run(a);
    const first = instruments.refresh().then(note);
    // B is asked for while A runs: it runs after the queued scoring (the captures are A's until then).
    const runB = run.run(b);
    await Promise.all([runA, runB, first]);
    const second = instruments.refresh().then(note);
    await second;
    expect(seen).toEqual([a, b]);
    expect(instruments.prompt!.seq).toBeGreaterThan(0);
    expect(maxDiff(instruments.prompt!.scores, reference(weights, b))).toBeLessThan(tolerance);
    // Requests made while one waits share it.
    expect(instruments.refresh()).toBe(instruments.refresh());
    await instruments.refresh();
  });

  test('the induction probe: measured once per model, rescored on new options, again on demand', async () => {
    await instruments.syncInduction();
    expect(instruments.inductionError).toBeUndefined();
    const probe = instruments.induction!;
    const n = defaultInductionLength(config.nCtx);
    expect(probe).toMatchObject({ length: n, seed: 0 });
    const tokens = repeatedRandomTokens(config, { length: n, seed: 0 });
    expect(probe.tokens).toEqual(tokens);
    expect(tokens).toHaveLength(2 * n + 1);
    expect(maxDiff(probe.scores, reference(weights, tokens))).toBeLessThan(tolerance);

    // New options: the same probe rescored (its captures are kept).
    instruments.excludeFirst = true;
    await instruments.syncInduction();
    expect(instruments.induction!.tokens).toEqual(tokens);
    expect(
      maxDiff(instruments.induction!.scores, reference(weights, tokens, { excludeFirst: true })),
    ).toBeLessThan(tolerance);
    instruments.excludeFirst = false;

    // On demand, another seed and length.
    instruments.inductionSeed = 7;
    instruments.inductionLength = 5;
    await instruments.measureInduction();
    const again = instruments.induction!;
    const tokens7 = repeatedRandomTokens(config, { length: 5, seed: 7 });
    expect(again).toMatchObject({ length: 5, seed: 7, tokens: tokens7 });
    expect(maxDiff(again.scores, reference(weights, tokens7))).toBeLessThan(tolerance);

    // Too long for the context: a clear error, the last probe stays.
    instruments.inductionLength = 20;
    await instruments.measureInduction();
    expect(instruments.inductionError).toMatch(/41 tokens, more than the model's context of 24/);
    expect(instruments.induction!.seed).toBe(7);
    instruments.inductionLength = undefined;
    instruments.inductionSeed = 0;
  });

  test("head labels: the prompt's patterns with the probe's induction score", async () => {
    await instruments.measureInduction();
    await instruments.refresh();
    const prompt = instruments.prompt!.scores;
    const merged = withProbeInduction(
      reference(weights, prompt.tokens),
      reference(weights, instruments.induction!.tokens),
    );
    for (const threshold of [0.4, 0.2]) {
      instruments.threshold = threshold;
      const want = dominantDetectors(merged, threshold);
      const got = instruments.headLabels();
      expect(got).toHaveLength(config.nLayer * config.nHead);
      // Heads whose scores sit within the tolerance of the threshold could go either way.
      const clear = want.map((_, i) =>
        detectors.every((d) => !(Math.abs(merged.scores[d][i]! - threshold) < 1e-4)),
      );
      expect(got.filter((_, i) => clear[i])).toEqual(want.filter((_, i) => clear[i]));
      expect(clear.filter(Boolean).length).toBeGreaterThan(0);
    }
    instruments.threshold = 0.4;
  });

  test('a new model: the old scores go, the probe is measured on the new one', async () => {
    expect(await studio.loadModel({ kind: 'files', files: pickedFiles(other) })).toBe(true);
    await instruments.refresh();
    expect(instruments.prompt).toBeUndefined(); // the prompt has not run on this model yet
    expect(instruments.labelScores()).toBeUndefined(); // the old probe is another model's
    expect(instruments.headLabels()).toEqual([]);
    await instruments.syncInduction();
    const tokens = instruments.induction!.tokens;
    expect(instruments.induction!.length).toBe(defaultInductionLength(config.nCtx));
    expect(maxDiff(instruments.induction!.scores, reference(other, tokens))).toBeLessThan(tolerance);
    const words = tokenizer.encode('fresh words on a new model');
    await run.run(words);
    await instruments.refresh();
    expect(maxDiff(instruments.prompt!.scores, reference(other, words))).toBeLessThan(tolerance);
  });
});
