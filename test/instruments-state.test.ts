// The logit-lens and ablation panels' state (their pure helpers: lens-ablation-views.test.ts): the
// state classes (src/state/lens.svelte.ts, src/state/ablation.svelte.ts) driving the real engine through a
// Studio in Node (Dawn on SwiftShader) on a tiny random GPT-2 with GPT-2's vocabulary, against the
// CPU reference forward (src/model/reference.ts, f64) with and without the ablation. Tolerances:
// probabilities 1e-4 absolute (the engine's lens); top-k ids equal wherever the reference's
// neighbouring probabilities differ by more than that; ranks exact except for vocabulary entries
// within 1e-4·max|logit| of the tracked token's (near-ties, counted either way); logits and logit
// differences 1e-4 × max |logit| of the reference row. Each ablation case also checks that the
// ablation moves the prediction and the logit difference far beyond the tolerance, so a run that
// ignored the ablation would fail.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { nodeGpuApi } from '../src/cli/node-gpu';
import type { Ablation } from '../src/model/ablation';
import { gpt2Config } from '../src/model/fixtures';
import { hookName, residualBoundaries } from '../src/model/hooks';
import { referenceForward } from '../src/model/reference';
import type { Gpt2Weights } from '../src/model/types';
import { AblationLab, ablationFor } from '../src/state/ablation.svelte';
import { LogitLens, lensFor } from '../src/state/lens.svelte';
import { maxTrackedTokens } from '../src/state/lens-view';
import { debugCounters } from '../src/state/debug';
import { Studio } from '../src/state/studio.svelte';
import { PromptRun } from '../src/state/prompt-run.svelte';
import { maxAbs, peakyWeights, pickedFiles, softmax } from './support/tiny-models';
import { watchDevices } from './support/tiny-engine';
import { referenceLens as lensOf } from './support/reference-cases';

// ---------------------------------------------------------------------------------------------
// The state classes on the GPU

const config = gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 16, nCtx: 32, vocabSize: 50257 });
/** Sharp attention, and ln_f scaled up so that the lens's distributions are peaked (see lens.test.ts). */
const weights: Gpt2Weights = peakyWeights(config, 17);
const files = () => pickedFiles(weights);
const V = config.vocabSize;
const L = config.nLayer;

/** Reference logits [T, V] at every residual boundary (residualBoundaries order). */
const referenceLens = (tokens: number[], ablate?: Ablation): Float32Array[] =>
  lensOf(weights, tokens, ablate ? { ablate } : {});

/**
 * Checks a top-k against a reference row's softmax: probabilities within 1e-4, ids wherever the
 * neighbouring reference probabilities differ by more than that. Returns how many ids were clear.
 */
function expectTopK(
  got: readonly { id: number; p: number }[],
  logits: ArrayLike<number>,
  what: string,
): number {
  const p = softmax(logits);
  const order = Array.from(p.keys())
    .sort((a, b) => p[b]! - p[a]!)
    .slice(0, got.length + 1);
  let clearIds = 0;
  got.forEach((e, i) => {
    expect(Math.abs(e.p - p[e.id]!), `${what}: p of ${e.id}`).toBeLessThanOrEqual(1e-4);
    const clear =
      (i === 0 || p[order[i - 1]!]! - p[order[i]!]! > 1e-4) && p[order[i]!]! - p[order[i + 1]!]! > 1e-4;
    if (clear) {
      expect(e.id, `${what}: #${i}`).toBe(order[i]);
      clearIds++;
    }
  });
  return clearIds;
}

let gpuApi: GPU;
let studio: Studio;
beforeAll(async () => {
  gpuApi = await nodeGpuApi();
  studio = new Studio({ gpu: () => gpuApi, environment: () => 'Node' });
  expect(await studio.start()).toBe(true);
  expect(await studio.loadModel({ kind: 'files', files: files() })).toBe(true);
});
afterAll(() => studio?.dispose());

