// The hooks the engine computes for their capture alone (hook_embed, hook_pos_embed, ln*.hook_scale,
// ln*.hook_normalized, attn.hook_q/k/v, attn.hook_attn_scores, mlp.hook_pre/post,
// ln_final.hook_scale/normalized, logits at every position), read back under TransformerLens's
// names and shapes (readHook), against the CPU reference's runWithCache: every hook of
// allHookNames. Tolerances: patterns 1e-5 max abs, every other hook 1e-4 × max |value|; the masked
// attention scores exactly -Infinity. Capturing them changes nothing else: the lens and
// logits_last are bit-identical to a default session's.
import { describe, expect, test } from 'vitest';
import { filesFromDirectory } from '../src/cli/node-source';
import { readHook } from '../src/engine/hook-reader';
import type { PromptSession } from '../src/engine/session';
import { readBuffer } from '../src/gpu/readback';
import type { Ablation } from '../src/model/ablation';
import { gpt2Config } from '../src/model/fixtures';
import { allHookNames } from '../src/model/hook-names';
import { openModel } from '../src/model/load';
import { runWithCache, type ActivationCache } from '../src/model/reference-hooks';
import type { Gpt2Weights } from '../src/model/types';
import { kernelCases } from './support/kernel-cases';
import { useGpu, withEngine, type ModelSource } from './support/tiny-engine';
import { maxAbs, randomTokens, sharpWeights } from './support/tiny-models';

const gpu = useGpu();

/** Checks every TransformerLens hook of `session`'s last run against the reference cache. */
async function checkHooks(session: PromptSession, cache: ActivationCache, T: number, ablate?: Ablation) {
  for (const [name, want] of cache) {
    const got = await readHook(gpu.device, session, name, T, 'all', ablate);
    expect(got.length, name).toBe(want.data.length);
    let err = 0;
    let scale = 0;
    for (let i = 0; i < got.length; i++) {
      const w = want.data[i]!;
      if (w === -Infinity) {
        expect(got[i], `${name}[${i}]`).toBe(-Infinity);
        continue;
      }
      err = Math.max(err, Math.abs(got[i]! - w));
      scale = Math.max(scale, Math.abs(w));
    }
    const bound = name.endsWith('hook_pattern') ? 1e-5 : 1e-4 * scale;
    expect(err, name).toBeLessThanOrEqual(bound);
  }
  const last = await readHook(gpu.device, session, 'logits', T, 'last');
  const all = cache.get('logits')!.data;
  const V = last.length;
  const want = all.subarray((T - 1) * V, T * V);
  let err = 0;
  for (let i = 0; i < V; i++) err = Math.max(err, Math.abs(last[i]! - want[i]!));
  expect(err, 'logits (last)').toBeLessThanOrEqual(1e-4 * maxAbs(want));
}

async function runBoth(
  source: ModelSource,
  weights: Gpt2Weights,
  tokens: number[],
  fallbackKernels: boolean | undefined,
  ablate?: Ablation,
) {
  const names = allHookNames(weights.config.nLayer);
  const opts = fallbackKernels === undefined ? {} : { fallbackKernels };
  await withEngine(gpu, source, opts, async (engine) => {
    const every = engine.createSession({
      capacity: 8,
      namesFilter: () => true,
      captureFormat: 'rgba32float',
    });
    const plain = engine.createSession({ capacity: 8, captureFormat: 'rgba32float' });
    const a = await every.run(tokens);
    const b = await plain.run(tokens);
    await checkHooks(every, runWithCache(weights, tokens, names, { logits: 'all' }), tokens.length);
    expect(a.lens.ids).toEqual(b.lens.ids);
    expect(a.lens.probs).toEqual(b.lens.probs);
    const logits = async (s: PromptSession) =>
      new Float32Array(await readBuffer(gpu.device, s.capture('logits_last')));
    expect(await logits(every)).toEqual(await logits(plain));
    if (ablate) {
      await every.run(tokens, { ablate });
      // An ablated MLP's hook_mlp_out: the engine's capture is the output before ablation (as
      // referenceForward's, checked in capture-hooks.test.ts); readHook gives the replacement, as
      // runWithCache.
      const cache = runWithCache(weights, tokens, names, { logits: 'all', ablate });
      await checkHooks(every, cache, tokens.length, ablate);
    }
  });
}

