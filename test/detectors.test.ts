// The head detectors and attention statistics on the GPU (shaders/instruments/detect_heads_rows.wgsl,
// shaders/instruments/detect_heads_reduce.wgsl, src/instruments/detectors.ts), in Node through Dawn.
//
// (a) Hand-built patterns with scores known in closed form (pure previous-token, pure sink, uniform
//     causal, pure current, a mixed 0.5/0.3/0.2 head, duplicate-token and induction heads, over
//     tokens with repeats), written into a capture texture of each format with stale garbage in the
//     masked and out-of-prompt cells. Against the closed forms: f32 within 1e-6; f16 within 1e-3
//     (f16 rounding, 2^-12 relative); 8-bit √p within 5e-3 (|Δp| ≤ 2·√p·(0.5/255) + (0.5/255)²
//     ≤ 4e-3 per value, partly undone by the row renormalization). Against the CPU oracle on the
//     same decoded values: 2e-6 in every format (f32 sums against f64).
// (b) A tiny random-weight GPT-2 through the real engine: GPU scores against the CPU oracle applied
//     to referenceForward's f64 patterns within 2e-5 (the captures are within 1e-5 of them per
//     value), with and without the exclusions; the f16 and 8-bit captures against the oracle on
//     what they hold (read back) within 2e-6, and on the f64 patterns within 2e-4 / 5e-3.
// (c) Induction: the [BOS] + R + R probe (seeded, distinct ids) run through a separate session,
//     every head's scores against the oracle on the reference forward of the same probe (2e-5);
//     an ideal induction pattern on the probe scores exactly 1.
import { beforeAll, describe, expect, test } from 'vitest';
import { KernelRegistry, type CaptureFormat } from '../src/gpu/kernels';
import { readTextureLayer } from '../src/gpu/readback';
import { viteShaders } from '../src/gpu/shaders-vite';
import { referenceHeadScores } from '../src/instruments/detectors-reference';
import { HeadScorer, measureInduction, scoreHeads, sessionPatterns } from '../src/instruments/detectors';
import {
  detectors,
  dominantDetectors,
  layerSpread,
  repeatedRandomTokens,
  type Detector,
  type DetectorOptions,
  type HeadScores,
} from '../src/instruments/head-scores';
import { f16ToF32, f32ToF16 } from '../src/model/dtype';
import { gpt2Config } from '../src/model/fixtures';
import { referenceForward } from '../src/model/reference';
import { useGpu, withEngine } from './support/tiny-engine';
import { randomTokens, sharpWeights } from './support/tiny-models';

const gpu = useGpu();
let kernels: KernelRegistry;
beforeAll(() => {
  kernels = new KernelRegistry(gpu.device, viteShaders);
});

// ---------------------------------------------------------------------------------------------
// Hand-built patterns

const C = 16; // capacity of the hand-made captures
const T = 13; // tokens scored (not a multiple of 4: a partial last texel)
// Repeats at 3 (of 0), 5 (of 1), 7 (of 0 and 3), 9 (of 2), 12 (of 1 and 5); none adjacent.
const tokens = [10, 11, 12, 10, 13, 11, 14, 10, 15, 12, 16, 17, 11];
const earlier = (t: number) => tokens.flatMap((id, s) => (s < t && id === tokens[t] ? [s] : []));
const heads = ['previous', 'sink', 'uniform', 'current', 'mixed', 'duplicate', 'induction'] as const;
const H = heads.length;

/** Row t of each hand-built head, as {key: weight} (keys ≤ t; each row sums to 1). */
function handRow(head: (typeof heads)[number], t: number): Map<number, number> {
  const row = new Map<number, number>();
  const spread = (keys: number[]) => {
    if (keys.length === 0) row.set(t, 1);
    for (const s of keys) row.set(s, 1 / keys.length);
  };
  switch (head) {
    case 'previous':
      row.set(Math.max(0, t - 1), 1);
      break;
    case 'sink':
      row.set(0, 1);
      break;
    case 'uniform':
      for (let s = 0; s <= t; s++) row.set(s, 1 / (t + 1));
      break;
    case 'current':
      row.set(t, 1);
      break;
    case 'mixed':
      if (t === 0) row.set(0, 1);
      else if (t === 1) row.set(0, 0.8).set(1, 0.2);
      else
        row
          .set(t - 1, 0.5)
          .set(0, 0.3)
          .set(t, 0.2);
      break;
    case 'duplicate':
      spread(earlier(t));
      break;
    case 'induction':
      spread(earlier(t).map((s) => s + 1));
      break;
  }
  return row;
}

