// The two stages of a run (PromptSession.runForward, then its lens()) against the one-shot run and
// the CPU reference, in Node through Dawn (SwiftShader here): what the forward leaves on the GPU
// once it is submitted (the residual stream, the attention patterns) and what the later lens gives
// (its top-k, logits_last, dispatches, FLOPs) equal one-shot `run` bit for bit, on a second session
// of the same engine; the stream matches the reference within 1e-4 · max |value| and the patterns
// within 1e-5. A lens asked for after the session ran again is refused; a dropped one leaves the
// previous run's lens for trackTokens.
import { describe, expect, test } from 'vitest';
import { readBuffer, readTextureLayer } from '../src/gpu/readback';
import { forwardFlops } from '../src/engine/cost';
import type { PromptSession } from '../src/engine/session';
import { gpt2Config } from '../src/model/fixtures';
import { residualBoundaries } from '../src/model/hooks';
import { referenceForward } from '../src/model/reference';
import { caseModels, referenceResiduals, tiledThreePartsCase } from './support/reference-cases';
import { useGpu, withEngine } from './support/tiny-engine';
import { maxAbs, maxAbsDiff, peakyWeights, randomTokens } from './support/tiny-models';

const gpu = useGpu();

/** Every residual boundary [T, D] and every layer's pattern texture (all heads), as read back now. */
async function readCaptures(session: PromptSession, T: number, D: number, H: number) {
  const { device } = gpu;
  const L = session.config.nLayer;
  const resid = await Promise.all(
    residualBoundaries(L).map(
      async (p) => new Float32Array(await readBuffer(device, session.capture(p), T * D * 4)),
    ),
  );
  const patterns: Float32Array[] = [];
  for (let l = 0; l < L; l++) {
    const texture = session.capture({ kind: 'pattern', layer: l });
    for (let h = 0; h < H; h++) patterns.push(await readTextureLayer(device, texture, h));
  }
  return { resid, patterns };
}

const logitsOf = async (session: PromptSession, V: number) =>
  new Float32Array(await readBuffer(gpu.device, session.capture('logits_last'), V * 4));

const cases = [
  { name: 'vec4 kernels', config: caseModels.vec4, T: 11, fallbackKernels: true },
  tiledThreePartsCase,
];

describe.each(cases)('staged run: $name', (c) => {
  test('the forward, then the lens, equal one-shot run bit for bit and the reference', async () => {
    const { config, T, fallbackKernels, maxVocabRowsPerPart } = c;
    const { nEmbd: D, nHead: H, vocabSize: V } = config;
    const weights = peakyWeights(config, 17);
    const tokens = randomTokens(T, V, 9);
    const ablate = { heads: [{ layer: 0, head: 1 }], mlps: [1], mode: 'mean' } as const;
    await withEngine(gpu, weights, { fallbackKernels, maxVocabRowsPerPart }, async (engine) => {
      for (const options of [{}, { ablate }]) {
        const oneShot = engine.createSession({ lens: 'all', captureFormat: 'rgba32float' });
        const staged = engine.createSession({ lens: 'all', captureFormat: 'rgba32float' });
        const whole = await oneShot.run(tokens, options);
        const wholeCaptures = await readCaptures(oneShot, T, D, H);
        const wholeLogits = await logitsOf(oneShot, V);

        const run = await staged.runForward(tokens, options);
        expect(run.forward.tokens).toEqual(tokens);
        expect(run.forward.ablation).toEqual(whole.ablation);
        // Read before the lens is asked for: the forward's captures are there (queue order).
        const forward = await readCaptures(staged, T, D, H);
        forward.resid.forEach((r, i) => expect(r, `boundary ${i}`).toEqual(wholeCaptures.resid[i]));
        forward.patterns.forEach((p, i) => expect(p, `pattern ${i}`).toEqual(wholeCaptures.patterns[i]));

        const ref = referenceForward(weights, tokens, options);
        referenceResiduals(ref).forEach((want, i) =>
          expect(maxAbsDiff(forward.resid[i]!, want), `boundary ${i}`).toBeLessThanOrEqual(
            1e-4 * maxAbs(want),
          ),
        );
        const cap = staged.capacity;
        let patternErr = 0;
        for (let l = 0; l < config.nLayer; l++)
          for (let h = 0; h < H; h++)
            for (let q = 0; q < T; q++)
              for (let k = 0; k <= q; k++) {
                const got = forward.patterns[l * H + h]![q * Math.ceil(cap / 4) * 4 + k]!;
                const want = ref.patterns[l]![(h * T + q) * T + k]!;
                patternErr = Math.max(patternErr, Math.abs(got - want));
              }
        expect(patternErr).toBeLessThanOrEqual(1e-5);

        const result = await run.lens();
        expect(result.lens.points).toEqual(whole.lens.points);
        expect(result.lens.ids).toEqual(whole.lens.ids);
        expect(result.lens.probs).toEqual(whole.lens.probs);
        expect(await logitsOf(staged, V)).toEqual(wholeLogits);
        expect(result.dispatches).toBe(whole.dispatches);
        expect(result.readbackBytes).toBe(whole.readbackBytes);
        expect(result.flops).toBe(whole.flops);
        expect(result.dispatches).toBeGreaterThan(run.forward.dispatches);
        // The forward's FLOPs: the whole run's less the lens over 2L+1 points (logits_last in it).
        const lensFlops = forwardFlops(config, T, 2 * config.nLayer + 1) - forwardFlops(config, T, 0);
        expect(run.forward.flops).toBe(whole.flops - lensFlops);
        oneShot.destroy();
        staged.destroy();
      }
    });
  });
});

describe('staged run: superseded and dropped lenses', () => {
  const config = gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 24, nCtx: 16, vocabSize: 100 });
  const weights = peakyWeights(config, 3);
  const a = randomTokens(10, 100, 4);
  const b = randomTokens(7, 100, 5);

  test('a lens after another run is refused; a dropped one leaves the last lens to track', async () => {
    await withEngine(gpu, weights, async (engine) => {
      const session = engine.createSession({ lens: 'layers' });
      const first = await session.run(a);
      const trackA = await session.trackTokens([7]);
      expect(trackA.T).toBe(a.length);

      // b's forward, its lens never asked for: tracking still reads a's lens stack.
      const dropped = await session.runForward(b);
      expect(dropped.forward.tokens).toEqual(b);
      const again = await session.trackTokens([7]);
      expect(again.T).toBe(a.length);
      expect(again.prob).toEqual(trackA.prob);

      expect(dropped.superseded).toBe(false);
      const next = await session.runForward(a);
      expect(dropped.superseded).toBe(true);
      expect(next.superseded).toBe(false);
      await expect(dropped.lens()).rejects.toThrow(
        'this run was superseded: the session ran again since its forward',
      );
      const result = await next.lens();
      expect(result.lens.ids).toEqual(first.lens.ids);
      expect(result.lens.probs).toEqual(first.lens.probs);
      await expect(next.lens()).rejects.toThrow("this run's lens was already asked for");
      session.destroy();
      await expect(session.runForward(a)).rejects.toThrow('this prompt session was destroyed');
    });
  });
});