describe.each(kernelCases)('every TransformerLens hook on the GPU: $name', ({ config, fallbackKernels }) => {
  test('clean, then with an MLP zero-ablated (its hook_pre and hook_post still computed)', async () => {
    const weights = sharpWeights(config, 17);
    const tokens = randomTokens(11, config.vocabSize, 5);
    const ablate: Ablation = { heads: [{ layer: 1, head: 0 }], mlps: [0], mode: 'zero' };
    await runBoth(weights, weights, tokens, fallbackKernels, ablate);
  });
});

describe.each(kernelCases)('a zeroed MLP whose inputs are captured: $name', ({ config, fallbackKernels }) => {
  test('c_fc still runs for ln2.hook_normalized and mlp.hook_pre/post (hook_mlp_out not captured)', async () => {
    const weights = sharpWeights(config, 19);
    const tokens = randomTokens(9, config.vocabSize, 6);
    const ablate: Ablation = { heads: [], mlps: [1], mode: 'zero' };
    const names = allHookNames(config.nLayer).filter((n) => !n.endsWith('hook_mlp_out'));
    await withEngine(gpu, weights, { fallbackKernels }, async (engine) => {
      const s = engine.createSession({ capacity: 16, namesFilter: names, captureFormat: 'rgba32float' });
      const clean = await s.run(tokens);
      const zeroed = await s.run(tokens, { ablate });
      await checkHooks(
        s,
        runWithCache(weights, tokens, names, { logits: 'all', ablate }),
        tokens.length,
        ablate,
      );
      // Its c_proj is skipped, its c_fc is not: T·D·F multiply-adds fewer than the clean run.
      const { nEmbd: D, nInner: F } = config;
      expect(clean.flops - zeroed.flops).toBe(2 * tokens.length * D * F);
    });
  });
});

describe.each(kernelCases)('some of q, k and v: $name', ({ config, fallbackKernels }) => {
  test('one dispatch writes only those captured (hook_k alone, hook_q with hook_v)', async () => {
    const weights = sharpWeights(config, 23);
    const tokens = randomTokens(7, config.vocabSize, 8);
    const names = ['blocks.0.attn.hook_k', 'blocks.1.attn.hook_q', 'blocks.1.attn.hook_v', 'logits'] as const;
    await withEngine(gpu, weights, { fallbackKernels }, async (engine) => {
      const base = { capacity: 8, lens: 'final' as const };
      const some = engine.createSession({ ...base, namesFilter: names });
      const none = engine.createSession({ ...base, namesFilter: [] });
      const r1 = await some.run(tokens);
      const r0 = await none.run(tokens);
      // The session also captures its lens point (the final resid_post) and logits_last.
      const captured = some.captures.filter((n) => n !== 'logits_last');
      await checkHooks(some, runWithCache(weights, tokens, captured, { logits: 'all' }), tokens.length);
      // One per layer; `logits` none on the tiled and vec4 paths (the lens writes it), ln_final and
      // the unembedding on the scalar one.
      const inLens = !fallbackKernels || config.nEmbd % 4 === 0;
      expect(r1.dispatches - r0.dispatches).toBe(2 + (inLens ? 0 : 1 + engine.weights.wteParts.length));
      expect(() => some.capture('blocks.0.attn.hook_q')).toThrow(/not captured/);
    });
  });
});

test('every TransformerLens hook on the GPU: the bundled model', async () => {
  const model = await openModel(await filesFromDirectory('static/models/gpt2-brown-mini'));
  const weights = await model.checkpoint.loadWeights();
  const tokens = model.tokenizer.encode('The cat sat on the mat. The cat');
  await runBoth(model.checkpoint, weights, tokens, undefined);
});

test('a capture too large for one GPU binding is a clear error when the session is made', async () => {
  const limit = gpu.device.limits.maxStorageBufferBindingSize;
  const nCtx = 1024;
  // logits [T, V] at every position of a full context: just over the binding limit.
  const vocabSize = Math.floor(limit / (4 * nCtx)) + 1;
  const config = gpt2Config({ nLayer: 1, nHead: 1, nEmbd: 4, nCtx, vocabSize });
  await withEngine(gpu, sharpWeights(config, 3), async (engine) => {
    expect(() => engine.createSession({ capacity: nCtx, namesFilter: ['logits'] })).toThrow(
      /^logits for 1024 tokens takes .* in one buffer, more than this GPU binds at once/,
    );
    // A shorter prompt fits.
    const s = engine.createSession({ capacity: 8, lens: 'final', namesFilter: ['logits'] });
    s.destroy();
  });
});