/** [H, C, C]: the hand-built rows for t < T, garbage in masked cells and rows/columns ≥ T. */
function handPattern(
  rowOf: (h: number, t: number) => Map<number, number>,
  heads: number,
): Float32Array<ArrayBuffer> {
  const p = new Float32Array(heads * C * C).fill(0.75); // stale and masked cells: never to be read
  for (let h = 0; h < heads; h++) {
    for (let t = 0; t < T; t++) {
      for (let s = 0; s <= t; s++) p[(h * C + t) * C + s] = 0;
      for (const [s, v] of rowOf(h, t)) p[(h * C + t) * C + s] = v;
    }
  }
  return p;
}

/** What a capture of `format` holds for the weight v, decoded. */
function stored(v: number, format: CaptureFormat): number {
  if (format === 'rgba32float') return Math.fround(v);
  if (format === 'rgba16float') return f16ToF32(f32ToF16(v));
  return (Math.round(Math.sqrt(Math.min(1, v)) * 255) / 255) ** 2;
}

function captureTexture(p: Float32Array<ArrayBuffer>, heads: number, format: CaptureFormat): GPUTexture {
  const { device } = gpu;
  const texture = device.createTexture({
    label: `hand-made ${format}`,
    size: [C / 4, C, heads],
    format,
    usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST,
  });
  const size = [C / 4, C, heads];
  if (format === 'rgba32float') {
    device.queue.writeTexture({ texture }, p, { bytesPerRow: C * 4, rowsPerImage: C }, size);
  } else if (format === 'rgba16float') {
    const half = Uint16Array.from(p, f32ToF16);
    device.queue.writeTexture({ texture }, half, { bytesPerRow: C * 2, rowsPerImage: C }, size);
  } else {
    const bytes = Uint8Array.from(p, (v) => Math.round(Math.sqrt(Math.min(1, v)) * 255));
    device.queue.writeTexture({ texture }, bytes, { bytesPerRow: C, rowsPerImage: C }, size);
  }
  return texture;
}

/** [H, n, n] of the decoded capture's first n tokens: what the reference scorer takes. */
function compact(p: Float32Array, heads: number, format: CaptureFormat, n = T): Float64Array {
  const out = new Float64Array(heads * n * n);
  for (let h = 0; h < heads; h++)
    for (let t = 0; t < n; t++)
      for (let s = 0; s <= t; s++) out[(h * n + t) * n + s] = stored(p[(h * C + t) * C + s]!, format);
  return out;
}

const harmonic = (n: number) => Array.from({ length: n }, (_, i) => 1 / (i + 1)).reduce((a, b) => a + b, 0);
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const mean = (xs: number[]) => sum(xs) / xs.length;
const entropyOf = (ps: number[]) => -sum(ps.map((p) => p * Math.log(p)));
const hoyer = (ps: number[], n: number) =>
  (Math.sqrt(n) - 1 / Math.sqrt(sum(ps.map((p) => p * p)))) / (Math.sqrt(n) - 1);

type Known = Partial<Record<Detector | 'entropy' | 'normalizedEntropy' | 'sparsity', number>>;

