// The text view's readback kernel (shaders/instruments/token_attention.wgsl) in Node through Dawn:
// after a real forward pass, one token's row and column of every head of a layer, gathered on the
// GPU, against the CPU reference forward's pattern (f32 captures: 1e-5, the attention tolerance)
// and against the capture texture itself read back whole and decoded (every format: 1e-6).
import { describe, expect, test } from 'vitest';
import type { CaptureFormat } from '../src/gpu/kernels';
import { readTextureLayer } from '../src/gpu/readback';
import { viteShaders } from '../src/gpu/shaders-vite';
import { TokenAttentionKernel } from '../src/instruments/token-attention';
import { gpt2Config } from '../src/model/fixtures';
import { referenceForward } from '../src/model/reference';
import { randomTokens, sharpWeights } from './support/tiny-models';
import { useGpu, withEngine } from './support/tiny-engine';

const gpu = useGpu();
const config = gpt2Config({ nLayer: 2, nHead: 3, nEmbd: 24, nCtx: 64, vocabSize: 100 });
const weights = sharpWeights(config, 9);
const T = 37; // not a multiple of 4: the last texel is partly stale
const tokens = randomTokens(T, config.vocabSize, 2);
const ref = referenceForward(weights, tokens);

describe.each<CaptureFormat>(['rgba32float', 'rgba16float', 'rgba8unorm'])(
  'token attention, %s',
  (format) => {
    test('rows and columns of every head equal the capture (and the reference)', async () => {
      await withEngine(gpu, weights, async (engine) => {
        const session = engine.createSession({ capacity: 48, captureFormat: format });
        await session.run(tokens);
        const kernel = new TokenAttentionKernel(gpu.device, viteShaders);
        gpu.device.pushErrorScope('validation');
        let worstRef = 0;
        let worstCapture = 0;
        for (const layer of [0, 1]) {
          const texture = session.capture({ kind: 'pattern', layer });
          const whole = await Promise.all(
            Array.from({ length: config.nHead }, (_, h) => readTextureLayer(gpu.device, texture, h)),
          );
          const width = texture.width * 4;
          for (const token of [0, 1, 18, T - 1]) {
            const { row, column } = await kernel.read(texture, token, T);
            expect(row).toHaveLength(config.nHead);
            for (let h = 0; h < config.nHead; h++) {
              for (let i = 0; i < T; i++) {
                const r = i <= token ? whole[h]![token * width + i]! : 0;
                const c = i >= token ? whole[h]![i * width + token]! : 0;
                worstCapture = Math.max(
                  worstCapture,
                  Math.abs(row[h]![i]! - r),
                  Math.abs(column[h]![i]! - c),
                );
                const pr = i <= token ? ref.patterns[layer]![(h * T + token) * T + i]! : 0;
                const pc = i >= token ? ref.patterns[layer]![(h * T + i) * T + token]! : 0;
                worstRef = Math.max(worstRef, Math.abs(row[h]![i]! - pr), Math.abs(column[h]![i]! - pc));
              }
            }
          }
        }
        expect(await gpu.device.popErrorScope()).toBeNull();
        expect(worstCapture).toBeLessThanOrEqual(1e-6);
        // f32 is the reference's to 1e-5; f16 and √p in 8 bits round as their formats do.
        const tolerance = { rgba32float: 1e-5, rgba16float: 1e-3, rgba8unorm: 4e-3 }[format];
        expect(worstRef).toBeLessThanOrEqual(tolerance);
        kernel.dispose();
        session.destroy();
      });
    });
  },
);
