// Direct logit attribution on the GPU (src/engine/attribution.ts) against the CPU reference
// (src/model/reference-causal.ts): every term within 1e-4 × max(1, max |term|), the terms sum to the
// logit difference, on tiny random models from checkpoints in the hub's layouts (F32, F16 with the
// old names) with both kernel sets, and on the bundled model (F16 checkpoint).
import { describe, expect, test } from 'vitest';
import { attributeOnGpu, attributionHooks } from '../src/engine/attribution';
import type { Engine } from '../src/engine/engine';
import { gpt2Config } from '../src/model/fixtures';
import { directLogitAttribution, type Attribution } from '../src/model/reference-causal';
import { checkpointCases, checkpointEngine, useGpu, withBundledModel } from './support/tiny-engine';
import { randomTokens, tinyWeights } from './support/tiny-models';

const gpu = useGpu();

function expectClose(got: Attribution, want: Attribution) {
  const flat = (a: Attribution) => [
    ...a.heads.flat(),
    ...a.attn_bias,
    ...a.mlp,
    a.embed,
    a.ln_final_bias,
    a.total,
  ];
  const w = flat(want);
  const g = flat(got);
  const bound = 1e-4 * Math.max(1, ...w.map(Math.abs));
  let err = 0;
  for (let i = 0; i < w.length; i++) err = Math.max(err, Math.abs(g[i]! - w[i]!));
  expect(err).toBeLessThanOrEqual(bound);
  expect(got.position).toBe(want.position);
  expect(Math.abs(got.sum_error)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(got.total)));
}

async function gpuDla(engine: Engine, tokens: number[], answer: number, foil: number) {
  const session = engine.createSession({ lens: 'final', namesFilter: attributionHooks(engine.config) });
  try {
    await session.run(tokens);
    return await attributeOnGpu(engine, session, tokens, answer, foil);
  } finally {
    session.destroy();
  }
}

const config = gpt2Config({ nLayer: 2, nHead: 3, nEmbd: 24, nCtx: 16, vocabSize: 150 });
const weights = tinyWeights(config, 9, { attention: 8, wte: 4 });
const variants = checkpointCases('F16');

describe.each(variants)('attribution on the GPU: $name', ({ variant, fallbackKernels }) => {
  test('every term against the reference; the terms sum to the logit difference', async () => {
    const [engine, loaded] = await checkpointEngine(gpu, config, weights, variant, { fallbackKernels });
    try {
      const tokens = randomTokens(11, config.vocabSize, 2);
      for (const [a, f] of [
        [3, 140],
        [77, 12],
      ] as const) {
        const got = await gpuDla(engine, tokens, a, f);
        expectClose(got, directLogitAttribution(loaded, tokens, a, f));
        expect(got.dispatches).toBe(config.nLayer + 2); // + one gather per wte part
      }
      await expect(gpuDla(engine, tokens, 4, 4)).rejects.toThrow(
        'the answer and the foil are the same token',
      );
    } finally {
      engine.dispose();
    }
  });
});

test('attribution on the bundled model against the reference', async () => {
  await withBundledModel(gpu, async (model, engine, loaded) => {
    const tokens = model.tokenizer.encode('When Mary and John went to the store, John gave a drink to');
    const [a] = model.tokenizer.encode(' Mary');
    const [f] = model.tokenizer.encode(' John');
    const got = await gpuDla(engine, tokens, a!, f!);
    expectClose(got, directLogitAttribution(loaded, tokens, a!, f!));
  });
});
