// The middle-layer detectors on the GPU (shaders/instruments/detect_mass_terms.wgsl,
// detect_mass_slots.wgsl, src/instruments/middle-detectors.ts), in Node through Dawn.
//
// (a) Hand-built patterns with scores known in closed form (a syntactic head, a coreference head
//     75/25, an aggregation head, a punctuation-sink head, a previous-token head, a uniform head and
//     a pure sink), written into a capture texture of each format with stale garbage in the masked
//     and out-of-prompt cells. Against the closed forms: f32 1e-6, f16 1e-3, 8-bit √p 5e-3 (as the
//     detectors' tests: |Δp| ≤ 4e-3 per value); against the CPU oracle on the decoded values 1e-5
//     in every format (f32 sums of up to T values against f64).
// (b) A random GPT-2 (GPT-2's vocabulary, so the datasets' real tokens run) and the bundled model,
//     through the real engine on the shipped datasets: GPU scores against the oracle applied to
//     referenceForward's f64 patterns within 2e-5 (the detectors' stated tolerance: the captures are
//     within 1e-5 per value), and the prompt's aggregation and punctuation sink the same way.
// (c) Head labels over both families (a middle kind wins only above the threshold and the
//     detectors' best; ties to the detectors; NaN never) and where each middle pattern peaks.
import { describe, expect, test } from 'vitest';
import type { CaptureFormat } from '../src/gpu/kernels';
import { datasetSpecs, measureMiddle, MiddleScorer, promptSpec } from '../src/instruments/middle-detectors';
import { sessionPatterns } from '../src/instruments/detectors';
import { dominantLabels, labelValue } from '../src/instruments/head-labels';
import { middlePeaks, peakPhrase } from '../src/instruments/middle-evidence';
import { referenceMiddleScores } from '../src/instruments/middle-reference';
import {
  isSeparatorText,
  middleDetectors,
  middlePlan,
  type MiddleScores,
  type MiddleSpec,
} from '../src/instruments/middle-scores';
import { f16ToF32, f32ToF16 } from '../src/model/dtype';
import { gpt2Config } from '../src/model/fixtures';
import { openModel } from '../src/model/load';
import { referenceForward } from '../src/model/reference';
import { filesFromDirectory } from '../src/cli/node-source';
import { useGpu, useKernels, withEngine, loadEngine } from './support/tiny-engine';
import { gpt2Tokenizer, sharpWeights } from './support/tiny-models';

const gpu = useGpu();
const kernels = useKernels(gpu);

const C = 16; // capacity of the hand-made captures
const T = 13;
// Distinct offsets (3, 2, 4), so that no pair is another's baseline.
const relations = {
  modifier: [{ query: 5, key: 2 }],
  subject: [
    { query: 9, key: 7 },
    { query: 12, key: 8 },
  ],
};
const coreference = [{ query: 10, correct: 3, wrong: 6, cue: 'gender' as const }];
const punctuation = [4, 8, 11];
const spec: MiddleSpec = { relations, coreference, aggregation: true, punctuation };
const pairQueries = new Map<number, number>([
  [5, 2],
  [9, 7],
  [12, 8],
]);
const heads = ['syntax', 'coref', 'aggregate', 'punct', 'previous', 'uniform', 'sink'] as const;
const H = heads.length;

function handRow(head: (typeof heads)[number], t: number): Map<number, number> {
  const row = new Map<number, number>();
  switch (head) {
    case 'syntax':
      row.set(pairQueries.get(t) ?? 0, 1);
      break;
    case 'coref':
      if (t === 10) row.set(3, 0.75).set(6, 0.25);
      else row.set(0, 1);
      break;
    case 'aggregate':
      row.set(t >= 1 ? 1 : 0, 1);
      break;
    case 'punct': {
      const last = punctuation.filter((s) => s <= t).pop();
      row.set(last ?? 0, 1);
      break;
    }
    case 'previous':
      row.set(Math.max(0, t - 1), 1);
      break;
    case 'uniform':
      for (let s = 0; s <= t; s++) row.set(s, 1 / (t + 1));
      break;
    case 'sink':
      row.set(0, 1);
      break;
  }
  return row;
}