/** Scores in closed form, per head, without options (w = 3). */
function knownScores(): Record<(typeof heads)[number], Known> {
  const dupQueries = [3, 5, 7, 9, 12];
  const mixedRows = [[0.8, 0.2], ...range(2, T).map(() => [0.5, 0.3, 0.2])];
  return {
    previous: {
      previous: 1,
      current: 1 / T,
      first: 2 / T,
      local: 1,
      duplicate: 0,
      induction: 0,
      entropy: 0,
      normalizedEntropy: 0,
      sparsity: 1,
    },
    sink: {
      previous: 1 / (T - 1),
      current: 1 / T,
      first: 1,
      local: 3 / T,
      duplicate: 2 / 5, // t = 3 and t = 7 (whose earlier occurrences include key 0)
      induction: 0,
      entropy: 0,
      sparsity: 1,
    },
    uniform: {
      previous: (harmonic(T) - 1) / (T - 1),
      current: harmonic(T) / T,
      first: harmonic(T) / T,
      local: (2 + 3 * (harmonic(T) - 1.5)) / T,
      duplicate: mean(dupQueries.map((t) => earlier(t).length / (t + 1))),
      induction: mean(dupQueries.map((t) => earlier(t).length / (t + 1))),
      entropy: mean(range(1, T).map((t) => Math.log(t + 1))),
      normalizedEntropy: 1,
      sparsity: 0,
    },
    current: { previous: 0, current: 1, first: 1 / T, local: 1, duplicate: 0, induction: 0, sparsity: 1 },
    mixed: {
      previous: (0.8 + 0.5 * (T - 2)) / (T - 1),
      current: (1 + 0.2 * (T - 1)) / T,
      first: (1 + 0.8 + 0.3 * (T - 2)) / T,
      local: (3 + 0.7 * (T - 3)) / T,
      entropy: mean(mixedRows.map(entropyOf)),
      normalizedEntropy: mean(mixedRows.map((r, i) => entropyOf(r) / Math.log(i + 2))),
      sparsity: mean(mixedRows.map((r, i) => hoyer(r, i + 2))),
    },
    duplicate: { duplicate: 1, current: (T - 5) / T, previous: 0, first: (1 + 1 + 0.5) / T },
    induction: { induction: 1, current: (T - 5) / T },
  };
}

const formats: [CaptureFormat, number, number][] = [
  ['rgba32float', 1e-6, 1e-6],
  ['rgba16float', 1e-3, 1e-3],
  ['rgba8unorm', 5e-3, 5e-3],
];

function expectClose(got: number, want: number, tolerance: number, what: string) {
  expect(Number.isNaN(got), `${what}: NaN`).toBe(Number.isNaN(want));
  if (!Number.isNaN(want))
    expect(Math.abs(got - want), `${what}: got ${got}, want ${want}`).toBeLessThanOrEqual(tolerance);
}

/** Every number of two HeadScores within `tolerance`; returns the largest difference. */
function compareScores(got: HeadScores, want: HeadScores, tolerance: number, what: string): number {
  expect(got.queries).toEqual(want.queries);
  expect([got.nLayer, got.nHead]).toEqual([want.nLayer, want.nHead]);
  let worst = 0;
  const check = (g: Float64Array, w: Float64Array, name: string) => {
    for (let i = 0; i < w.length; i++) {
      expectClose(g[i]!, w[i]!, tolerance, `${what} ${name} head ${i}`);
      if (!Number.isNaN(w[i]!)) worst = Math.max(worst, Math.abs(g[i]! - w[i]!));
    }
  };
  for (const d of detectors) check(got.scores[d], want.scores[d], d);
  for (const s of ['entropy', 'normalizedEntropy', 'sparsity'] as const) {
    check(got[s].mean, want[s].mean, `${s} mean`);
    check(got[s].std, want[s].std, `${s} std`);
  }
  check(got.rowWeight, want.rowWeight, 'row weight');
  return worst;
}

