// Ablation on the GPU against the CPU reference (src/model/reference.ts, f64) under the same
// ablation, in Node through Dawn (SwiftShader here). Tolerances as test/engine.test.ts (f32
// weights): attention patterns max abs error ≤ 1e-5; residual stream and logits ≤ 1e-4 × max
// |value|; the final lens's top-1 is the reference's argmax wherever its margin exceeds 1e-4·max.
// Every case also checks that the ablation moves the logits by far more than the tolerance, so a
// GPU pass that ignored the ablation would fail.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { forwardFlops } from '../src/engine/cost';
import { defaultFusion } from '../src/engine/plan';
import type { Engine } from '../src/engine/engine';
import type { Ablation } from '../src/engine/session';
import { readBuffer } from '../src/gpu/readback';
import { parseHeadList, parseLayerList } from '../src/model/ablation';
import { gpt2Config } from '../src/model/fixtures';
import { residualBoundaries } from '../src/model/hooks';
import { referenceForward } from '../src/model/reference';
import { caseModels, referenceResiduals, type KernelCase } from './support/reference-cases';
import { loadEngine, patternError, useGpu, withEngine } from './support/tiny-engine';
import { maxAbs, maxAbsDiff, randomTokens, sharpWeights } from './support/tiny-models';

const gpu = useGpu();

interface Case extends KernelCase {
  ablation: Omit<Ablation, 'mode'>;
}

const cases: Case[] = [
  {
    // vec4 kernels (D, HD multiples of 4); heads in two layers, the first MLP and the last.
    name: 'vec4 kernels, L=3, H=3, D=48',
    config: gpt2Config({ nLayer: 3, nHead: 3, nEmbd: 48, nCtx: 24, vocabSize: 300 }),
    T: 19,
    fallbackKernels: true,
    ablation: {
      heads: [
        { layer: 1, head: 2 },
        { layer: 0, head: 1 },
        { layer: 1, head: 0 },
      ],
      mlps: [2, 0],
    },
  },
  {
    name: 'scalar kernels, D=30, HD=10',
    config: caseModels.scalar,
    T: 13,
    fallbackKernels: true,
    ablation: { heads: [{ layer: 0, head: 0 }], mlps: [0] },
  },
  {
    name: 'tiled kernels, L=2, H=2, D=32',
    config: gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 32, nCtx: 24, vocabSize: 200 }),
    T: 17,
    fallbackKernels: false,
    ablation: { heads: [{ layer: 0, head: 1 }], mlps: [1] },
  },
];

describe.each(cases)(
  'ablation matches the CPU reference: $name',
  ({ config, T, fallbackKernels, ablation }) => {
    const weights = sharpWeights(config, 21);
    const tokens = randomTokens(T, config.vocabSize, 8);
    // One engine for both modes: its pipelines are compiled once.
    let engine: Engine | undefined;
    beforeAll(async () => {
      engine = await loadEngine(gpu, weights, { fallbackKernels });
    });
    afterAll(() => engine?.dispose());

    test.each(['zero', 'mean'] as const)('%s ablation of heads and MLPs', async (mode) => {
      const ablate: Ablation = { ...ablation, mode };
      const session = engine!.createSession({ lens: 'final' });
      try {
        const { device } = gpu;
        const { nLayer: L, nHead: H, nEmbd: D, vocabSize: V } = config;
        const clean = await session.run(tokens);
        const cleanLogits = new Float32Array(await readBuffer(device, session.capture('logits_last'), V * 4));
        const result = await session.run(tokens, { ablate });
        const ref = referenceForward(weights, tokens, { ablate });
        const refClean = referenceForward(weights, tokens);

        // Patterns of every layer (those after an ablated component change).
        const worst = await patternError(
          device,
          (l) => session.capture({ kind: 'pattern', layer: l }),
          ref.patterns,
          H,
          T,
        );
        expect(worst).toBeLessThanOrEqual(1e-5);
        expect(maxAbsDiff(ref.patterns[L - 1]!, refClean.patterns[L - 1]!)).toBeGreaterThan(1e-3);

        // Residual stream at every boundary.
        const want = referenceResiduals(ref);
        for (const [i, point] of residualBoundaries(L).entries()) {
          const got = new Float32Array(await readBuffer(device, session.capture(point), T * D * 4));
          expect(maxAbsDiff(got, want[i]!, T * D), `boundary ${i}`).toBeLessThanOrEqual(
            1e-4 * maxAbs(want[i]!),
          );
        }

        // Next-token logits of the last position, moved by the ablation far beyond the tolerance.
        const logits = new Float32Array(await readBuffer(device, session.capture('logits_last'), V * 4));
        const wantLogits = ref.logits.subarray((T - 1) * V, T * V);
        const tolerance = 1e-4 * maxAbs(wantLogits);
        expect(maxAbsDiff(logits, wantLogits)).toBeLessThanOrEqual(tolerance);
        expect(maxAbsDiff(logits, cleanLogits)).toBeGreaterThan(100 * tolerance);
        expect(maxAbsDiff(wantLogits, refClean.logits.subarray((T - 1) * V))).toBeGreaterThan(
          100 * tolerance,
        );

        // The final lens's top-1 at every position (where the reference's margin is clear).
        for (let t = 0; t < T; t++) {
          const row = ref.logits.subarray(t * V, (t + 1) * V);
          const sorted = [...row].sort((a, b) => b - a);
          if (sorted[0]! - sorted[1]! > 1e-4 * maxAbs(row)) {
            expect(result.lens.ids[t * result.lens.k]).toBe(row.indexOf(sorted[0]!));
          }
        }

        // The run reports the ablation it applied (sorted, no duplicates) and what it dispatched:
        // one ablation dispatch per layer with ablated heads; a zero-ablated MLP replaces its steps by
        // one dispatch, a mean-ablated one adds one.
        expect(result.ablation).toEqual({
          heads: [...ablate.heads].sort((a, b) => a.layer - b.layer || a.head - b.head),
          mlps: [...(ablate.mlps ?? [])].sort((a, b) => a - b),
          mode,
        });
        const headLayers = new Set(ablate.heads.map((h) => h.layer)).size;
        const mlps = ablate.mlps?.length ?? 0;
        // Zero: the MLP's steps (ln_2 + c_fc fused or apart, as the default fusion has it, and
        // c_proj) give way to the ablation's one.
        const mlpSteps = defaultFusion(fallbackKernels) === 'on' ? 2 : 3;
        const zeroed = 1 - mlpSteps;
        expect(result.dispatches).toBe(clean.dispatches + headLayers + (mode === 'zero' ? zeroed : 1) * mlps);
        expect(clean.ablation).toBeUndefined();
        const fused = !fallbackKernels || D % 4 === 0; // the tiled and vec4 lens kernels write logits_last
        expect(result.flops).toBe(
          forwardFlops(config, T, 1, { logitsLastFused: fused, skippedMlps: mode === 'zero' ? mlps : 0 }),
        );

        // The next clean run is clean again: no ablation state leaks between runs.
        await session.run(tokens);
        const again = new Float32Array(await readBuffer(device, session.capture('logits_last'), V * 4));
        expect(maxAbsDiff(again, refClean.logits.subarray((T - 1) * V))).toBeLessThanOrEqual(tolerance);
      } finally {
        session.destroy();
      }
    });
  },
);

