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
//
// (b) and (c), through the real engine, are in test/detectors-engine.test.ts; the hand-built patterns
// and the comparisons are shared from test/support/detector-fixtures.ts.
import { describe, expect, test } from 'vitest';
import { referenceHeadScores } from '../src/instruments/detectors-reference';
import { HeadScorer, scoreHeads } from '../src/instruments/detectors';
import {
  detectors,
  dominantDetectors,
  layerSpread,
  type Detector,
  type DetectorOptions,
  type HeadScores,
} from '../src/instruments/head-scores';
import {
  C,
  H,
  T,
  compact,
  compareScores,
  expectClose,
  formats,
  useDetectorGpu,
  handPattern,
  handRow,
  heads,
  knownScores,
  range,
  sum,
  tokens,
  type Known,
} from './support/detector-fixtures';

const { gpu, kernels, captureTexture } = useDetectorGpu();

describe('(a) hand-built patterns with known scores', () => {
  const p = handPattern((h, t) => handRow(heads[h]!, t), H);

  test.each(formats)(
    '%s capture: closed forms within %s (scores) / %s (row statistics)',
    async (format, tolScore, tolStat) => {
      const texture = captureTexture(p, H, format);
      try {
        const got = await scoreHeads(gpu.device, kernels(), [texture], tokens);
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
    const scorer = new HeadScorer(gpu.device, kernels());
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
    const scorer = new HeadScorer(gpu.device, kernels());
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
    const scorer = new HeadScorer(gpu.device, kernels());
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