/** Closed forms: [syntax modifier, subject, coreference, coref strength, aggregation, punctuation]. */
const known: Record<(typeof heads)[number], Partial<Record<string, number>>> = {
  syntax: { modifier: 1, subject: 1, coreference: 0.5, corefStrength: 0 },
  coref: { modifier: 0, subject: 0, coreference: 0.75, corefStrength: 0.5, aggregation: 0.75 / (T - 1) },
  aggregate: { modifier: 0, coreference: 0.5, corefStrength: 0, aggregation: 1, aggregator: 1 },
  punct: { modifier: 0, subject: 0, punctuation: 1, aggregation: 4 / (T - 1), aggregator: 4 },
  previous: { modifier: 0, subject: 0, coreference: 0.5, aggregation: 1 / (T - 1), aggregator: 1 },
  uniform: { coreference: 0.5, corefStrength: 0, punctuation: 0 },
  sink: { modifier: 0, subject: 0, coreference: 0.5, corefStrength: 0, aggregation: 0, punctuation: 0 },
};

function handPattern(): Float32Array<ArrayBuffer> {
  const p = new Float32Array(H * C * C).fill(0.75);
  for (let h = 0; h < H; h++) {
    for (let t = 0; t < T; t++) {
      for (let s = 0; s <= t; s++) p[(h * C + t) * C + s] = 0;
      for (const [s, v] of handRow(heads[h]!, t)) p[(h * C + t) * C + s] = v;
    }
  }
  return p;
}

const encode8 = (v: number) => Math.round(Math.sqrt(Math.min(1, v)) * 255);
function stored(v: number, format: CaptureFormat): number {
  if (format === 'rgba32float') return Math.fround(v);
  if (format === 'rgba16float') return f16ToF32(f32ToF16(v));
  return (encode8(v) / 255) ** 2;
}

function captureTexture(p: Float32Array<ArrayBuffer>, format: CaptureFormat): GPUTexture {
  const texture = gpu.device.createTexture({
    label: `hand-made ${format}`,
    size: [C / 4, C, H],
    format,
    usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST,
  });
  const size = [C / 4, C, H];
  const q = gpu.device.queue;
  if (format === 'rgba32float') q.writeTexture({ texture }, p, { bytesPerRow: C * 4, rowsPerImage: C }, size);
  else if (format === 'rgba16float')
    q.writeTexture({ texture }, Uint16Array.from(p, f32ToF16), { bytesPerRow: C * 2, rowsPerImage: C }, size);
  else q.writeTexture({ texture }, Uint8Array.from(p, encode8), { bytesPerRow: C, rowsPerImage: C }, size);
  return texture;
}

function compact(p: Float32Array, format: CaptureFormat): Float64Array {
  const out = new Float64Array(H * T * T);
  for (let h = 0; h < H; h++)
    for (let t = 0; t < T; t++)
      for (let s = 0; s <= t; s++) out[(h * T + t) * T + s] = stored(p[(h * C + t) * C + s]!, format);
  return out;
}

function compare(got: MiddleScores, want: MiddleScores, tolerance: number, what: string): number {
  expect(got.counts).toEqual(want.counts);
  let worst = 0;
  for (const d of middleDetectors) {
    for (const field of ['scores', 'strength'] as const) {
      const g = got[field][d];
      const w = want[field][d];
      expect(g === undefined, `${what} ${d}`).toBe(w === undefined);
      if (!g || !w) continue;
      for (let i = 0; i < w.length; i++) {
        expect(Number.isNaN(g[i]!), `${what} ${field} ${d} head ${i}`).toBe(Number.isNaN(w[i]!));
        if (Number.isNaN(w[i]!)) continue;
        const diff = Math.abs(g[i]! - w[i]!);
        expect(diff, `${what} ${field} ${d} head ${i}: ${g[i]} vs ${w[i]}`).toBeLessThanOrEqual(tolerance);
        worst = Math.max(worst, diff);
      }
    }
  }
  return worst;
}