describe('LogitLens on the engine', () => {
  test('the lens at every boundary and tracked tokens match the reference; runs supersede', async () => {
    const run = new PromptRun(studio, 'The capital of France is');
    const lens = new LogitLens(studio, run);
    try {
      expect(lensFor(studio, run)).not.toBe(lens); // lensFor keeps its own per source
      expect(lensFor(studio, run)).toBe(lensFor(studio, run));
      // Two requests while nothing has started: one run, of the newest tokens.
      const first = lens.update([464, 3139]);
      const second = lens.update(run.tokens);
      expect(second).toBe(first);
      await second;
      expect(lens.error).toBeUndefined();
      const tokens = [...run.tokens];
      const T = tokens.length;
      expect(lens.result?.tokens).toEqual(tokens);

      // The grid: 2L+1 rows, each cell's top-k against the reference lens.
      const ref = referenceLens(tokens);
      const rows = lens.rows;
      expect(rows.map((r) => r.name)).toEqual(residualBoundaries(L).map(hookName));
      expect(rows.at(-1)!.final).toBe(true);
      let checked = 0;
      let clearIds = 0;
      for (const row of rows) {
        for (const cell of row.cells) {
          const logits = ref[row.point]!.subarray(cell.position * V, (cell.position + 1) * V);
          clearIds += expectTopK(cell.top, logits, `${row.name} t${cell.position}`);
          checked++;
        }
      }
      expect(checked).toBe((2 * L + 1) * T);
      expect(clearIds).toBeGreaterThan(checked * 3); // most of the 5 ids of each cell
      // The top token changes with depth somewhere (the grid is not one token repeated).
      expect(new Set(rows.map((r) => r.cells[T - 1]!.top[0]!.id)).size).toBeGreaterThan(1);

      // Tracking: a refused multi-token text, its suggestion taken, and a valid token.
      const refused = lens.addToken(' Parisian');
      expect(refused.ok).toBe(false);
      expect(lens.pick?.ok === false && lens.pick.suggestion?.id).toBe(6342);
      lens.acceptSuggestion();
      expect(lens.pick).toBeUndefined();
      const top = rows.at(-1)!.cells[T - 1]!.top[0]!.id; // the model's own prediction
      expect(lens.addTokenId(top)).toBeUndefined();
      expect(lens.addToken('Paris')).toMatchObject({ ok: true, id: 40313 }); // valid, with a hint
      expect(lens.pick?.ok && lens.pick.hint).toMatch(/different token/);
      await lens.syncTrack();
      expect(lens.trackError).toBeUndefined();
      expect(lens.tracked.map((t) => t.id)).toEqual([6342, top, 40313]);
      expect(lens.series).toHaveLength(3);
      for (const position of [T - 1, 0]) {
        lens.position = position === T - 1 ? undefined : position;
        expect(lens.shownPosition).toBe(position);
        for (const s of lens.series) {
          s.prob.forEach((p, point) => {
            const row = ref[point]!.subarray(position * V, (position + 1) * V);
            expect(Math.abs(p - softmax(row)[s.id]!), `${s.id} at ${point}`).toBeLessThanOrEqual(1e-4);
            expectRank(s.rank[point]!, row, s.id);
          });
        }
      }
      // The model's prediction is ranked first at the final point, last position.
      lens.position = undefined;
      expect(lens.series[1]!.rank.at(-1)).toBe(0);

      // A new prompt re-runs and re-tracks; the series follow it.
      run.text = 'Hello world, hello';
      await lens.update(run.tokens);
      expect(lens.track?.T).toBe(run.tokens.length);
      const ref2 = referenceLens([...run.tokens]);
      const T2 = run.tokens.length;
      const s0 = lens.series[0]!;
      s0.prob.forEach((p, point) => {
        const row = ref2[point]!.subarray((T2 - 1) * V, T2 * V);
        expect(Math.abs(p - softmax(row)[s0.id]!)).toBeLessThanOrEqual(1e-4);
      });

      // The list is bounded, and removing a token re-tracks without a run.
      for (let id = 100; lens.tracked.length < maxTrackedTokens; id++)
        expect(lens.addTokenId(id)).toBeUndefined();
      expect(lens.addTokenId(99)).toMatch(/At most 16 tokens/);
      lens.removeToken(6342);
      await lens.syncTrack();
      expect(lens.track?.ids).toEqual(lens.tracked.map((t) => t.id));
      expect(lens.addTokenId(V)).toMatch(/outside this model's vocabulary/);

      // A prompt longer than the context: a clear error, the last result kept.
      await lens.update(Array.from({ length: config.nCtx + 1 }, () => 262));
      expect(lens.error).toMatch(/33 tokens but the model's context is 32/);
      expect(lens.result?.tokens).toEqual([...run.tokens]);
    } finally {
      lens.dispose();
      run.dispose();
    }
  });
});

/**
 * The real Dawn GPU, whose devices count the command encoders they make by label. A forward pass
 * is one command buffer labelled 'forward' (PromptSession.run): the count is every forward run on
 * the device, by any session (a lens with a session of its own would show up here).
 */
function encoderCountingGpu(real: GPU, counts: Map<string, number>): GPU {
  return watchDevices(real, (device) => {
    const make = device.createCommandEncoder;
    device.createCommandEncoder = (d?: GPUCommandEncoderDescriptor) => {
      const label = d?.label ?? '';
      counts.set(label, (counts.get(label) ?? 0) + 1);
      return make.call(device, d);
    };
  });
}

describe('the lens panel reads the prompt’s own run', () => {
  test('one forward per prompt change with the lens shown, its numbers as the reference', async () => {
    const counts = new Map<string, number>();
    const forwards = () => counts.get('forward') ?? 0;
    const own = new Studio({ gpu: () => encoderCountingGpu(gpuApi, counts), environment: () => 'Node' });
    try {
      expect(await own.start()).toBe(true);
      expect(await own.loadModel({ kind: 'files', files: files() })).toBe(true);
      const run = new PromptRun(own, 'The capital of France is');
      const lens = lensFor(own, run);

      /** The grid against the reference lens of the run's tokens, and the run it came from. */
      const expectLens = () => {
        const tokens = [...run.tokens];
        expect(lens.result?.tokens).toEqual(tokens);
        expect(lens.result?.lens).toBe(run.lensResult!.lens); // the prompt's run, not a copy or another
        const ref = referenceLens(tokens);
        let cells = 0;
        let clearIds = 0;
        for (const row of lens.rows) {
          for (const cell of row.cells) {
            const logits = ref[row.point]!.subarray(cell.position * V, (cell.position + 1) * V);
            clearIds += expectTopK(cell.top, logits, `${row.name} t${cell.position}`);
            cells++;
          }
        }
        expect(cells).toBe((2 * L + 1) * tokens.length);
        expect(clearIds).toBeGreaterThan(cells * 3);
        // Tracked tokens: probability and rank at every point, last position.
        const T = tokens.length;
        expect(lens.series).toHaveLength(lens.tracked.length);
        for (const s of lens.series) {
          s.prob.forEach((p, point) => {
            const row = ref[point]!.subarray((T - 1) * V, T * V);
            expect(Math.abs(p - softmax(row)[s.id]!), `${s.id} at ${point}`).toBeLessThanOrEqual(1e-4);
            expectRank(s.rank[point]!, row, s.id);
          });
        }
      };

      // Before the panel: the studio's run reads every resid_pre and the final resid_post only.
      await run.run(run.tokens);
      expect(forwards()).toBe(1);
      expect(run.lensResult!.lens.points).toHaveLength(L + 1);
      expect(lens.result).toBeUndefined();

      // The panel opens: that result has no lens at every boundary, so the prompt runs once more.
      const runs0 = debugCounters.runs;
      const detach = lens.attach();
      await lens.update(); // shares the run attach() asked for
      expect(forwards()).toBe(2);
      expect(debugCounters.runs - runs0).toBe(1); // that forward was the prompt's run
      expect(run.lensResult!.lens.points).toEqual(residualBoundaries(L));
      const top = lens.rows.at(-1)!.cells.at(-1)!.top[0]!.id;
      expect(lens.addTokenId(top)).toBeUndefined();
      expect(lens.addTokenId(6342)).toBeUndefined();
      await lens.syncTrack(); // tracking reads the run's lens stack again: no forward
      expect(forwards()).toBe(2);
      expect(counts.get('track tokens')).toBe(1);
      expectLens();

      // Prompt changes as the studio makes them (App.svelte runs the prompt; in the browser the
      // panel's effect re-tracks on the new result): one forward each, the lens and track follow.
      for (const [i, text] of ['Hello world, hello', 'When Mary and John went'].entries()) {
        run.text = text;
        await run.run(run.tokens);
        await lens.syncTrack();
        expect(forwards()).toBe(3 + i);
        expectLens();
      }
      expect(lens.series.find((s) => s.id === top)).toBeDefined();

      // Compare mode stays per prompt: another prompt's run keeps the cheaper lens, and its own
      // lens panel state is another object.
      const other = new PromptRun(own, 'The capital of Italy is');
      await other.run(other.tokens);
      expect(other.lensResult!.lens.points).toHaveLength(L + 1);
      expect(lensFor(own, other)).not.toBe(lens);
      expect(lensFor(own, other).result).toBeUndefined();
      other.dispose();
      expect(forwards()).toBe(5);

      // The panel closes: the next run reads the cheaper lens again; the panel has nothing to show.
      detach();
      run.text = 'The capital of France is';
      await run.run(run.tokens);
      expect(forwards()).toBe(6);
      expect(run.lensResult!.lens.points).toHaveLength(L + 1);
      expect(lens.result).toBeUndefined();
      expect(lens.track).toBeUndefined();
      // Opened again: one run, and the tracked tokens are tracked on it.
      const again = lens.attach();
      await lens.update();
      expect(forwards()).toBe(7);
      expectLens();
      again();
      lens.dispose();
      run.dispose();
    } finally {
      own.dispose();
    }
  });
});

const argmax = (row: ArrayLike<number>) => {
  let best = 0;
  for (let v = 1; v < row.length; v++) if (row[v]! > row[best]!) best = v;
  return best;
};

/** A rank against a reference row: exact up to vocabulary entries within 1e-4·max|logit|. */
function expectRank(rank: number, row: ArrayLike<number>, id: number) {
  const eps = 1e-4 * maxAbs(row);
  let above = 0;
  let tied = 0;
  for (let v = 0; v < row.length; v++) {
    if (v === id) continue;
    if (row[v]! > row[id]! + eps) above++;
    else if (row[v]! > row[id]! - eps) tied++;
  }
  expect(rank).toBeGreaterThanOrEqual(above);
  expect(rank).toBeLessThanOrEqual(above + tied);
}

describe('AblationLab on the engine', () => {
  const prompt = 'When Mary and John went to the store, John gave a drink to';
  let run: PromptRun;
  let lab: AblationLab;
  beforeAll(() => {
    run = new PromptRun(studio, prompt);
    lab = ablationFor(studio, run);
  });
  afterAll(() => {
    lab?.dispose();
    run?.dispose();
  });

  test.each(['zero', 'mean'] as const)(
    '%s ablation: before/after top-k, the merged rows and the logit difference match the reference',
    async (mode) => {
      const tokens = [...run.tokens];
      const T = tokens.length;
      lab.clear();
      expect(lab.empty).toBe(true);
      await lab.run();
      expect(lab.error).toBe('Choose at least one head or MLP to ablate.');
      lab.toggleHead(1, 0);
      lab.toggleHead(0, 1);
      lab.toggleMlp(1);
      lab.mode = mode;
      expect(lab.ablatedHeads).toEqual([
        { layer: 0, head: 1 },
        { layer: 1, head: 0 },
      ]);
      expect(lab.isHeadAblated(1, 0) && lab.isMlpAblated(1) && !lab.isHeadAblated(1, 1)).toBe(true);
      const ablate: Ablation = { heads: lab.ablatedHeads, mlps: [1], mode };
      await lab.run();
      expect(lab.error).toBeUndefined();
      const o = lab.outcome!;
      expect(o.tokens).toEqual(tokens);
      expect(o.ablation).toEqual({ ...ablate, heads: [...ablate.heads] });
      expect(lab.stale).toBeUndefined();

      const clean = referenceForward(weights, tokens).logits.subarray((T - 1) * V, T * V);
      const ablated = referenceForward(weights, tokens, { ablate }).logits.subarray((T - 1) * V, T * V);
      // The top-1 on each side is clear, and checked by id.
      expect(expectTopK(o.before, clean, 'before')).toBeGreaterThanOrEqual(1);
      expect(expectTopK(o.after, ablated, 'after')).toBeGreaterThanOrEqual(1);
      expect(o.before[0]!.id).toBe(argmax(clean));
      expect(o.after[0]!.id).toBe(argmax(ablated));
      const pClean = softmax(clean);
      const pAblated = softmax(ablated);
      for (const r of o.rows) {
        expect(Math.abs(r.before - pClean[r.id]!), `before ${r.id}`).toBeLessThanOrEqual(1e-4);
        expect(Math.abs(r.after - pAblated[r.id]!), `after ${r.id}`).toBeLessThanOrEqual(1e-4);
        expect(r.delta).toBe(r.after - r.before);
      }
      expect(o.rows.length).toBeGreaterThanOrEqual(o.before.length);
      // The ablation moved the prediction well beyond the tolerance.
      expect(Math.max(...o.rows.map((r) => Math.abs(r.delta)))).toBeGreaterThan(0.01);

      // The logit difference of " Mary" − " John", read from the logits, before and after.
      const [a, b] = [5335, 1757];
      const pair = lab.pair!;
      expect([pair.a.id, pair.b.id]).toEqual([a, b]);
      const tol = (row: ArrayLike<number>) => 1e-4 * maxAbs(row);
      expect(Math.abs(pair.before.diff - (clean[a]! - clean[b]!))).toBeLessThanOrEqual(tol(clean));
      expect(Math.abs(pair.after.diff - (ablated[a]! - ablated[b]!))).toBeLessThanOrEqual(tol(ablated));
      expect(Math.abs(pair.before.logitA - clean[a]!)).toBeLessThanOrEqual(tol(clean));
      expect(Math.abs(pair.after.logitB - ablated[b]!)).toBeLessThanOrEqual(tol(ablated));
      expect(Math.abs(pair.before.probA - pClean[a]!)).toBeLessThanOrEqual(1e-4);
      expect(Math.abs(pair.after.probB - pAblated[b]!)).toBeLessThanOrEqual(1e-4);
      expect(Math.abs(pair.after.diff - pair.before.diff)).toBeGreaterThan(100 * tol(clean));

      // Another pair on the same runs (no forward): " the" − " store".
      await lab.setPair(' the', ' store');
      const [c, d] = [262, 3650];
      expect(lab.pair?.a.id).toBe(c);
      expect(Math.abs(lab.pair!.after.diff - (ablated[c]! - ablated[d]!))).toBeLessThanOrEqual(tol(ablated));
      expect(Math.abs(lab.pair!.before.diff - (clean[c]! - clean[d]!))).toBeLessThanOrEqual(tol(clean));
      // A pair text that is not one token: a message naming it, no numbers.
      await lab.setPair(' Parisian', ' John');
      expect(lab.pair).toBeUndefined();
      expect(lab.pairError).toMatch(/^Token A: " Parisian" is 2 tokens/);
      await lab.setPair(' Mary', ' John');

      // Changing the selection or the prompt marks the outcome stale.
      lab.toggleHead(0, 0);
      expect(lab.stale).toBe('selection');
      lab.toggleHead(0, 0);
      expect(lab.stale).toBeUndefined();
      run.text = `${prompt} the`;
      expect(lab.stale).toBe('prompt');
      run.text = prompt;
    },
  );
});
