// The WGSL forward against the CPU reference (src/model/reference.ts), in Node through Dawn on
// whatever adapter it finds (SwiftShader here). Tolerances (f32 weights): attention patterns max
// abs error ≤ 1e-5; logits and residuals ≤ 1e-4 × max |value|; the lens top-k ids match the
// reference's and their probabilities agree to 1e-4.
import { describe, expect, test } from 'vitest';
import { GpuWeights } from '../src/engine/weights';
import { activationBytes, captureBytes, formatBytes } from '../src/engine/cost';
import { lensChunk, lensTopK } from '../src/engine/session';
import { readBuffer } from '../src/gpu/readback';
import { gpt2Config } from '../src/model/fixtures';
import { referenceForward, unembed } from '../src/model/reference';
import { residualBoundaries } from '../src/model/hooks';
import { caseModels, referenceResiduals, type KernelCase, kernelCase } from './support/reference-cases';
import { loadEngine, patternError, useGpu, withEngine } from './support/tiny-engine';
import { maxAbs, randomTokens, sharpWeights, tinyWeights } from './support/tiny-models';

const gpu = useGpu();

const cases: KernelCase[] = [
  // n_embd and head size not multiples of 4: the scalar kernels (c_fc's 30×120 still takes vec4).
  kernelCase('D=30, HD=10, T=11', [1, 3, 30, 12, 130], 11, 'fallback'),
  kernelCase('H=3, D=48, T=nCtx', caseModels.vec4, 24, 'fallback'),
  kernelCase('H=5, D=60, nInner=100, T=1', [1, 5, 60, 16, 517, 100], 1, 'fallback'),
  kernelCase('wte split in 3 parts, T=13', [2, 2, 32, 20, 2100], 13, 'fallback', 1024),
  kernelCase('tiled kernels, H=3, D=72, T=67', [1, 3, 72, 70, 260], 67, 'tiled'),
  // attention_softmax_rows: each of its 64 threads owns every 64th group of 4 keys; past 256
  // keys the threads take a second group.
  kernelCase('tiled kernels, T=300 > 4·64 keys', [1, 2, 16, 300, 100], 300, 'tiled'),
];

describe.each(cases)(
  'forward matches the CPU reference: $name',
  ({ config, T, fallbackKernels, maxVocabRowsPerPart }) => {
    test('patterns, residual stream, logits and lens', async () => {
      const weights = sharpWeights(config, 7);
      const tokens = randomTokens(T, config.vocabSize, 3);
      await withEngine(gpu, weights, { fallbackKernels, maxVocabRowsPerPart }, async (engine) => {
        const session = engine.createSession({ capacity: 8 }); // grows to fit T
        const result = await session.run(tokens);
        const ref = referenceForward(weights, tokens);
        const { device } = gpu;
        const { nLayer: L, nHead: H, nEmbd: D, vocabSize: V } = config;

        // Attention patterns, from the capture textures.
        const worst = await patternError(
          device,
          (l) => session.capture({ kind: 'pattern', layer: l }),
          ref.patterns,
          H,
          T,
        );
        expect(worst).toBeLessThanOrEqual(1e-5);
        // The patterns are not trivially flat: some query puts most of its weight on one key.
        expect(maxAbs(ref.patterns[0]!)).toBeGreaterThan(0.5);

        // Residual stream at every boundary.
        const boundaries = residualBoundaries(L);
        const refResid = referenceResiduals(ref);
        for (const [i, point] of boundaries.entries()) {
          const got = new Float32Array(await readBuffer(device, session.capture(point), T * D * 4));
          const want = refResid[i]!;
          const scale = maxAbs(want);
          let err = 0;
          for (let j = 0; j < T * D; j++) err = Math.max(err, Math.abs(got[j]! - want[j]!));
          expect(err, `boundary ${i}`).toBeLessThanOrEqual(1e-4 * scale);
        }

        // Next-token logits of the last position.
        const logits = new Float32Array(await readBuffer(device, session.capture('logits_last'), V * 4));
        const wantLogits = ref.logits.subarray((T - 1) * V, T * V);
        let err = 0;
        for (let v = 0; v < V; v++) err = Math.max(err, Math.abs(logits[v]! - wantLogits[v]!));
        expect(err).toBeLessThanOrEqual(1e-4 * maxAbs(wantLogits));

        // Logit lens top-k at every resid_pre and the final resid_post.
        const k = result.lens.k;
        const lensResid = [...ref.residPre, ref.residPost];
        for (const [p, resid] of lensResid.entries()) {
          const lensLogits = unembed(weights, resid, T);
          for (let t = 0; t < T; t++) {
            const row = lensLogits.subarray(t * V, (t + 1) * V);
            const m = Math.max(...row);
            let z = 0;
            for (const l of row) z += Math.exp(l - m);
            const order = [...row.keys()].sort((a, b) => row[b]! - row[a]!);
            for (let i = 0; i < k; i++) {
              const at = (p * T + t) * k + i;
              const id = result.lens.ids[at]!;
              const wantP = Math.exp(row[order[i]!]! - m) / z;
              // Near-ties may swap order; then the probabilities still agree.
              expect(Math.abs(result.lens.probs[at]! - wantP)).toBeLessThanOrEqual(1e-4);
              expect(Math.abs(Math.exp(row[id]! - m) / z - wantP)).toBeLessThanOrEqual(1e-4);
            }
          }
        }
        expect(result.readbackBytes).toBe((L + 1) * T * k * 8);
        expect(result.dispatches).toBeLessThanOrEqual(8 * L + 4 * engine.weights.wteParts.length + 2);
      });
    });
  },
);

