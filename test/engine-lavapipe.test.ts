// The engine on a second Vulkan implementation: Mesa's lavapipe (llvmpipe), which unlike
// SwiftShader has shader-f16 and, like many real GPUs, the default 128 MiB storage-binding limit.
// It covers what SwiftShader cannot: f16 weight storage, and GPT-2's 154 MB f32 wte split into parts.
// Needs Mesa ≥ 24 (Debian bookworm-backports' mesa-vulkan-drivers; tools/system-deps.sh installs it).
// Tolerances, f16 weights: with weights exactly representable in f16 the f32 tolerances hold
// (attention ≤ 1e-5, logits ≤ 1e-4 × max|logit|); with arbitrary weights rounded to f16,
// attention ≤ 2e-3 and logits ≤ 1e-2 × max|logit| against the reference on the unrounded weights.
import { existsSync } from 'node:fs';
import { beforeAll, expect, test } from 'vitest';
import { nodeGpu } from '../src/cli/node-gpu';
import { Engine } from '../src/engine/engine';
import { weightReaderFromMemory } from '../src/engine/weights';
import { readBuffer } from '../src/gpu/readback';
import { viteShaders } from '../src/gpu/shaders-vite';
import { gpt2Config } from '../src/model/fixtures';
import { referenceForward } from '../src/model/reference';
import type { Gpt2Config, Gpt2Weights } from '../src/model/types';
import { patternError, useGpu } from './support/tiny-engine';
import { tinyWeights } from './support/tiny-models';

const lavapipeIcd = '/usr/share/vulkan/icd.d/lvp_icd.json';

const gpu = useGpu(() => {
  // Each vitest file runs in its own process: this one's Dawn sees lavapipe only.
  expect(existsSync(lavapipeIcd), `${lavapipeIcd} missing: run tools/system-deps.sh`).toBe(true);
  process.env.VK_ICD_FILENAMES = lavapipeIcd;
  return nodeGpu();
});
beforeAll(() => {
  expect(gpu.summary.vendor).toBe('mesa');
  expect(gpu.summary.shaderF16, 'lavapipe without shader-f16: Mesa ≥ 24 is needed').toBe(true);
});

// ×8 keeps exact16 values exact (a power of two) and sharpens the attention.
const sharp = (config: Gpt2Config, seed: number, exact16: boolean): Gpt2Weights =>
  tinyWeights(config, seed, { attention: 8, exact16 });

async function compare(engine: Engine, weights: Gpt2Weights, tokens: number[]) {
  const session = engine.createSession({ lens: 'final' });
  await session.run(tokens);
  const ref = referenceForward(weights, tokens);
  const { nHead: H, vocabSize: V } = weights.config;
  const T = tokens.length;
  const attention = await patternError(
    gpu.device,
    (l) => session.capture({ kind: 'pattern', layer: l }),
    ref.patterns,
    H,
    T,
  );
  const logits = new Float32Array(await readBuffer(gpu.device, session.capture('logits_last')));
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

// Both kernel sets: lavapipe is a fallback adapter, so the tiled kernels (real GPUs) are forced.
test.each([
  { kernels: 'barrier-free', fallbackKernels: true },
  { kernels: 'tiled', fallbackKernels: false },
])(
  'f16 weights holding f16-exact values match the reference to f32 tolerances ($kernels)',
  async (c) => {
    const weights = sharp(config, 4, true);
    const engine = await Engine.load(gpu, viteShaders, weightReaderFromMemory(weights), {
      fallbackKernels: c.fallbackKernels,
    });
    try {
      expect(engine.weights.format).toBe('f16');
      const { attention, logits } = await compare(engine, weights, tokens);
      expect(attention).toBeLessThanOrEqual(1e-5);
      expect(logits).toBeLessThanOrEqual(1e-4);
    } finally {
      engine.dispose();
    }
  },
  400_000,
); // the tiled pipelines compile slowly on lavapipe (minutes with a cold shader cache)

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

// (The barrier-free kernels: lavapipe takes 7-15 s to compile each tiled pipeline, and the tiled
// kernels over wte parts are checked on SwiftShader in lens.test.ts.)
test("GPT-2's f32 wte (154 MB) is split under a 128 MiB binding limit", async () => {
  const big = gpt2Config({ nLayer: 1, nHead: 12, nEmbd: 768, nCtx: 16, vocabSize: 50257 });
  const weights = tinyWeights(big, 6);
  const engine = await Engine.load(gpu, viteShaders, weightReaderFromMemory(weights), {
    weightFormat: 'f32',
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
}, 300_000); // a 40M-parameter model through lavapipe and the f64 reference: slow on a busy CPU