describe('(a) hand-built patterns with known scores', () => {
  const formats: [CaptureFormat, number][] = [
    ['rgba32float', 1e-6],
    ['rgba16float', 1e-3],
    ['rgba8unorm', 5e-3],
  ];
  test.each(formats)('%s: closed forms, and the oracle on the decoded values', async (format, tol) => {
    const p = handPattern();
    const texture = captureTexture(p, format);
    const scorer = new MiddleScorer(gpu.device, kernels());
    try {
      // Two layers: the same capture twice (each layer's slice is written).
      const got = await scorer.score([texture, texture], middlePlan(spec, T));
      expect([got.nLayer, got.nHead, got.T]).toEqual([2, H, T]);
      for (const [h, name] of heads.entries()) {
        for (const l of [0, 1]) {
          const i = l * H + h;
          for (const [k, v] of Object.entries(known[name])) {
            const value =
              k === 'corefStrength'
                ? got.strength.coreference![i]!
                : k === 'aggregator'
                  ? got.aggregator![i]!
                  : got.scores[k as 'modifier']![i]!;
            expect(Math.abs(value - v!), `${format} ${name} ${k}: ${value} vs ${v}`).toBeLessThanOrEqual(tol);
          }
        }
      }
      const decoded = compact(p, format);
      const want = referenceMiddleScores([decoded, decoded], H, T, spec);
      const worst = compare(got, want, 1e-5, format);
      expect([...got.aggregator!]).toEqual([...want.aggregator!]);
      console.log(`hand-made ${format}: worst |GPU − oracle| = ${worst.toExponential(2)}`);
    } finally {
      scorer.destroy();
      texture.destroy();
    }
  });

  test('scope: NaN without pairs or punctuation; bad positions refused clearly', async () => {
    const texture = captureTexture(handPattern(), 'rgba32float');
    const scorer = new MiddleScorer(gpu.device, kernels());
    try {
      const empty = { relations: { modifier: [] }, coreference: [], punctuation: [] };
      const got = await scorer.score([texture], middlePlan(empty, T));
      expect([...got.scores.modifier!].every(Number.isNaN)).toBe(true);
      expect([...got.scores.coreference!].every(Number.isNaN)).toBe(true);
      expect([...got.scores.punctuation!].every(Number.isNaN)).toBe(true);
      expect(() => middlePlan({ punctuation: [0] }, T)).toThrow('punctuation position 0 is outside');
      expect(() => middlePlan({ relations: { subject: [{ query: 3, key: 5 }] } }, T)).toThrow(
        "a relation's key 5 is not before its query 3",
      );
      expect(() =>
        middlePlan({ coreference: [{ query: 20, correct: 1, wrong: 2, cue: 'gender' }] }, T),
      ).toThrow('outside the sequence');
      await expect(scorer.score([texture], middlePlan({ aggregation: true }, 40))).rejects.toThrow(
        'fewer than the 40 tokens',
      );
    } finally {
      scorer.destroy();
      texture.destroy();
    }
    expect(isSeparatorText(',')).toBe(true);
    expect(isSeparatorText(' "')).toBe(true);
    expect(isSeparatorText('\n\n')).toBe(true);
    expect(isSeparatorText(' the')).toBe(false);
    expect(isSeparatorText(' 3')).toBe(false);
  });
});

describe('(b) the shipped datasets through the engine', () => {
  const tok = gpt2Tokenizer();
  const text = (id: number) => tok.decode([id]);

  async function check(
    engine: Awaited<ReturnType<typeof loadEngine>>,
    weights: Parameters<typeof referenceForward>[0],
    maxTokens: number,
  ) {
    const result = await measureMiddle(engine, tok, { maxTokens });
    const specs = datasetSpecs(result.datasets, text);
    const { nHead } = engine.config;
    let worst = 0;
    for (const name of ['syntax', 'coreference', 'passage'] as const) {
      const tokens = result.datasets[name].tokens;
      const ref = referenceForward(weights, [...tokens]);
      const want = referenceMiddleScores(ref.patterns, nHead, tokens.length, specs[name]);
      worst = Math.max(worst, compare(result[name], want, 2e-5, name));
      if (result[name].aggregator) expect([...result[name].aggregator!]).toEqual([...want.aggregator!]);
    }
    expect(result.forwards).toBe(3);
    // The prompt: aggregation and the punctuation sink on a session of its own.
    const prompt = [50256, ...tok.encode('The jury said, in a statement, that the city was ready. It was.')];
    const session = engine.createSession({ lens: 'final', captureFormat: 'rgba32float' });
    await session.run(prompt);
    const got = await new MiddleScorer(gpu.device, engine.kernels).score(
      sessionPatterns(session, engine.config.nLayer),
      middlePlan(promptSpec(prompt, text), prompt.length),
    );
    const ref = referenceForward(weights, prompt);
    worst = Math.max(
      worst,
      compare(
        got,
        referenceMiddleScores(ref.patterns, nHead, prompt.length, promptSpec(prompt, text)),
        2e-5,
        'prompt',
      ),
    );
    expect(got.counts.punctuation).toBeGreaterThan(5);
    session.destroy();
    return { result, worst };
  }

  test('a random GPT-2 (GPT-2 vocabulary): GPU = oracle on referenceForward within 2e-5', async () => {
    const config = gpt2Config({ nLayer: 2, nHead: 3, nEmbd: 24, nCtx: 64, vocabSize: 50257 });
    const weights = sharpWeights(config, 3);
    await withEngine(gpu, weights, async (engine) => {
      const { result, worst } = await check(engine, weights, 64);
      console.log(
        `random model: worst |GPU − oracle| = ${worst.toExponential(2)}; ${result.tokens} tokens, ${result.ms.toFixed(0)} ms`,
      );
      const all = Object.values(result.syntax.scores).flatMap((s) => [...s]);
      expect(all.some((v) => v > 0)).toBe(true); // not degenerate
    });
  });

  test('the bundled model: GPU = oracle within 2e-5; its measured scores', async () => {
    const model = await openModel(await filesFromDirectory('static/models/gpt2-brown-mini'));
    const weights = await model.checkpoint.loadWeights();
    const engine = await loadEngine(gpu, model.checkpoint);
    try {
      const { result, worst } = await check(engine, weights, 128);
      const fmt = (s: MiddleScores, d: (typeof middleDetectors)[number]) =>
        [...s.scores[d]!].map((v) => v.toFixed(2)).join(' ');
      console.log(
        `bundled model: worst |GPU − oracle| = ${worst.toExponential(2)}; ${result.forwards} forwards, ` +
          `${result.tokens} tokens, ${result.ms.toFixed(0)} ms\n` +
          `  modifier ${fmt(result.syntax, 'modifier')}\n  subject ${fmt(result.syntax, 'subject')}\n` +
          `  coreference ${fmt(result.coreference, 'coreference')}\n` +
          `  aggregation ${fmt(result.passage, 'aggregation')}\n  punctuation ${fmt(result.passage, 'punctuation')}`,
      );
    } finally {
      engine.dispose();
    }
  });
});

