// The head detectors through the real engine, in Node through Dawn (the hand-built patterns with
// closed-form scores are in test/detectors.test.ts).
//
// (b) A tiny random-weight GPT-2 through the real engine: GPU scores against the CPU oracle applied
//     to referenceForward's f64 patterns within 2e-5 (the captures are within 1e-5 of them per
//     value), with and without the exclusions; the f16 and 8-bit captures against the oracle on
//     what they hold (read back) within 2e-6, and on the f64 patterns within 2e-4 / 5e-3.
// (c) Induction: the [BOS] + R + R probe (seeded, distinct ids) run through a separate session,
//     every head's scores against the oracle on the reference forward of the same probe (2e-5);
//     an ideal induction pattern on the probe scores exactly 1.
import { describe, expect, test } from 'vitest';
import { readTextureLayer } from '../src/gpu/readback';
import { referenceHeadScores } from '../src/instruments/detectors-reference';
import { measureInduction, scoreHeads, sessionPatterns } from '../src/instruments/detectors';
import {
  detectors,
  dominantDetectors,
  repeatedRandomTokens,
  type DetectorOptions,
} from '../src/instruments/head-scores';
import { gpt2Config } from '../src/model/fixtures';
import { referenceForward } from '../src/model/reference';
import { withEngine } from './support/tiny-engine';
import { randomTokens, sharpWeights } from './support/tiny-models';
import { T, compareScores, handPattern, useDetectorGpu } from './support/detector-fixtures';

const { gpu, kernels, captureTexture } = useDetectorGpu();

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
      const got = await scoreHeads(gpu.device, kernels(), [texture], probe);
      expect(got.queries.induction).toBe(n);
      expect(got.scores.induction[0]).toBe(1);
      expect(got.scores.induction[1]).toBe(0);
      expect(dominantDetectors(got)).toEqual(['induction', 'previous']);
    } finally {
      texture.destroy();
    }
  });
});
