// The residual-stats kernel (shaders/instruments/residual_stats.wgsl) against the CPU reference forward: a tiny
// random GPT-2 runs on the engine in Node through Dawn, the kernel summarises its residual captures,
// and every value is compared with the same quantities computed in f64 from referenceForward's
// residual stream. Tolerances: norms within 1e-4 relative; cosines within 1e-4 absolute (they lie
// in [−1, 1]). Also the stream's last rows (read back with the stats) and their cosines between
// two prompts: rows within 1e-4 × max |value| (the engine's residual tolerance), cosines 1e-4.
import { describe, expect, test } from 'vitest';
import {
  ResidualStatsKernel,
  residualStatsAt,
  rowCosines,
  type ResidualStatsRow,
} from '../src/instruments/residual-stats';
import { viteShaders } from '../src/gpu/shaders-vite';
import { gpt2Config } from '../src/model/fixtures';
import { referenceForward } from '../src/model/reference';
import { referenceBlockStats } from './support/reference-cases';
import { loadEngine, useGpu } from './support/tiny-engine';
import { randomTokens, tinyWeights } from './support/tiny-models';

const gpu = useGpu();

const cosKeys = ['attnCos', 'mlpCos'] as const;
const normKeys = ['preNorm', 'attnNorm', 'mlpNorm', 'midNorm', 'postNorm'] as const;

describe.each([
  // D not a multiple of 4; D = 48; the session grows its capacity between two prompts.
  { name: 'L=2, D=30', config: gpt2Config({ nLayer: 2, nHead: 3, nEmbd: 30, nCtx: 80, vocabSize: 97 }) },
  { name: 'L=3, D=48', config: gpt2Config({ nLayer: 3, nHead: 4, nEmbd: 48, nCtx: 80, vocabSize: 211 }) },
])('residual stats match the CPU reference: $name', ({ config }) => {
  test('norms and cosines at every block and position, before and after the session grows', async () => {
    const weights = tinyWeights(config, 4);
    const engine = await loadEngine(gpu, weights);
    const kernel = new ResidualStatsKernel(gpu.device, viteShaders, config);
    try {
      const session = engine.createSession({ capacity: 16, lens: 'final' });
      const { nLayer: L, nEmbd: D } = config;
      for (const T of [9, 70]) {
        const tokens = randomTokens(T, config.vocabSize, T);
        await session.run(tokens);
        const stats = await kernel.compute(session, T);
        expect(stats.data.length).toBe(L * T * 8);
        const ref = referenceForward(weights, tokens);
        let worstNorm = 0;
        let worstCos = 0;
        for (let l = 0; l < L; l++) {
          for (let t = 0; t < T; t++) {
            const got = residualStatsAt(stats, l, t);
            const want: ResidualStatsRow = referenceBlockStats(ref, l, t, D);
            for (const k of normKeys) worstNorm = Math.max(worstNorm, Math.abs(got[k] - want[k]) / want[k]);
            for (const k of cosKeys) worstCos = Math.max(worstCos, Math.abs(got[k] - want[k]));
          }
        }
        expect(worstNorm, `T=${T}`).toBeLessThanOrEqual(1e-4);
        expect(worstCos, `T=${T}`).toBeLessThanOrEqual(1e-4);
        // Not degenerate: the blocks add something, in more than one direction.
        const last = residualStatsAt(stats, L - 1, T - 1);
        expect(last.attnNorm).toBeGreaterThan(0);
        expect(last.mlpNorm).toBeGreaterThan(0);
        expect(new Set(Array.from({ length: T }, (_, t) => residualStatsAt(stats, 0, t).attnCos)).size).toBe(
          T,
        );
      }
      expect(() =>
        residualStatsAt(
          { nLayer: L, T: 2, data: new Float32Array(L * 16), lastRows: new Float32Array() },
          L,
          0,
        ),
      ).toThrow(`no stats for layer ${L}, position 0`);
      await expect(kernel.compute(session, 0)).rejects.toThrow('residual stats over 0 positions');
    } finally {
      kernel.destroy();
      engine.dispose();
    }
  });
});

test('the stream’s last rows at every depth, and their cosines between two prompts', async () => {
  const config = gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 24, nCtx: 16, vocabSize: 101 });
  const weights = tinyWeights(config, 9);
  const engine = await loadEngine(gpu, weights);
  const kernel = new ResidualStatsKernel(gpu.device, viteShaders, config);
  try {
    const [a, b] = [randomTokens(7, 101, 1), randomTokens(11, 101, 2)];
    const sa = engine.createSession({ lens: 'final' });
    const sb = engine.createSession({ lens: 'final' });
    await Promise.all([sa.run(a), sb.run(b)]);
    const D = config.nEmbd;
    const rowsA = (await kernel.compute(sa, a.length)).lastRows;
    const rowsB = (await kernel.compute(sb, b.length)).lastRows;
    expect(rowsA.length).toBe(3 * D);
    const refRows = (tokens: number[]) => {
      const r = referenceForward(weights, tokens);
      const t = tokens.length - 1;
      return Float32Array.from(
        [...r.residPre, r.residPost].flatMap((x) => [...x.subarray(t * D, (t + 1) * D)]),
      );
    };
    const [wantA, wantB] = [refRows(a), refRows(b)];
    const scale = Math.max(...wantA.map(Math.abs));
    for (let i = 0; i < wantA.length; i++)
      expect(Math.abs(rowsA[i]! - wantA[i]!)).toBeLessThanOrEqual(1e-4 * scale);
    const got = rowCosines(rowsA, rowsB, D);
    const want = rowCosines(wantA, wantB, D);
    expect(got).toHaveLength(3);
    for (let i = 0; i < 3; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-4);
    // Two different prompts: the streams are not identical.
    expect(Math.min(...got)).toBeLessThan(0.999);
    expect(rowCosines(rowsA, rowsA, D).every((c) => Math.abs(c - 1) < 1e-6)).toBe(true);
    expect(() => rowCosines(rowsA, rowsA.subarray(1), D)).toThrow('are not the same');
  } finally {
    kernel.destroy();
    engine.dispose();
  }
});
