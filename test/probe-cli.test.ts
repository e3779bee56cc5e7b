// `npm run probe` end to end: the CLI run as a child process on a tiny random-weight model folder and
// a small JSON dataset, its numbers checked against probes fitted here on the CPU reference
// forward's residual stream (same split, same fit), and its errors for bad datasets and options.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ProbeJson } from '../src/cli/probe';
import { parseDatasetJson, prepareProbeInputs } from '../src/instruments/probe-data';
import { mulberry32 } from '../src/model/random';
import {
  fitProbes,
  majorityBaseline,
  stratifiedSplit,
  type ProbeFitResult,
} from '../src/instruments/probe-fit';
import { readableDepth } from '../src/instruments/probe-readable';
import { gpt2Config } from '../src/model/fixtures';
import { referenceForward } from '../src/model/reference';
import { runCli } from './support/cli';
import { gpt2Tokenizer, tinyWeights, writeModelFolder } from './support/tiny-models';

const cli = (args: string[]) => runCli('src/cli/probe.ts', args, 64 * 2 ** 20);

// The real vocabulary, so that the GPT-2 tokenizer's ids fit; tiny otherwise (D = 8, so that the
// probes do not separate every training set). nCtx 16 leaves out the one long example below.
const config = gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 8, nCtx: 16, vocabSize: 50257 });
const weights = tinyWeights(config, 7);
const tokenizer = gpt2Tokenizer();

// 3 labels × 12 examples: 6 words per label, each in 2 sentences (so a held-out word may have been
// seen in training, in the other sentence), plus one example whose target lies beyond the context.
const words = {
  animal: ['cat', 'horse', 'rabbit', 'sheep', 'dog', 'mouse'],
  colour: ['red', 'green', 'yellow', 'purple', 'blue', 'orange'],
  number: ['seven', 'twelve', 'forty', 'hundred', 'three', 'nine'],
};
const templates = ['I thought about the word {}.', 'She wrote {} on the board'];
const examples = [
  ...Object.entries(words).flatMap(([label, ws]) =>
    ws.flatMap((w) => templates.map((t) => ({ text: t.replace('{}', w), target: w, label }))),
  ),
  {
    text: 'This sentence is long enough that its final word lies well past the context, namely horse.',
    target: 'horse',
    label: 'animal',
  },
];
const datasetJson = JSON.stringify({ name: 'tiny-words', labels: Object.keys(words), examples });

let dir: string;
let model: string;
let datasetFile: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'strata-probe-'));
  model = writeModelFolder(join(dir, 'tiny-gpt2'), weights);
  datasetFile = join(dir, 'tiny-words.json');
  writeFileSync(datasetFile, datasetJson);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const modelAndData = () => ['--model', model, '--dataset', datasetFile];

type Accuracies = [heldOut: number, train: number][];
const accuracies = (fit: ProbeFitResult): Accuracies =>
  fit.layers.map((l) => [l.heldOutAccuracy, l.trainAccuracy]);

/**
 * What the CLI should find: probes fitted on the CPU reference forward's residual stream, on the
 * same split. The GPU's features equal the reference's within 1e-4 × the stream's largest value
 * (probes.test.ts); checked here: moving every reference feature by up to that much, in several
 * random directions, moves no prediction, so the CLI's accuracies must equal these exactly.
 */
function expected(bos: boolean, seed: number, trainFraction: number, json = datasetJson) {
  const dataset = parseDatasetJson(json, 'tiny-words.json');
  const { inputs, labels, groups, skipped } = prepareProbeInputs(dataset, tokenizer, {
    bos,
    nCtx: config.nCtx,
  });
  const { nLayer: L, nEmbd: D } = config;
  const N = inputs.length;
  const data = new Float32Array((L + 1) * N * D);
  const scale = new Array<number>(L + 1).fill(0);
  for (const [n, { tokens, position }] of inputs.entries()) {
    const ref = referenceForward(weights, tokens);
    [...ref.residPre, ref.residPost].forEach((stream, p) => {
      data.set(stream.subarray(position * D, (position + 1) * D), (p * N + n) * D);
      scale[p] = stream.reduce((m, v) => Math.max(m, Math.abs(v)), scale[p]!);
    });
  }
  const fitOn = (x: Float32Array) =>
    fitProbes({ data: x, points: L + 1, examples: N, width: D }, labels, 3, { seed, trainFraction, groups });
  const fit = fitOn(data);
  for (let trial = 0; trial < 8; trial++) {
    const random = mulberry32(1000 + trial);
    const moved = data.map((v, i) => v + (2 * random() - 1) * 1e-4 * scale[Math.floor(i / (N * D))]!);
    expect(accuracies(fitOn(moved)), 'the fit is sensitive at the feature tolerance').toEqual(
      accuracies(fit),
    );
  }
  const { train, heldOut } = stratifiedSplit(labels, 3, trainFraction, seed);
  return { fit, skipped, train, heldOut, baseline: majorityBaseline(labels, 3, train, heldOut) };
}