describe('(a) hand-built patterns with known scores', () => {
  const p = handPattern((h, t) => handRow(heads[h]!, t), H);

  test.each(formats)(
    '%s capture: closed forms within %s (scores) / %s (row statistics)',
    async (format, tolScore, tolStat) => {
      const texture = captureTexture(p, H, format);
      try {
        const got = await scoreHeads(gpu.device, kernels, [texture], tokens);
        const known = knownScores();
        const worst = { scores: 0, stats: 0 };
        for (const [h, head] of heads.entries()) {
          for (const [key, want] of Object.entries(known[head])) {
            const isStat = key === 'entropy' || key === 'normalizedEntropy' || key === 'sparsity';
            const value = isStat
              ? got[key as 'entropy' | 'normalizedEntropy' | 'sparsity'].mean[h]!
              : got.scores[key as Detector][h]!;
            expectClose(value, want, isStat ? tolStat : tolScore, `${format} ${head} ${key}`);
            const which = isStat ? 'stats' : 'scores';
            worst[which] = Math.max(worst[which], Math.abs(value - want));
          }
        }
        expect(got.queries).toEqual({
          previous: 12,
          current: 13,
          first: 13,
          local: 13,
          duplicate: 5,
          induction: 5,
        });
        // Forced rows (query 0) left out of the row statistics: T − 1 rows of weight 1.
        for (let h = 0; h < H; h++) expect(got.rowWeight[h]).toBeCloseTo(T - 1, 5);
        // The same decoded values through the CPU oracle.
        const ref = referenceHeadScores([compact(p, H, format)], H, tokens);
        const oracle = compareScores(got, ref, 2e-6, format);
        console.log(
          `${format}: worst |GPU − closed form| ${worst.scores.toExponential(2)} (scores), ` +
            `${worst.stats.toExponential(2)} (row statistics); |GPU − oracle| ${oracle.toExponential(2)}`,
        );
        expect(dominantDetectors(got)).toEqual([
          'previous',
          'first',
          'local', // a uniform head over 13 tokens has 54% of its weight in the last 3
          'current',
          'previous',
          'duplicate',
          'induction',
        ]);
      } finally {
        texture.destroy();
      }
    },
  );

  test('exclusions and the window: closed forms, and the oracle in every format', async () => {
    const known = {
      excludeFirst: {
        mixed: {
          previous: 0.5 / 0.7, // t ≥ 2; query 1's previous key is the excluded one
          current: (0.2 + 0.2 * (T - 2)) / (0.2 + 0.7 * (T - 2)),
          first: (1 + 0.8 + 0.3 * (T - 2)) / T, // keeps key 0 whatever the option
        },
        uniform: {
          previous: sum(range(2, T).map((t) => 1 / (t + 1))) / sum(range(2, T).map((t) => t / (t + 1))),
          normalizedEntropy: 1,
          sparsity: 0,
        },
        sink: { previous: 0, first: 1, entropy: NaN }, // nothing left off the sink: no row counts
      },
      excludeCurrent: {
        mixed: {
          previous: (0.8 + 0.5 * (T - 2)) / (0.8 * (T - 1)),
          first: (0.8 + 0.3 * (T - 2)) / (0.8 * (T - 1)),
          current: (1 + 0.2 * (T - 1)) / T, // keeps key t whatever the option
        },
        current: { current: 1, previous: 0 },
      },
    } as const;
    const queries = {
      excludeFirst: { previous: 11, current: 12, first: 13, local: 12, duplicate: 4, induction: 5 },
      excludeCurrent: { previous: 12, current: 13, first: 12, local: 12, duplicate: 5, induction: 5 },
    };
    const texture = captureTexture(p, H, 'rgba32float');
    const scorer = new HeadScorer(gpu.device, kernels);
    try {
      for (const option of ['excludeFirst', 'excludeCurrent'] as const) {
        const got = await scorer.score([texture], tokens, { [option]: true });
        expect(got.queries).toEqual(queries[option]);
        for (const [head, values] of Object.entries(known[option])) {
          const h = heads.indexOf(head as (typeof heads)[number]);
          for (const [key, want] of Object.entries(values as Known)) {
            const value =
              key in got.scores ? got.scores[key as Detector][h]! : got[key as 'entropy'].mean[h]!;
            expectClose(value, want, 1e-6, `${option} ${head} ${key}`);
          }
        }
      }
      // Window 2 and both exclusions, in every format, against the oracle on the decoded values.
      const options: DetectorOptions = { excludeFirst: true, excludeCurrent: true, window: 2 };
      for (const [format] of formats) {
        const t = captureTexture(p, H, format);
        const got = await scorer.score([t], tokens, options);
        compareScores(got, referenceHeadScores([compact(p, H, format)], H, tokens, options), 2e-6, format);
        t.destroy();
      }
      // Without the current key the band of 2 is {t−2, t−1}: all of a previous-token head's kept
      // weight, and min(2, t) of the t keys a uniform row keeps (weighted by the kept mass t/(t+1)).
      const band = await scorer.score([texture], tokens, { excludeCurrent: true, window: 2 });
      expectClose(band.scores.local[0]!, 1, 1e-6, 'previous head, band of 2 before the query');
      expectClose(
        band.scores.local[2]!,
        sum(range(1, T).map((t) => Math.min(2, t) / (t + 1))) / sum(range(1, T).map((t) => t / (t + 1))),
        1e-6,
        'uniform head, band of 2 before the query',
      );
    } finally {
      scorer.destroy();
      texture.destroy();
    }
  });

  test('several layers in one call; a scorer reused across T and capture textures', async () => {
    // Layer 1 = layer 0's heads in reverse order: the scores must follow their layer.
    const p0 = handPattern((h, t) => handRow(heads[h]!, t), H);
    const p1 = handPattern((h, t) => handRow(heads[H - 1 - h]!, t), H);
    const t0 = captureTexture(p0, H, 'rgba32float');
    const t1 = captureTexture(p1, H, 'rgba32float');
    const scorer = new HeadScorer(gpu.device, kernels);
    try {
      const short = await scorer.score([t0], tokens.slice(0, 5)); // small buffers first, then grown
      const want = referenceHeadScores([compact(p0, H, 'rgba32float', 5)], H, tokens.slice(0, 5));
      compareScores(short, want, 2e-6, 'T=5');
      const [a, b] = await Promise.all([scorer.score([t0, t1], tokens), scorer.score([t1], tokens)]);
      const ref = referenceHeadScores(
        [compact(p0, H, 'rgba32float'), compact(p1, H, 'rgba32float')],
        H,
        tokens,
      );
      compareScores(a, ref, 2e-6, 'two layers');
      for (const d of detectors) for (let h = 0; h < H; h++) expect(b.scores[d][h]).toBe(a.scores[d][H + h]); // the queue kept them apart
      expect(dominantDetectors(a).slice(H)).toEqual(dominantDetectors(a).slice(0, H).reverse());
    } finally {
      scorer.destroy();
      t0.destroy();
      t1.destroy();
    }
  });

  test('bad input is refused with a clear message', async () => {
    const texture = captureTexture(p, H, 'rgba32float');
    const other = gpu.device.createTexture({
      size: [C / 4, C, 2],
      format: 'rgba32float',
      usage: GPUTextureUsage.TEXTURE_BINDING,
    });
    const scorer = new HeadScorer(gpu.device, kernels);
    try {
      await expect(scorer.score([], tokens)).rejects.toThrow('no attention captures to score');
      await expect(scorer.score([texture], [])).rejects.toThrow('no tokens to score');
      await expect(scorer.score([texture], [1, -2])).rejects.toThrow(
        'token id -2 is not a non-negative integer',
      );
      await expect(
        scorer.score(
          [texture],
          Array.from({ length: C + 1 }, () => 1),
        ),
      ).rejects.toThrow('hand-made rgba32float holds 16 tokens, fewer than the 17 scored');
      await expect(scorer.score([texture, other], tokens)).rejects.toThrow('has 2 heads but layer 0');
      await expect(scorer.score([texture], tokens, { window: 0 })).rejects.toThrow(
        "the local band's window must be a whole number of positions ≥ 1, not 0",
      );
      // Still works after refusing.
      const ok = await scorer.score([texture], tokens);
      expect(ok.scores.previous[0]).toBeCloseTo(1, 6);
      scorer.destroy();
      await expect(scorer.score([texture], tokens)).rejects.toThrow('this head scorer was destroyed');
    } finally {
      texture.destroy();
      other.destroy();
    }
  });
});

