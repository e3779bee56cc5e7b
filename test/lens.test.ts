// The logit lens at every residual boundary (lens: 'all') and token tracking (trackTokens) against
// the CPU reference (ln_f with fresh statistics + tied unembedding in f64, src/model/reference.ts),
// in Node through Dawn (SwiftShader here). Tolerances: probabilities within 1e-4 absolute; top-k
// ids equal wherever the reference's neighbouring probabilities differ by more than that (near-ties
// may swap); ranks exact except for vocabulary entries whose logit is within 1e-4 × max |logit| of
// the tracked token's (near-ties, counted either way).
import { describe, expect, test } from 'vitest';
import {
  activationBytes,
  captureBytes,
  forwardFlops,
  maxTrackedTokens,
  trackingBytes,
} from '../src/engine/cost';
import { lensChunk, lensTopK, type PromptSession } from '../src/engine/session';
import { gpt2Config } from '../src/model/fixtures';
import { residualBoundaries, type HookPoint } from '../src/model/hooks';
import {
  caseModels,
  referenceLens,
  tiledThreePartsCase,
  type KernelCase,
  kernelCase,
} from './support/reference-cases';
import { useGpu, withEngine } from './support/tiny-engine';
import { maxAbs, peakyWeights, randomTokens, softmax } from './support/tiny-models';

const gpu = useGpu();

/** Index of a residual boundary in residualBoundaries order. */
const boundaryIndex = (L: number, p: HookPoint) =>
  residualBoundaries(L).findIndex(
    (q) => q.kind === p.kind && 'layer' in q && 'layer' in p && q.layer === p.layer,
  );

/**
 * Checks a trackTokens result against reference lens logits: probabilities within 1e-4, ranks
 * within the near-tie band. Returns how many ranks had no near-tie (and so were checked exactly).
 */
function expectTrackMatches(
  track: Awaited<ReturnType<PromptSession['trackTokens']>>,
  lens: Float32Array[],
  L: number,
  V: number,
): number {
  const { ids, points, T } = track;
  let exact = 0;
  ids.forEach((id, i) =>
    points.forEach((point, p) => {
      const logits = lens[boundaryIndex(L, point)]!;
      for (let t = 0; t < T; t++) {
        const row = logits.subarray(t * V, (t + 1) * V);
        const at = (i * points.length + p) * T + t;
        expect(Math.abs(track.prob[at]! - softmax(row)[id]!), `prob ${id} at ${p},${t}`).toBeLessThanOrEqual(
          1e-4,
        );
        const eps = 1e-4 * maxAbs(row);
        let above = 0; // clearly larger
        let tied = 0; // within eps
        for (let v = 0; v < V; v++) {
          if (v === id) continue;
          if (row[v]! > row[id]! + eps) above++;
          else if (row[v]! > row[id]! - eps) tied++;
        }
        const rank = track.rank[at]!;
        expect(rank, `rank ${id} at ${p},${t}`).toBeGreaterThanOrEqual(above);
        expect(rank, `rank ${id} at ${p},${t}`).toBeLessThanOrEqual(above + tied);
        if (tied === 0) exact++;
      }
    }),
  );
  return exact;
}

const cases: KernelCase[] = [
  kernelCase('vec4 kernels, L=2, D=48', caseModels.vec4, 11, 'fallback'),
  kernelCase('scalar kernels, D=30', caseModels.scalar, 9, 'fallback'),
  kernelCase('wte in 2 parts, vec4', [1, 2, 32, 16, 1100], 7, 'fallback', 1024),
  tiledThreePartsCase,
];

