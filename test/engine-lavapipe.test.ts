// The engine on a second Vulkan implementation: Mesa's lavapipe (llvmpipe), which unlike
// SwiftShader has shader-f16 and, like many real GPUs, the default 128 MiB storage-binding limit.
// It covers what SwiftShader cannot: f16 weight storage, and GPT-2's 154 MB f32 wte split into parts.
// Needs Mesa ≥ 24 (Debian bookworm-backports' mesa-vulkan-drivers; tools/system-deps.sh installs it).
// Tolerances, f16 weights: with weights exactly representable in f16 the f32 tolerances hold
// (attention ≤ 1e-5, logits ≤ 1e-4 × max|logit|); with arbitrary weights rounded to f16,
// attention ≤ 2e-3 and logits ≤ 1e-2 × max|logit| against the reference on the unrounded weights.
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { nodeGpu } from '../src/cli/node-gpu';
import { Engine } from '../src/engine/engine';
import { weightReaderFromMemory } from '../src/engine/weights';
import type { GpuContext } from '../src/gpu/device';
import { readBuffer, readTextureLayer } from '../src/gpu/readback';
import { viteShaders } from '../src/gpu/shaders-vite';
import { gpt2Config, randomGpt2Weights } from '../src/model/fixtures';
import { referenceForward } from '../src/model/reference';
import type { Gpt2Config, Gpt2Weights } from '../src/model/types';

const lavapipeIcd = '/usr/share/vulkan/icd.d/lvp_icd.json';
let gpu: GpuContext;

beforeAll(async () => {
  // Each vitest file runs in its own process: this one's Dawn sees lavapipe only.
  expect(existsSync(lavapipeIcd), `${lavapipeIcd} missing: run tools/system-deps.sh`).toBe(true);
  process.env.VK_ICD_FILENAMES = lavapipeIcd;
  gpu = await nodeGpu();
  expect(gpu.summary.vendor).toBe('mesa');
  expect(gpu.summary.shaderF16, 'lavapipe without shader-f16: Mesa ≥ 24 is needed').toBe(true);
});
afterAll(() => gpu?.device.destroy());

function sharp(config: Gpt2Config, seed: number, exact16: boolean): Gpt2Weights {
  const w = randomGpt2Weights(config, seed, { exact16 });
  const D = config.nEmbd;
  for (const b of w.blocks) {
    const cAttn = b.cAttn.weight.data as Float32Array;
    // ×8 keeps exact16 values exact (a power of two) and sharpens the attention.
    for (let i = 0; i < D; i++) for (let j = 0; j < 2 * D; j++) cAttn[i * 3 * D + j]! *= 8;
  }
  return w;
}

async function compare(engine: Engine, weights: Gpt2Weights, tokens: number[]) {
  const session = engine.createSession({ lens: 'final' });
  await session.run(tokens);
  const ref = referenceForward(weights, tokens);
  const { nLayer: L, nHead: H, vocabSize: V } = weights.config;
  const T = tokens.length;
  let attention = 0;
  for (let l = 0; l < L; l++)
    for (let h = 0; h < H; h++) {
      const tex = session.patternTexture(l);
      const got = await readTextureLayer(gpu.device, tex, h);
      for (let q = 0; q < T; q++)
        for (let k = 0; k < T; k++)
          attention = Math.max(
            attention,
            Math.abs(got[q * tex.width * 4 + k]! - ref.patterns[l]![(h * T + q) * T + k]!),
          );
    }
  const logits = new Float32Array(await readBuffer(gpu.device, session.logitsLast));
  const want = ref.logits.subarray((T - 1) * V, T * V);
  let err = 0;
  let scale = 0;
  for (let v = 0; v < V; v++) {
    err = Math.max(err, Math.abs(logits[v]! - want[v]!));
    scale = Math.max(scale, Math.abs(want[v]!));
  }
  return { attention, logits: err / scale };
}

const config = gpt2Config({ nLayer: 2, nHead: 3, nEmbd: 48, nCtx: 24, vocabSize: 500 });
const tokens = [3, 77, 499, 0, 12, 12, 250, 3, 77, 499];

test('f16 weights holding f16-exact values match the reference to f32 tolerances', async () => {
  const weights = sharp(config, 4, true);
  const engine = await Engine.load(gpu, viteShaders, weightReaderFromMemory(weights));
  try {
    expect(engine.weights.format).toBe('f16');
    const { attention, logits } = await compare(engine, weights, tokens);
    expect(attention).toBeLessThanOrEqual(1e-5);
    expect(logits).toBeLessThanOrEqual(1e-4);
  } finally {
    engine.dispose();
  }
});

test('f16 weights rounded from f32 stay within the f16 tolerance', async () => {
  const weights = sharp(config, 5, false);
  const engine = await Engine.load(gpu, viteShaders, weightReaderFromMemory(weights), {
    weightFormat: 'f16',
  });
  try {
    const { attention, logits } = await compare(engine, weights, tokens);
    expect(attention).toBeLessThanOrEqual(2e-3);
    expect(logits).toBeLessThanOrEqual(1e-2);
    expect(logits).toBeGreaterThan(0); // rounding happened: the f16 path really ran
  } finally {
    engine.dispose();
  }
});

test("GPT-2's f32 wte (154 MB) is split under a 128 MiB binding limit; tiled kernels", async () => {
  const big = gpt2Config({ nLayer: 1, nHead: 12, nEmbd: 768, nCtx: 16, vocabSize: 50257 });
  const weights = randomGpt2Weights(big, 6);
  const engine = await Engine.load(gpu, viteShaders, weightReaderFromMemory(weights), {
    weightFormat: 'f32',
    fallbackKernels: false,
  });
  try {
    expect(gpu.device.limits.maxStorageBufferBindingSize).toBe(128 * 2 ** 20);
    expect(engine.weights.wteParts.length).toBe(2);
    const { attention, logits } = await compare(engine, weights, [50256, 464, 3139, 286, 4881, 318]);
    expect(attention).toBeLessThanOrEqual(1e-5);
    expect(logits).toBeLessThanOrEqual(1e-4);
  } finally {
    engine.dispose();
  }
});