describe('labels and per-layer spread (CPU)', () => {
  test('dominant detector: threshold, NaN, and the local band only when its parts fall short', () => {
    const scores = (values: Partial<Record<Detector, number>>[]): HeadScores => {
      const n = values.length;
      const of = (d: Detector) => Float64Array.from(values, (v) => v[d] ?? 0);
      const zero = { mean: new Float64Array(n), std: new Float64Array(n) };
      return {
        nLayer: 1,
        nHead: n,
        tokens: [0],
        options: { excludeFirst: false, excludeCurrent: false, window: 3 },
        scores: Object.fromEntries(detectors.map((d) => [d, of(d)])) as Record<Detector, Float64Array>,
        queries: Object.fromEntries(detectors.map((d) => [d, 1])) as Record<Detector, number>,
        entropy: zero,
        normalizedEntropy: zero,
        sparsity: zero,
        rowWeight: new Float64Array(n),
      };
    };
    const s = scores([
      { previous: 0.45, current: 0.45, local: 0.95 },
      { previous: 0.3, current: 0.3, local: 0.8 },
      { first: 0.39, duplicate: 0.2 },
      { duplicate: NaN, induction: 0.6, first: 0.6 },
      { first: 0.5, induction: 0.7 },
    ]);
    expect(dominantDetectors(s)).toEqual(['previous', 'local', null, 'first', 'induction']);
    expect(dominantDetectors(s, 0.3)).toEqual(['previous', 'previous', 'first', 'first', 'induction']);
    expect(dominantDetectors(s, 0.4, ['local', 'duplicate'])).toEqual(['local', 'local', null, null, null]);
  });

  test('layer spread: across heads, and pooled over rows by the law of total variance', () => {
    const values = Float64Array.from([1, 3, NaN, 2, 2, 2]);
    const spread = layerSpread(2, 3, values, {
      stat: { mean: values, std: Float64Array.from([1, 1, 0, 0, 0, 0]) },
      rowWeight: Float64Array.from([2, 2, 0, 1, 1, 1]),
    });
    expect(spread[0]).toEqual({ mean: 2, std: 1, min: 1, max: 3, rowMean: 2, rowStd: Math.sqrt(2) });
    expect(spread[1]).toEqual({ mean: 2, std: 0, min: 2, max: 2, rowMean: 2, rowStd: 0 });
  });
});