describe('npm run probe', () => {
  test('one row per depth, accuracies equal to probes fitted on the CPU reference forward', async () => {
    const out = join(dir, 'probe.json');
    const r = await cli([...modelAndData(), '--no-bos', '--seed', '2', '--out', out]);
    expect(r.stderr).toBe(`wrote ${out}: 3 points, 36 examples\n`);
    expect(r.code).toBe(0);
    const json = JSON.parse(readFileSync(out, 'utf8')) as ProbeJson;
    const want = expected(false, 2, 0.75);

    expect(json.model).toEqual({ name: 'tiny-gpt2', n_layer: 2, n_embd: 8, n_ctx: 16 });
    expect(json.dataset).toEqual({
      name: 'tiny-words',
      file: datasetFile,
      labels: ['animal', 'colour', 'number'],
    });
    expect([json.bos, json.seed, json.train_fraction]).toEqual([false, 2, 0.75]);
    // 12 per label: round(0.25 · 12) = 3 of each held out; the long example (index 36) left out.
    expect(want.skipped).toBe(1);
    expect(json.examples).toEqual({ used: 36, train: 27, held_out: 9, left_out: 1, left_out_indices: [36] });
    expect(json.examples.train).toBe(want.train.length);
    expect(json.examples.held_out).toBe(want.heldOut.length);

    // The baseline from the same split, computed here (a tie on the training side: the first label).
    expect(want.baseline.label).toBe(0);
    expect(json.baseline).toEqual({ label: 'animal', accuracy: want.baseline.accuracy });
    expect(want.baseline.accuracy).toBeCloseTo(1 / 3, 12);

    expect(json.points.map((p) => p.name)).toEqual([
      'blocks.0.hook_resid_pre',
      'blocks.1.hook_resid_pre',
      'blocks.1.hook_resid_post',
    ]);
    for (const p of json.points)
      for (const a of [p.held_out_accuracy, p.train_accuracy]) {
        expect(a).toBeGreaterThanOrEqual(0);
        expect(a).toBeLessThanOrEqual(1);
      }
    // Exactly the reference's (see expected()); they differ across depth, so a wrong point or
    // position would show.
    const got: Accuracies = json.points.map((p) => [p.held_out_accuracy, p.train_accuracy]);
    expect(got).toEqual(accuracies(want.fit));
    expect(new Set(got.map((a) => a.join())).size).toBeGreaterThan(1);
    expect(json.points.map((p) => p.converged)).toEqual(want.fit.layers.map((l) => l.converged));
    expect(Math.max(...got.map((a) => a[0]))).toBeGreaterThan(want.baseline.accuracy);
    expect(json.seconds.capture).toBeGreaterThan(0);

    // The table on stdout has the same numbers.
    expect(r.stdout).toContain(`dataset: tiny-words, 3 labels (${datasetFile})`);
    expect(r.stdout).toContain(
      'model: tiny-gpt2 (2 layers, d_model 8), without <|endoftext|> first, seed 2, train fraction 0.75',
    );
    expect(r.stdout).toContain('examples: 36 used (27 train, 9 held out), 1 left out');
    for (const point of json.points) {
      const row = r.stdout.split('\n').find((l) => l.startsWith(point.name + ' '));
      expect(row, point.name).toBeDefined();
      expect(row!.trim().split(/\s+/).slice(1)).toEqual(
        [point.held_out_accuracy, point.train_accuracy, json.baseline.accuracy].map((x) => x.toFixed(3)),
      );
    }
  });

  test('<|endoftext|> first by default; --seed and --train-fraction set the split', async () => {
    const out = join(dir, 'probe-half.json');
    const r = await cli([...modelAndData(), '--seed', '1', '--train-fraction', '0.5', '--out', out]);
    expect(r.code).toBe(0);
    const json = JSON.parse(readFileSync(out, 'utf8')) as ProbeJson;
    const want = expected(true, 1, 0.5);
    expect([json.bos, json.seed, json.train_fraction]).toEqual([true, 1, 0.5]);
    expect(json.examples).toMatchObject({ used: 36, train: 18, held_out: 18, left_out: 1 });
    expect(json.baseline.accuracy).toBe(want.baseline.accuracy);
    const got: Accuracies = json.points.map((p) => [p.held_out_accuracy, p.train_accuracy]);
    expect(got).toEqual(accuracies(want.fit));
    expect(new Set(got.map((a) => a.join())).size).toBeGreaterThan(1);
  });

  test('groups: whole groups held out, the split and the first-90% depth in the JSON and the table', async () => {
    // Each word's two sentences are one group: 18 groups, round(0.25 · 18) = 5 held out whole.
    const grouped = JSON.stringify({
      name: 'tiny-words',
      labels: Object.keys(words),
      examples: examples.slice(0, 36).map((e, i) => ({ ...e, group: `w${i >> 1}` })),
    });
    const file = join(dir, 'grouped.json');
    writeFileSync(file, grouped);
    const out = join(dir, 'probe-grouped.json');
    const r = await cli(['--model', model, '--dataset', file, '--seed', '3', '--out', out]);
    expect(r.code).toBe(0);
    const json = JSON.parse(readFileSync(out, 'utf8')) as ProbeJson;
    const want = expected(true, 3, 0.75, grouped);
    expect(json.split).toEqual({ by: 'group', train_groups: 13, held_out_groups: 5 });
    expect(want.fit.groups).toEqual({ train: 13, heldOut: 5 });
    expect(json.examples).toMatchObject({ used: 36, train: 26, held_out: 10 });
    const got: Accuracies = json.points.map((p) => [p.held_out_accuracy, p.train_accuracy]);
    expect(got).toEqual(accuracies(want.fit));
    const readable = readableDepth(
      json.points.map((p) => p.held_out_accuracy),
      json.baseline.accuracy,
    );
    expect(json.readable).toEqual(
      readable
        ? {
            point: readable.depth,
            name: json.points[readable.depth]!.name,
            held_out_accuracy: readable.accuracy,
            share: 0.9,
          }
        : null,
    );
    expect(r.stdout).toContain('split by group: 13 groups train, 5 held out whole');
    expect(r.stdout).toContain(
      readable
        ? `linearly readable from ${json.points[readable.depth]!.name} (the first depth with 90%`
        : 'no depth beats',
    );
    // Without groups: stratified by label.
    const plain = JSON.parse(readFileSync(join(dir, 'probe.json'), 'utf8')) as ProbeJson;
    expect(plain.split).toEqual({ by: 'label' });
  });

  test('bad datasets and options: non-zero exit, the reason on stderr', async () => {
    const gone = join(dir, 'nope.csv');
    // Line 3 has a comma outside quotes: the CSV parser's message, with the file and the line.
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 'text,label\nthe cat sat,animal\nred, green and blue,colour\n');
    // Independent processes: run together.
    const [unknown, missing, csv, fraction, seed, none] = await Promise.all([
      cli(['--model', model, '--dataset', 'brown-nouns']),
      cli(['--model', model, '--dataset', gone]),
      cli(['--model', model, '--dataset', bad]),
      cli(['--model', model, '--dataset', datasetFile, '--train-fraction', '1']),
      cli(['--model', model, '--dataset', datasetFile, '--seed', '1.5']),
      cli(['--model', model]),
    ]);

    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(
      'probe failed: unknown dataset "brown-nouns": give a shipped dataset (brown-pos, vader-sentiment, ' +
        'entity-types, subject-number, subordinate-clause) or a path to a .json or .csv file',
    );
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`probe failed: ${gone}: no such file`);
    expect(csv.code).toBe(1);
    expect(csv.stderr).toContain(
      `probe failed: ${bad}, line 3: 3 fields, the header has 2 (quote a text that contains commas: "like, this")`,
    );
    expect(csv.stdout).toBe('');

    // Option syntax: exit 2, with the usage.
    expect(fraction.code).toBe(2);
    expect(fraction.stderr).toContain(
      '--train-fraction must be a number between 0 and 1 (exclusive), got "1"',
    );
    expect(fraction.stderr).toContain('usage: npm run probe');
    expect(seed.code).toBe(2);
    expect(seed.stderr).toContain('--seed must be an integer in [0, 2^32), got "1.5"');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--dataset is required');
  });

  test('a model whose stream overflows: no probe is fitted, and the exit is non-zero', async () => {
    const huge = tinyWeights(weights.config, 3);
    for (const block of huge.blocks) (block.mlpProj.bias.data as Float32Array).fill(3e38);
    const overflow = writeModelFolder(join(dir, 'overflow'), huge);
    const r = await cli(['--model', overflow, '--dataset', datasetFile]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /probe failed: the residual stream is not finite at blocks\.\d\.hook_resid_\w+ for example \d+: the model overflows on this dataset/,
    );
    expect(r.stdout).toBe('');
  });
});
