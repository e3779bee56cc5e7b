// Every naming variant and dtype of one checkpoint, through the real loading path (safetensors →
// naming variants → weights), gives the same reference logits; and the engine, reading a
// checkpoint tensor by tensor, matches the reference on an F16 and a BF16 file.
import { expect, test } from 'vitest';
import { readBuffer } from '../src/gpu/readback';
import { bytesSource } from '../src/model/byte-source';
import { openGpt2Checkpoint } from '../src/model/checkpoint';
import { checkpointVariants, encodeGpt2Checkpoint, gpt2Config } from '../src/model/fixtures';
import { referenceForward } from '../src/model/reference';
import { openSafetensors } from '../src/model/safetensors';
import { useGpu, withEngine } from './support/tiny-engine';
import { tinyWeights } from './support/tiny-models';

const config = gpt2Config({ nLayer: 2, nHead: 4, nEmbd: 32, nCtx: 16, vocabSize: 200 });
const weights = tinyWeights(config, 21, { exact16: true });
const tokens = [5, 17, 199, 0, 42, 42, 7];

const open = async (variant: (typeof checkpointVariants)[number]) =>
  openGpt2Checkpoint(
    config,
    await openSafetensors(bytesSource('model.safetensors', encodeGpt2Checkpoint(weights, variant))),
  );

test('every naming variant and dtype gives the same reference logits', async () => {
  const want = referenceForward(weights, tokens).logits;
  expect(checkpointVariants.length).toBe(24);
  for (const variant of checkpointVariants) {
    const loaded = await (await open(variant)).loadWeights();
    const got = referenceForward(loaded, tokens).logits;
    expect(got, JSON.stringify(variant)).toEqual(want);
  }
});

const gpu = useGpu();

test.each(['F16', 'BF16'] as const)(
  'the engine streams a %s checkpoint and matches the reference',
  async (dtype) => {
    const checkpoint = await open({ dtype, prefix: true, lmHead: true, attnBias: true });
    await withEngine(gpu, checkpoint, async (engine) => {
      const session = engine.createSession({ lens: 'final' });
      await session.run(tokens);
      const logits = new Float32Array(await readBuffer(gpu.device, session.capture('logits_last')));
      const ref = referenceForward(weights, tokens).logits.subarray((tokens.length - 1) * 200);
      const scale = Math.max(...ref.map(Math.abs));
      for (let v = 0; v < 200; v++) expect(Math.abs(logits[v]! - ref[v]!)).toBeLessThanOrEqual(1e-4 * scale);
    });
  },
);