describe('labels and peaks over both families (CPU)', () => {
  const scores = (values: Record<string, number[]>) => {
    const s = {
      nLayer: 2,
      nHead: 2,
      scores: Object.fromEntries(
        ['previous', 'current', 'first', 'local', 'duplicate', 'induction'].map((d) => [
          d,
          Float64Array.from(values[d] ?? [0, 0, 0, 0]),
        ]),
      ),
    };
    return s as unknown as Parameters<typeof dominantLabels>[2];
  };

  test('a middle kind labels a head when its strength beats the detectors and the threshold', () => {
    const s = scores({ previous: [0.9, 0.3, 0.1, NaN], first: [0.5, 0.5, 0.2, 0.1] });
    const middle = {
      punctuation: Float64Array.from([0.95, 0.45, 0.3, NaN]),
      subject: Float64Array.from([0, 0.6, 0.39, 0.41]),
    };
    // Head 0: punctuation 0.95 > previous 0.9; head 1: subject 0.6 > first 0.5 > punct 0.45;
    // head 2: nothing reaches 0.4; head 3: subject 0.41 (NaN never wins).
    expect(dominantLabels(2, 2, s, middle, 0.4)).toEqual(['punctuation', 'subject', null, 'subject']);
    // Ties go to the detectors; without the datasets the detectors' labels stand.
    expect(dominantLabels(2, 2, s, { punctuation: Float64Array.from([0.9, 0, 0, 0]) }, 0.4)[0]).toBe(
      'previous',
    );
    expect(dominantLabels(2, 2, s, undefined, 0.4)).toEqual(['previous', 'first', null, null]);
    expect(dominantLabels(2, 2, undefined, middle, 0.4)).toEqual(['punctuation', 'subject', null, 'subject']);
    expect(labelValue(s, middle, 'subject', 1)).toBe(0.6);
    expect(labelValue(s, undefined, 'subject', 1)).toBeNaN();
  });

  test('peaks: the layer of the highest mean, the best head, and the sentence from those numbers', () => {
    const peaks = middlePeaks(
      {
        modifier: Float64Array.from([0.1, 0.2, 0.5, 0.3]),
        coreference: Float64Array.from([NaN, NaN, 0.2, 0.6]),
      },
      2,
      2,
    );
    expect(peaks.map((p) => [p.kind, p.layer, p.best.layer, p.best.head])).toEqual([
      ['modifier', 1, 1, 0],
      ['coreference', 1, 1, 1],
    ]);
    expect(peakPhrase(peaks[0]!)).toBe(
      'syntactic (noun → det/adj) heads peak at L1 (mean 0.40; best L1.H0 0.50)',
    );
    expect(peakPhrase(peaks[1]!)).toContain(
      'coreference heads (excess attention on the antecedent) peak at L1',
    );
  });
});