describe.each(cases)('lens at every boundary and token tracking: $name', (c) => {
  test("lens 'all' top-k and trackTokens match the reference", async () => {
    const { config, T, fallbackKernels, maxVocabRowsPerPart } = c;
    const { nLayer: L, nEmbd: D, vocabSize: V } = config;
    const weights = peakyWeights(config, 13);
    const tokens = randomTokens(T, V, 5);
    await withEngine(gpu, weights, { fallbackKernels, maxVocabRowsPerPart }, async (engine) => {
      const session = engine.createSession({ lens: 'all', capacity: 4 }); // grows to fit T
      const result = await session.run(tokens);
      const lens = referenceLens(weights, tokens);
      const points = residualBoundaries(L);
      expect(result.lens.points).toEqual(points);
      expect(result.readbackBytes).toBe((2 * L + 1) * T * result.lens.k * 8);
      // The cost of this path: logits_last counted once, as its own row only with the scalar lens.
      const causalPairs = (T * (T + 1)) / 2;
      const F = config.nInner;
      const blocks = L * (2 * T * D * 3 * D + 4 * causalPairs * D + 2 * T * D * D + 4 * T * D * F);
      const fusedLens = !fallbackKernels || D % 4 === 0; // tiled or vec4: logits_last fused
      expect(result.flops).toBe(blocks + (2 * L + 1) * T * 2 * D * V + (fusedLens ? 0 : 2 * D * V));

      // Top-k at each of the 2L+1 points.
      const k = result.lens.k;
      for (const [p, logits] of lens.entries()) {
        for (let t = 0; t < T; t++) {
          const probs = softmax(logits.subarray(t * V, (t + 1) * V));
          const order = [...probs.keys()].sort((a, b) => probs[b]! - probs[a]!);
          for (let i = 0; i < k; i++) {
            const at = (p * T + t) * k + i;
            const want = probs[order[i]!]!;
            expect(Math.abs(result.lens.probs[at]! - want)).toBeLessThanOrEqual(1e-4);
            const clear =
              (i === 0 || probs[order[i - 1]!]! - want > 1e-4) && want - probs[order[i + 1]!]! > 1e-4;
            if (clear) expect(result.lens.ids[at], `point ${p} t ${t} rank ${i}`).toBe(order[i]);
          }
        }
      }

      // Track the final position's top token, the one at the lens's first point, and two others,
      // at every point; then a subset of points in another order.
      const top = result.lens.ids[(2 * L * T + T - 1) * k]!;
      const early = result.lens.ids[0]!;
      const ids = [top, early, 0, V - 1];
      const track = await session.trackTokens(ids);
      expect(track.points).toEqual(points);
      expect(track.T).toBe(T);
      expect(track.prob).toHaveLength(ids.length * points.length * T);
      expect(track.readbackBytes).toBe(ids.length * points.length * T * 8);
      const exact = expectTrackMatches(track, lens, L, V);
      expect(exact).toBeGreaterThan(track.rank.length / 2); // most ranks are checked exactly
      expect(Math.max(...track.prob)).toBeGreaterThan(0.1); // not a near-uniform distribution
      // The top token at the final point has rank 0 there, as the lens's top-1 says.
      expect(track.rank[2 * L * T + T - 1]).toBe(0);
      // (Its logit is summed in another order than the lens kernel's: f32 rounding apart.)
      const lensP = result.lens.probs[(2 * L * T + T - 1) * k]!;
      expect(Math.abs(track.prob[2 * L * T + T - 1]! - lensP)).toBeLessThanOrEqual(1e-5);

      const subset: HookPoint[] = [points[2 * L]!, points[1]!];
      const part = await session.trackTokens([early], subset);
      expect(part.points).toEqual(subset);
      expectTrackMatches(part, lens, L, V);
      expect(session.trackFlops(1, subset.length)).toBe(subset.length * T * 2 * D * (V + 1));
    });
  });
});

describe('lens points and tracking: other sessions and bad input', () => {
  const config = gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 24, nCtx: 16, vocabSize: 100 });
  const weights = peakyWeights(config, 3);
  const tokens = randomTokens(10, 100, 4);

  test("'layers' and 'final' keep their points; tracking follows an ablated run", async () => {
    await withEngine(gpu, weights, async (engine) => {
      const layers = engine.createSession({ lens: 'layers' });
      expect(layers.lensPoints).toEqual([
        { kind: 'resid_pre', layer: 0 },
        { kind: 'resid_pre', layer: 1 },
        { kind: 'resid_post', layer: 1 },
      ]);
      const ablate = { heads: [{ layer: 0, head: 1 }], mlps: [0], mode: 'mean' } as const;
      await layers.run(tokens, { ablate });
      const track = await layers.trackTokens([7, 42]);
      expectTrackMatches(track, referenceLens(weights, tokens, { ablate }), 2, 100);
      await expect(layers.trackTokens([7], [{ kind: 'resid_mid', layer: 0 }])).rejects.toThrow(
        "blocks.0.hook_resid_mid is not a logit-lens point of this session (lens: 'layers'); " +
          "create the session with lens: 'all' to track at every residual boundary",
      );

      const final = engine.createSession({ lens: 'final' });
      // Tracking buffers exist only once a session tracks (memory by the formulas).
      const base = () =>
        captureBytes(config, final.capacity, final.captureFormat) +
        activationBytes(config, final.capacity, 1, lensChunk, lensTopK);
      expect(final.bytes).toBe(base());
      await expect(final.trackTokens([1])).rejects.toThrow(
        'nothing to track yet: run the session on a prompt first',
      );
      const r = await final.run(tokens);
      expect(r.lens.points).toEqual([{ kind: 'resid_post', layer: 1 }]);
      const fused = true; // D = 24: the vec4 lens on fallback adapters, the tiled one elsewhere
      expect(r.flops).toBe(forwardFlops(config, tokens.length, 1, { logitsLastFused: fused }));
      await expect(final.trackTokens([])).rejects.toThrow('give at least one token id to track');
      await expect(final.trackTokens([100])).rejects.toThrow('token id 100 is outside the vocabulary (0…99)');
      await expect(
        final.trackTokens(Array.from({ length: maxTrackedTokens + 1 }, (_, i) => i)),
      ).rejects.toThrow(
        `at most ${maxTrackedTokens} tokens can be tracked at once, got ${maxTrackedTokens + 1}`,
      );
      await expect(final.trackTokens([1], [])).rejects.toThrow('give at least one lens point');
      // The most tokens at once work.
      const many = await final.trackTokens(Array.from({ length: maxTrackedTokens }, (_, i) => 3 * i));
      expectTrackMatches(many, referenceLens(weights, tokens), 2, 100);
      expect(final.bytes).toBe(base() + trackingBytes(final.capacity, 1));
    });
  });
});
