// The studio's state layer in Node on a real WebGPU device: loading a model from picked files,
// running a prompt, a failed load that keeps the previous model, and recovery from a lost device.
import { beforeAll, expect, test } from 'vitest';
import { nodeGpuApi } from '../src/cli/node-gpu';
import { gpt2Config } from '../src/model/fixtures';
import { referenceForward } from '../src/model/reference';
import { Studio } from '../src/state/studio.svelte';
import { PromptRun } from '../src/state/prompt-run.svelte';
import { watchDevices } from './support/tiny-engine';
import { checkpointOf, gpt2Tokenizer, pickedFiles, tinyWeights } from './support/tiny-models';

const tokenizer = gpt2Tokenizer();
const config = gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 16, nCtx: 24, vocabSize: 50257 });
const weights = tinyWeights(config, 8, { wte: 20 }); // no near-ties
const checkpoint = checkpointOf(weights);
const files = (safetensors: Uint8Array) => pickedFiles(weights, safetensors);

/** The real Dawn GPU, with every device it hands out remembered, so a test can take one away. */
const devices: GPUDevice[] = [];
let gpuApi: GPU;
beforeAll(async () => {
  gpuApi = watchDevices(await nodeGpuApi(), (device) => devices.push(device));
});

function topToken(prompt: string): number {
  const tokens = tokenizer.encode(prompt);
  const V = config.vocabSize;
  const row = referenceForward(weights, tokens).logits.subarray((tokens.length - 1) * V);
  let best = 0;
  for (let v = 1; v < V; v++) if (row[v]! > row[best]!) best = v;
  return best;
}

async function predict(run: PromptRun): Promise<number> {
  await run.run(run.tokens);
  expect(run.error).toBeUndefined();
  const r = run.lensResult!;
  const T = r.tokens.length;
  return r.lens.ids[((r.lens.points.length - 1) * T + T - 1) * r.lens.k]!;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 600 && !condition(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

test('load, run, keep the model through a failed load, recover from a lost device', async () => {
  const studio = new Studio({ gpu: () => gpuApi, environment: () => 'Node' });
  try {
    expect(await studio.start()).toBe(true);
    expect(await studio.loadModel({ kind: 'files', files: files(checkpoint) })).toBe(true);
    expect(studio.model?.config.nLayer).toBe(2);
    const run = new PromptRun(studio, 'Hello world');
    expect(run.tokens).toEqual([15496, 995]);
    expect(await predict(run)).toBe(topToken('Hello world'));

    // A truncated checkpoint: a specific message, and the previous model keeps working.
    expect(await studio.loadModel({ kind: 'files', files: files(checkpoint.subarray(0, 5000)) })).toBe(false);
    expect(studio.load.state).toBe('error');
    expect(studio.load.state === 'error' && studio.load.message).toMatch(
      /model\.safetensors: .*truncated|ends/,
    );
    run.text = 'The capital of France is';
    expect(await predict(run)).toBe(topToken('The capital of France is'));

    // The device goes away (as in a driver reset): a new one, the model re-uploaded, runs resume.
    expect(devices).toHaveLength(1);
    devices[0]!.destroy();
    await until(
      () => studio.gpu.state === 'ready' && studio.model !== undefined && devices.length === 2,
      'recovery',
    );
    expect(studio.gpu.state === 'ready' && studio.gpu.recovered).toBe(1);
    expect(await predict(run)).toBe(topToken('The capital of France is'));
    run.dispose();
  } finally {
    studio.dispose();
  }
});