describe('the reference as the oracle for MLP ablation', () => {
  const config = gpt2Config({ nLayer: 3, nHead: 2, nEmbd: 16, nCtx: 12, vocabSize: 50 });
  const weights = sharpWeights(config, 4);
  const tokens = randomTokens(9, 50, 2);
  const T = tokens.length;
  const D = config.nEmbd;
  const clean = referenceForward(weights, tokens);

  test('zero: resid_post of that layer is its resid_mid; earlier layers untouched', () => {
    const z = referenceForward(weights, tokens, { ablate: { heads: [], mlps: [1], mode: 'zero' } });
    expect(z.residMid[1]).toEqual(clean.residMid[1]);
    expect(z.residPre[2]).toEqual(z.residMid[1]);
    expect(maxAbsDiff(z.logits, clean.logits)).toBeGreaterThan(1e-2);
  });

  test("mean: every position gets the MLP output's mean over positions", () => {
    const m = referenceForward(weights, tokens, { ablate: { heads: [], mlps: [1], mode: 'mean' } });
    expect(m.residMid[1]).toEqual(clean.residMid[1]);
    const scale = maxAbs(clean.residPre[2]!);
    let varied = 0;
    for (let d = 0; d < D; d++) {
      let mean = 0; // of the clean MLP output, resid_post − resid_mid
      for (let t = 0; t < T; t++) mean += clean.residPre[2]![t * D + d]! - clean.residMid[1]![t * D + d]!;
      mean /= T;
      for (let t = 0; t < T; t++) {
        const got = m.residPre[2]![t * D + d]! - m.residMid[1]![t * D + d]!;
        expect(Math.abs(got - mean)).toBeLessThanOrEqual(1e-6 * scale);
        varied = Math.max(
          varied,
          Math.abs(clean.residPre[2]![t * D + d]! - clean.residMid[1]![t * D + d]! - mean),
        );
      }
    }
    expect(varied).toBeGreaterThan(1e-3); // the clean MLP output did vary over positions
  });
});

describe('bad ablations', () => {
  test('out-of-range heads and MLP layers, bad mode: clear errors, session still usable', async () => {
    const config = gpt2Config({ nLayer: 2, nHead: 4, nEmbd: 16, nCtx: 8, vocabSize: 50 });
    const weights = sharpWeights(config, 1);
    await withEngine(gpu, weights, async (engine) => {
      const s = engine.createSession({ lens: 'final' });
      const run = (ablate: Ablation) => s.run([1, 2, 3], { ablate });
      await expect(run({ heads: [{ layer: 2, head: 0 }], mode: 'zero' })).rejects.toThrow(
        'cannot ablate head 2.0: layer 2 is not in [0, 2)',
      );
      await expect(run({ heads: [{ layer: 0, head: 4 }], mode: 'mean' })).rejects.toThrow(
        'cannot ablate head 0.4: head 4 is not in [0, 4)',
      );
      await expect(run({ heads: [], mlps: [-1], mode: 'zero' })).rejects.toThrow(
        'cannot ablate the MLP of layer -1: layer -1 is not in [0, 2)',
      );
      await expect(run({ heads: [], mode: 'half' as 'zero' })).rejects.toThrow(
        "ablation mode must be 'zero' or 'mean', got 'half'",
      );
      // An empty ablation is the clean forward.
      const empty = await run({ heads: [], mlps: [], mode: 'mean' });
      expect(empty.ablation).toBeUndefined();
    });
  });

  test('head and layer lists as typed on a command line', () => {
    expect(parseHeadList('5.5, 6.9')).toEqual([
      { layer: 5, head: 5 },
      { layer: 6, head: 9 },
    ]);
    expect(parseLayerList('0,3')).toEqual([0, 3]);
    expect(() => parseHeadList('5')).toThrow('"5" is not a head: write layer.head, e.g. 5.5');
    expect(() => parseHeadList('5.5,,6.1')).toThrow('has an empty item');
    expect(() => parseLayerList('x')).toThrow('"x" is not a layer number');
  });
});
