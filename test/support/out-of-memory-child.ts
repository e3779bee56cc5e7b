// Run by test/out-of-memory.test.ts as its own process: real out-of-memory from the GPU driver.
// SwiftShader allocates GPU memory from the process's address space, so after everything is set
// up this process limits its own address space (prlimit) to what it uses plus a little headroom;
// the next large GPU allocation then fails in the driver (vkAllocateMemory:
// VK_ERROR_OUT_OF_DEVICE_MEMORY), as on a GPU whose memory is full. Prints one JSON line.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { nodeGpu } from '../../src/cli/node-gpu';
import { nodeShaders } from '../../src/cli/node-shaders';
import { Engine } from '../../src/engine/engine';
import { weightReaderFromMemory } from '../../src/engine/weights';
import { GpuOutOfMemoryError } from '../../src/gpu/device';
import { readTextureLayer } from '../../src/gpu/readback';
import { gpt2Config, randomGpt2Weights } from '../../src/model/fixtures';

const headroom = 16 * 2 ** 20;

function addressSpace(): number {
  const kb = /VmSize:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
  if (!kb) throw new Error('no VmSize in /proc/self/status');
  return Number(kb) * 1024;
}
/** Sets the soft limit only, so that it can be lifted again without privileges. */
const limit = (bytes: number | 'unlimited') =>
  execFileSync('prlimit', ['--pid', String(process.pid), `--as=${bytes}:`]);

function failure(e: unknown) {
  return {
    type: e instanceof Error ? e.name : typeof e,
    oom: e instanceof GpuOutOfMemoryError,
    neededBytes: e instanceof GpuOutOfMemoryError ? e.neededBytes : undefined,
    message: e instanceof Error ? e.message : String(e),
  };
}

const gpu = await nodeGpu();
const shaders = nodeShaders();
// A small model that loads; its context long enough that a long prompt needs 100s of MiB.
const small = gpt2Config({ nLayer: 2, nHead: 4, nEmbd: 32, nCtx: 2048, vocabSize: 300 });
const engine = await Engine.load(gpu, shaders, weightReaderFromMemory(randomGpt2Weights(small, 1)), {
  weightFormat: 'f32',
});
const session = engine.createSession({ capacity: 64 });
const prompt = Array.from({ length: 40 }, (_, i) => (i * 37) % 300);
const before = await session.run(prompt);
const patternBefore = await readTextureLayer(gpu.device, session.capture({ kind: 'pattern', layer: 1 }), 2);
// A model whose first tensor (wte, 40 MB) alone exceeds the headroom; its weights are in memory
// before the limit is set.
const large = gpt2Config({ nLayer: 1, nHead: 4, nEmbd: 256, nCtx: 64, vocabSize: 40000 });
const largeWeights = randomGpt2Weights(large, 2);
const longPrompt = Array.from({ length: 2000 }, (_, i) => (i * 7) % 300);

limit(addressSpace() + headroom);
let load: ReturnType<typeof failure> | 'loaded';
try {
  (await Engine.load(gpu, shaders, weightReaderFromMemory(largeWeights), { weightFormat: 'f32' })).dispose();
  load = 'loaded';
} catch (e) {
  load = failure(e);
}
let grow: ReturnType<typeof failure> | 'ran';
try {
  await session.run(longPrompt);
  grow = 'ran';
} catch (e) {
  grow = failure(e);
}
limit('unlimited');

// What the session holds after the failure: the previous prompt's captures, and it still runs.
const patternAfter = await readTextureLayer(gpu.device, session.capture({ kind: 'pattern', layer: 1 }), 2);
let patternDiff = 0;
for (let i = 0; i < patternBefore.length; i++)
  patternDiff = Math.max(patternDiff, Math.abs(patternBefore[i]! - patternAfter[i]!));
const again = await session.run(prompt);
const sameTopK = again.lens.ids.every((id, i) => id === before.lens.ids[i]);
engine.dispose();
gpu.device.destroy();
console.log(
  JSON.stringify({
    small,
    large,
    longT: longPrompt.length,
    load,
    grow,
    capacityAfter: session.capacity,
    patternDiff,
    sameTopK,
  }),
);
process.exit(0);