// ---------------------------------------------------------------------------------------------
// The real engine

const config = gpt2Config({ nLayer: 2, nHead: 3, nEmbd: 24, nCtx: 40, vocabSize: 100 });
const weights = sharpWeights(config, 5);

describe('(b) a tiny random GPT-2 through the engine', () => {
  // Ids from a range of 12, so that duplicates (and induction targets) occur.
  const prompt = randomTokens(37, 12, 4);

  test.each([{}, { excludeFirst: true, excludeCurrent: true, window: 2 }] as DetectorOptions[])(
    'f32 captures: GPU scores = the oracle on referenceForward patterns within 2e-5 (options %o)',
    async (options) => {
      await withEngine(gpu, weights, async (engine) => {
        const session = engine.createSession({ lens: 'final', captureFormat: 'rgba32float' });
        await session.run(prompt);
        const got = await scoreHeads(
          gpu.device,
          engine.kernels,
          sessionPatterns(session, config.nLayer),
          prompt,
          options,
        );
        const ref = referenceForward(weights, prompt);
        const want = referenceHeadScores(ref.patterns, config.nHead, prompt, options);
        const worst = compareScores(got, want, 2e-5, 'engine');
        console.log(
          `engine f32 ${JSON.stringify(options)}: worst |GPU − oracle| = ${worst.toExponential(2)}`,
        );
        // The scores are not degenerate: heads differ, and some detector is far from 0.
        const all = detectors.flatMap((d) => [...got.scores[d]].filter((v) => !Number.isNaN(v)));
        expect(Math.max(...all)).toBeGreaterThan(0.2);
        expect(new Set(got.entropy.mean).size).toBe(config.nLayer * config.nHead);
        expect(got.queries.duplicate).toBeGreaterThan(10);
      });
    },
  );

  test.each(['rgba16float', 'rgba8unorm'] as const)(
    '%s captures: GPU scores = the oracle on the captured values within 2e-6',
    async (format) => {
      await withEngine(gpu, weights, async (engine) => {
        const session = engine.createSession({ lens: 'final', captureFormat: format });
        await session.run(prompt);
        const patterns = sessionPatterns(session, config.nLayer);
        const got = await scoreHeads(gpu.device, engine.kernels, patterns, prompt);
        const n = prompt.length;
        const held: Float64Array[] = [];
        for (const tex of patterns) {
          const p = new Float64Array(config.nHead * n * n);
          for (let h = 0; h < config.nHead; h++) {
            const layer = await readTextureLayer(gpu.device, tex, h);
            for (let t = 0; t < n; t++)
              for (let s = 0; s <= t; s++) p[(h * n + t) * n + s] = layer[t * tex.width * 4 + s]!;
          }
          held.push(p);
        }
        const onHeld = compareScores(got, referenceHeadScores(held, config.nHead, prompt), 2e-6, format);
        // And the f64 patterns within the format's own error.
        const ref = referenceForward(weights, prompt);
        const onF64 = compareScores(
          got,
          referenceHeadScores(ref.patterns, config.nHead, prompt),
          format === 'rgba16float' ? 2e-4 : 5e-3,
          `${format} vs f64`,
        );
        console.log(
          `engine ${format}: worst |GPU − oracle| ${onHeld.toExponential(2)} on the captured values, ` +
            `${onF64.toExponential(2)} on the f64 patterns`,
        );
      });
    },
  );
});

