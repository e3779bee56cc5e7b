// Activation patching on the GPU as batched work (src/engine/patching.ts) against the CPU
// reference (activationPatching in src/model/reference-causal.ts): every map value, compared as the
// patched run's logit difference (value × (m_A − m_B) + m_B) within 1e-4 × max(1, |m_A|, |m_B|), on a
// tiny random model from checkpoints in the hub's layouts with both kernel sets and on the bundled
// model (the IOI pair); the work stays a few submissions and readbacks; bad input is refused.
import { describe, expect, test } from 'vitest';
import type { Engine } from '../src/engine/engine';
import { estimatePatching, patchOnGpu, type GpuPatching } from '../src/engine/patching';
import { gpt2Config, type CheckpointVariant } from '../src/model/fixtures';
import {
  activationPatching,
  directLogitAttribution,
  type PatchingResult,
} from '../src/model/reference-causal';
import type { Gpt2Weights } from '../src/model/types';
import { checkpointCases, checkpointEngine, useGpu, withBundledModel } from './support/tiny-engine';
import { corruptedPair, tinyWeights } from './support/tiny-models';

const gpu = useGpu();

function expectMapsClose(got: GpuPatching, want: PatchingResult) {
  const gap = want.clean_logit_diff - want.corrupt_logit_diff;
  const scale = 1e-4 * Math.max(1, Math.abs(want.clean_logit_diff), Math.abs(want.corrupt_logit_diff));
  expect(Math.abs(got.clean_logit_diff - want.clean_logit_diff)).toBeLessThanOrEqual(scale);
  expect(Math.abs(got.corrupt_logit_diff - want.corrupt_logit_diff)).toBeLessThanOrEqual(scale);
  for (const kind of ['resid_pre', 'attn_out', 'mlp_out', 'z'] as const) {
    const g = got[kind];
    const w = want[kind];
    expect(g.map((r) => r.length)).toEqual(w.map((r) => r.length));
    let err = 0;
    for (let l = 0; l < w.length; l++)
      for (let i = 0; i < w[l]!.length; i++)
        err = Math.max(err, Math.abs(g[l]![i]! - w[l]![i]!) * Math.abs(gap));
    expect(err, kind).toBeLessThanOrEqual(scale);
  }
}

const config = gpt2Config({ nLayer: 2, nHead: 3, nEmbd: 24, nCtx: 16, vocabSize: 150 });
const weights = tinyWeights(config, 5, { attention: 8, wte: 4 });
const T = 6;
const { clean, corrupt } = corruptedPair(T, config.vocabSize, 3, [1, 3]);
const [answer, foil] = [5, 17];

const variants = checkpointCases('BF16');

function open(variant: CheckpointVariant, fallbackKernels: boolean): Promise<[Engine, Gpt2Weights]> {
  return checkpointEngine(gpu, config, weights, variant, { fallbackKernels });
}

describe.each(variants)('activation patching on the GPU: $name', ({ variant, fallbackKernels }) => {
  test('every map value against the reference, in a few submissions and readbacks', async () => {
    const [engine, loaded] = await open(variant, fallbackKernels);
    try {
      let progress = 0;
      const got = await patchOnGpu(engine, clean, corrupt, answer, foil, {
        onProgress: (d) => (progress = d),
      });
      expectMapsClose(got, activationPatching(loaded, clean, corrupt, answer, foil));
      const dla = directLogitAttribution(loaded, clean, answer, foil);
      expect(Math.abs(got.dla.total - dla.total)).toBeLessThanOrEqual(
        1e-4 * Math.max(1, Math.abs(dla.total)),
      );
      expect(progress).toBe(4);
      // Two sessions, attribution, the clean/corrupted metrics, one per hook kind.
      expect(got.submissions).toBe(2 + 1 + 1 + 4);
      expect(got.readbacks).toBe(2 + 1 + 1 + 1);
      expect(estimatePatching(engine, T).runs).toBe(3 * 2 * T + 2 * 3);
    } finally {
      engine.dispose();
    }
  });
});

test('bad input: lengths, BOS, answer = foil, m_A ≈ m_B, cancel', async () => {
  const [engine] = await open(variants[0]!.variant, true);
  try {
    await expect(patchOnGpu(engine, clean, clean.slice(1), answer, foil)).rejects.toThrow(
      'the clean prompt has 6 tokens and the corrupted one 5',
    );
    await expect(patchOnGpu(engine, [50, ...clean.slice(1)], clean, 7, 7)).rejects.toThrow(
      'the same token (7)',
    );
    await expect(patchOnGpu(engine, clean, clean, answer, foil)).rejects.toThrow('is undefined');
    const ac = new AbortController();
    ac.abort(new Error('cancelled by the test'));
    await expect(patchOnGpu(engine, clean, corrupt, answer, foil, { signal: ac.signal })).rejects.toThrow(
      'cancelled by the test',
    );
  } finally {
    engine.dispose();
  }
});

test('activation patching on the bundled model (IOI pair) against the reference', async () => {
  await withBundledModel(gpu, async (model, engine, loaded) => {
    const tok = model.tokenizer;
    const a = tok.encode('When Mary and John went to the store, John gave a drink to');
    const b = tok.encode('When Mary and John went to the store, Mary gave a drink to');
    const [mary] = tok.encode(' Mary');
    const [john] = tok.encode(' John');
    const got = await patchOnGpu(engine, a, b, mary!, john!);
    expectMapsClose(got, activationPatching(loaded, a, b, mary!, john!));
    // The maps carry signal: the name token's position at layer 0 moves the logit difference.
    expect(Math.max(...got.resid_pre.flat().map(Math.abs))).toBeGreaterThan(0.05);
    // Same last token: nothing to patch (the batched kernels round differently from the session).
    expect(Math.abs(got.resid_pre[0]![a.length - 1]!)).toBeLessThan(1e-4);
  });
});