describe('bad input', () => {
  test('empty prompt, prompt longer than the context, token outside the vocabulary', async () => {
    const config = gpt2Config({ nLayer: 1, nHead: 2, nEmbd: 16, nCtx: 8, vocabSize: 50 });
    await withEngine(gpu, tinyWeights(config, 1), async (engine) => {
      const s = engine.createSession();
      await expect(s.run([])).rejects.toThrow('the prompt is empty: type at least one token');
      await expect(s.run(Array.from({ length: 9 }, () => 1))).rejects.toThrow(
        "the prompt has 9 tokens but the model's context is 8",
      );
      await expect(s.run([1, 50])).rejects.toThrow('token id 50 is outside the vocabulary (0…49)');
      // The session still works after refusing bad input.
      const ok = await s.run([1, 2, 3]);
      expect(ok.lens.ids.length).toBe(2 * 3 * ok.lens.k);
    });
  });
});

describe('capture formats and memory', () => {
  const config = gpt2Config({ nLayer: 2, nHead: 3, nEmbd: 24, nCtx: 40, vocabSize: 100 });
  const weights = sharpWeights(config, 5);
  const tokens = randomTokens(37, 100, 9);

  test.each([
    ['rgba16float', 1e-3], // f16 rounding: half an ulp of values ≤ 1
    ['rgba8unorm', 4e-3], // √p in 8 bits: |Δp| ≤ 2·√p·(0.5/255) + (0.5/255)² ≤ 4e-3
  ] as const)('%s captures hold the patterns within %s', async (format, tolerance) => {
    await withEngine(gpu, weights, async (engine) => {
      const session = engine.createSession({ captureFormat: format, lens: 'final' });
      await session.run(tokens);
      expect(session.captureFormat).toBe(format);
      const ref = referenceForward(weights, tokens);
      const T = tokens.length;
      const worst = await patternError(
        gpu.device,
        (l) => session.capture({ kind: 'pattern', layer: l }),
        ref.patterns,
        3,
        T,
      );
      expect(worst).toBeLessThanOrEqual(tolerance);
      expect(worst).toBeGreaterThan(0); // coarser than f32, or the format was not applied
    });
  });

  test('auto picks the finest format within the budget; memory matches the formulas', async () => {
    await withEngine(gpu, weights, async (engine) => {
      const C = 40;
      const f32Bytes = captureBytes(config, C, 'rgba32float');
      const roomy = engine.createSession({ capacity: C });
      expect(roomy.captureFormat).toBe('rgba32float');
      const tight = engine.createSession({ capacity: C, captureBudget: f32Bytes - 1 });
      expect(tight.captureFormat).toBe('rgba16float');
      const tiny = engine.createSession({ capacity: C, captureBudget: 1 });
      expect(tiny.captureFormat).toBe('rgba8unorm');
      await tiny.run(tokens); // the 8-bit pipeline runs
      for (const s of [roomy, tight, tiny]) {
        expect(s.bytes).toBe(
          captureBytes(config, C, s.captureFormat) +
            activationBytes(config, C, s.lensPoints.length, lensChunk, lensTopK),
        );
      }
      expect(engine.weights.bytes).toBe(GpuWeights.bytesNeeded(config, 'f32'));
    });
  });

  test('the lens can be limited to the final stream', async () => {
    await withEngine(gpu, weights, async (engine) => {
      const s = engine.createSession({ lens: 'final' });
      const r = await s.run(tokens);
      expect(r.lens.points).toEqual([{ kind: 'resid_post', layer: 1 }]);
      const ref = referenceForward(weights, tokens);
      const T = tokens.length;
      for (let t = 0; t < T; t++) {
        const row = ref.logits.subarray(t * 100, (t + 1) * 100);
        expect(r.lens.ids[t * r.lens.k]).toBe(row.indexOf(Math.max(...row)));
      }
    });
  });

  test('shader-f16 adapters get f16 weights; others a clear error when f16 is forced', async () => {
    if (gpu.summary.shaderF16) {
      const engine = await loadEngine(gpu, weights, { weightFormat: 'auto' });
      expect(engine.weights.format).toBe('f16');
      engine.dispose();
    } else {
      await expect(loadEngine(gpu, weights, { weightFormat: 'f16' })).rejects.toThrow(
        'f16 weights need the shader-f16 feature, which this GPU adapter does not have',
      );
      const engine = await loadEngine(gpu, weights, { weightFormat: 'auto' });
      expect(engine.weights.format).toBe('f32');
      engine.dispose();
    }
  });
});

describe('models too large for the device', () => {
  test('a weight larger than the largest buffer binding is refused before anything is read', async () => {
    const config = gpt2Config({ nLayer: 1, nHead: 128, nEmbd: 16384, nCtx: 8, vocabSize: 10 });
    const reader = {
      config,
      read: () => Promise.reject(new Error('nothing should be read')),
    };
    const limit = Math.min(gpu.device.limits.maxBufferSize, gpu.device.limits.maxStorageBufferBindingSize);
    await expect(loadEngine(gpu, reader, { weightFormat: 'f32' })).rejects.toThrow(
      `h.0.mlp.c_fc.weight needs 4.00 GiB in one buffer (f32), but this GPU's largest storage binding is ${formatBytes(limit)}: the model is too large for this device`,
    );
  });
});