describe('(c) induction on [BOS] + R + R', () => {
  const small = gpt2Config({ nLayer: 2, nHead: 3, nEmbd: 24, nCtx: 24, vocabSize: 100 });
  const smallWeights = sharpWeights(small, 8);

  test('the probe: seeded, distinct ids, no BOS inside, sized to the context', () => {
    const a = repeatedRandomTokens(small, { seed: 3 });
    expect(a.length).toBe(2 * 9 + 1); // 40% of 24 tokens
    expect(a[0]).toBe(small.bosTokenId);
    const r = a.slice(1, 10);
    expect(a.slice(10)).toEqual(r);
    expect(new Set(r).size).toBe(9);
    expect(r).not.toContain(small.bosTokenId);
    expect(repeatedRandomTokens(small, { seed: 3 })).toEqual(a);
    expect(repeatedRandomTokens(small, { seed: 4 })).not.toEqual(a);
    const gpt2 = { vocabSize: 50257, nCtx: 1024, bosTokenId: 50256 };
    const long = repeatedRandomTokens(gpt2, { seed: 1, idRange: [1000, 2000] });
    expect(long.length).toBe(101); // capped at 50
    expect(long.slice(1).every((id) => id >= 1000 && id < 2000)).toBe(true);
    expect(repeatedRandomTokens(gpt2, { length: 4, bos: null, idRange: [5, 9] }).sort()).toEqual([
      5, 5, 6, 6, 7, 7, 8, 8,
    ]);
    expect(() => repeatedRandomTokens(small, { length: 12 })).toThrow(
      "[BOS] + R + R with R of 12 tokens is 25 tokens, more than the model's context of 24",
    );
    expect(() => repeatedRandomTokens(small, { length: 5, idRange: [95, 100] })).toThrow(
      'token id range [95, 100) has fewer than 5 ids to draw distinct ones from',
    );
  });

  test('scores on the probe match the oracle on the reference forward within 2e-5', async () => {
    await withEngine(gpu, smallWeights, async (engine) => {
      const result = await measureInduction(engine, { seed: 11 });
      expect(result.length).toBe(9);
      expect(result.tokens).toEqual(repeatedRandomTokens(small, { seed: 11 }));
      expect(result.scores.queries.induction).toBe(9); // exactly the second copy
      const ref = referenceForward(smallWeights, [...result.tokens]);
      const want = referenceHeadScores(ref.patterns, small.nHead, [...result.tokens]);
      const worst = compareScores(result.scores, want, 2e-5, 'induction probe');
      console.log(`induction probe: worst |GPU − oracle| = ${worst.toExponential(2)}`);
      expect(result.induction).toBe(result.scores.scores.induction);
      // A session given by the caller is used and kept.
      const session = engine.createSession({ lens: 'final' });
      const again = await measureInduction(engine, { seed: 11, session, excludeFirst: true });
      compareScores(
        again.scores,
        referenceHeadScores(ref.patterns, small.nHead, [...result.tokens], { excludeFirst: true }),
        2e-5,
        'with session',
      );
      await session.run([1, 2, 3]); // still alive
    });
  });

  test('an ideal induction head on the probe scores 1; a previous-token head 0', async () => {
    const probe = repeatedRandomTokens({ vocabSize: 100, nCtx: 16, bosTokenId: 99 }, { length: 6, seed: 2 });
    const n = 6;
    expect(probe.length).toBe(T); // 13: fits the hand-made capture size
    const p = handPattern((h, t) => {
      if (h === 1) return new Map([[Math.max(0, t - 1), 1]]);
      return new Map([[t > n ? t - n + 1 : 0, 1]]); // second copy: the token after the first occurrence
    }, 2);
    const texture = captureTexture(p, 2, 'rgba8unorm');
    try {
      const got = await scoreHeads(gpu.device, kernels, [texture], probe);
      expect(got.queries.induction).toBe(n);
      expect(got.scores.induction[0]).toBe(1);
      expect(got.scores.induction[1]).toBe(0);
      expect(dominantDetectors(got)).toEqual(['induction', 'previous']);
    } finally {
      texture.destroy();
    }
  });
});
