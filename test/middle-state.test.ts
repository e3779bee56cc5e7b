// The middle-layer detectors' state (src/state/middle.svelte.ts) driving the real engine through a
// Studio in Node (Dawn on SwiftShader) on a tiny random GPT-2 with GPT-2's vocabulary: the shipped
// datasets measured once per engine (a second prompt's instruments get the same result object, a
// second request runs nothing), their scores and the prompt's against the CPU oracle on
// referenceForward's f64 patterns within 2e-5, the head labels over both families as
// dominantLabels computes them, and a new model measured afresh.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { dominantLabels } from '../src/instruments/head-labels';
import { datasetSpecs, promptSpec } from '../src/instruments/middle-detectors';
import { referenceMiddleScores } from '../src/instruments/middle-reference';
import { middleDetectors, type MiddleScores } from '../src/instruments/middle-scores';
import { gpt2Config } from '../src/model/fixtures';
import { referenceForward } from '../src/model/reference';
import type { Gpt2Weights } from '../src/model/types';
import { instrumentsFor } from '../src/state/instruments.svelte';
import type { Studio } from '../src/state/studio.svelte';
import { PromptRun } from '../src/state/prompt-run.svelte';
import { studioWith } from './support/tiny-engine';
import { gpt2Tokenizer, pickedFiles, sharpWeights } from './support/tiny-models';

const tokenizer = gpt2Tokenizer();
const text = (id: number) => tokenizer.decode([id]);
const config = gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 16, nCtx: 48, vocabSize: 50257 });
const tolerance = 2e-5;

function worst(got: MiddleScores, want: MiddleScores): number {
  let m = 0;
  for (const d of middleDetectors) {
    const g = got.scores[d];
    const w = want.scores[d];
    expect(g === undefined).toBe(w === undefined);
    if (g && w) for (let i = 0; i < w.length; i++) m = Math.max(m, Math.abs(g[i]! - w[i]!));
  }
  return m;
}

const oracle = (
  weights: Gpt2Weights,
  tokens: readonly number[],
  spec: Parameters<typeof referenceMiddleScores>[3],
) =>
  referenceMiddleScores(referenceForward(weights, [...tokens]).patterns, config.nHead, tokens.length, spec);

describe('MiddleDetectors (state) on the GPU', () => {
  const weights = sharpWeights(config, 5);
  const other = sharpWeights(config, 6);
  let studio: Studio;
  let run: PromptRun;

  beforeAll(async () => {
    studio = await studioWith(pickedFiles(weights));
    run = new PromptRun(studio, '');
  });
  afterAll(() => {
    instrumentsFor(studio, run).dispose();
    run?.dispose();
    studio?.dispose();
  });

  test('the datasets: measured once per engine, shared by every prompt, equal to the oracle', async () => {
    const middle = instrumentsFor(studio, run).middle;
    expect(middle.strengths()).toBeUndefined();
    await middle.syncDatasets();
    expect(middle.error).toBeUndefined();
    const result = middle.datasets!.result;
    expect(result.forwards).toBe(3);
    const specs = datasetSpecs(result.datasets, text);
    for (const name of ['syntax', 'coreference', 'passage'] as const) {
      expect(worst(result[name], oracle(weights, result.datasets[name].tokens, specs[name]))).toBeLessThan(
        tolerance,
      );
    }
    await middle.syncDatasets();
    expect(middle.datasets!.result).toBe(result); // not measured again
    const second = new PromptRun(studio, '');
    const theirs = instrumentsFor(studio, second).middle;
    await theirs.syncDatasets();
    expect(theirs.datasets!.result).toBe(result); // one measurement for both prompts
    instrumentsFor(studio, second).dispose();
    second.dispose();
  });

  test("the prompt's aggregation and punctuation sink after a run; labels over both families", async () => {
    const instruments = instrumentsFor(studio, run);
    const tokens = [50256, ...tokenizer.encode('The jury said, in a statement, that the city was ready.')];
    await run.run(tokens);
    await instruments.refresh();
    await instruments.middle.refresh();
    const got = instruments.middle.prompt!.scores;
    expect(worst(got, oracle(weights, tokens, promptSpec(tokens, text)))).toBeLessThan(tolerance);
    expect(got.counts.punctuation).toBeGreaterThan(5);
    const want = dominantLabels(
      config.nLayer,
      config.nHead,
      instruments.labelScores(),
      instruments.middle.strengths(),
      instruments.threshold,
    );
    expect(instruments.headLabels()).toEqual(want);
    // The same at another threshold (the labels follow it).
    instruments.threshold = 0;
    const low = instruments.headLabels();
    expect(low).toEqual(
      dominantLabels(
        config.nLayer,
        config.nHead,
        instruments.labelScores(),
        instruments.middle.strengths(),
        0,
      ),
    );
    instruments.threshold = 0.4;
  });

  test('a new model: the old datasets no longer label, the new one is measured', async () => {
    const middle = instrumentsFor(studio, run).middle;
    const before = middle.datasets!.result;
    expect(await studio.loadModel({ kind: 'files', files: pickedFiles(other) })).toBe(true);
    expect(middle.strengths()).toBeUndefined();
    await middle.syncDatasets();
    const after = middle.datasets!.result;
    expect(after).not.toBe(before);
    const specs = datasetSpecs(after.datasets, text);
    expect(worst(after.syntax, oracle(other, after.datasets.syntax.tokens, specs.syntax))).toBeLessThan(
      tolerance,
    );
  });
});
