// npx tsx tools/capture-digest.ts [model folder]
//
// A SHA-256 of every capture of the bundled model on a fixed prompt, with each kernel set
// (fallback: the barrier-free kernels; tiled: shared-memory tiling): every attention pattern
// (valid [T, T] per head, f32), every residual boundary ([T, D] f32), the last position's logits,
// the lens top-k (ids and probabilities), a tracked-token readback, and the same after an
// ablated run. Refactors of the engine must leave every line unchanged (bit-identical captures).
// On a machine without a GPU: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json.

import { createHash } from 'node:crypto';
import { nodeGpu } from '../src/cli/node-gpu';
import { nodeShaders } from '../src/cli/node-shaders';
import { filesFromDirectory } from '../src/cli/node-source';
import { Engine } from '../src/engine/engine';
import type { PromptSession, RunResult } from '../src/engine/session';
import { readBuffer, readTextureLayer } from '../src/gpu/readback';
import { hookName, residualBoundaries } from '../src/model/hooks';
import { openModel } from '../src/model/load';

const folder = process.argv[2] ?? 'static/models/gpt2-brown-mini';
const prompt = 'The cat sat on the mat. The dog sat on the log. The cat sat on the';

const sha = (bytes: ArrayBufferView | ArrayBuffer) =>
  createHash('sha256')
    .update(
      bytes instanceof ArrayBuffer
        ? new Uint8Array(bytes)
        : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    )
    .digest('hex')
    .slice(0, 16);

async function digests(
  device: GPUDevice,
  session: PromptSession,
  run: RunResult,
  tag: string,
): Promise<string[]> {
  const { nLayer: L, nHead: H, nEmbd: D, vocabSize: V } = config;
  const T = run.tokens.length;
  const lines: string[] = [];
  for (let l = 0; l < L; l++) {
    const tex = session.capture({ kind: 'pattern', layer: l });
    const width = tex.width * 4;
    const valid = new Float32Array(H * T * T);
    for (let h = 0; h < H; h++) {
      const got = await readTextureLayer(device, tex, h);
      for (let q = 0; q < T; q++) valid.set(got.subarray(q * width, q * width + T), (h * T + q) * T);
    }
    lines.push(`${tag} ${hookName({ kind: 'pattern', layer: l })} ${sha(valid)}`);
  }
  for (const p of residualBoundaries(L)) {
    lines.push(`${tag} ${hookName(p)} ${sha(await readBuffer(device, session.capture(p), T * D * 4))}`);
  }
  lines.push(`${tag} logits_last ${sha(await readBuffer(device, session.capture('logits_last'), V * 4))}`);
  lines.push(`${tag} lens.ids ${sha(run.lens.ids)} lens.probs ${sha(run.lens.probs)}`);
  return lines;
}

const model = await openModel(await filesFromDirectory(folder));
const config = model.config;
const tokens = model.tokenizer.encode(prompt);
const gpu = await nodeGpu();
console.log(
  `# ${model.name}, ${tokens.length} tokens, adapter ${gpu.summary.vendor} ${gpu.summary.architecture}`,
);
for (const kernels of ['fallback', 'tiled'] as const) {
  const engine = await Engine.load(gpu, nodeShaders(), model.checkpoint, {
    weightFormat: 'f32',
    fallbackKernels: kernels === 'fallback',
  });
  try {
    const session = engine.createSession({ capacity: 8 }); // grows
    const clean = await session.run(tokens);
    for (const line of await digests(gpu.device, session, clean, `${kernels} clean`)) console.log(line);
    const track = await session.trackTokens([tokens[1]!, tokens[4]!, 13]);
    console.log(`${kernels} clean track.prob ${sha(track.prob)} track.rank ${sha(track.rank)}`);
    const ablated = await session.run(tokens, {
      ablate: {
        heads: [
          { layer: 1, head: 2 },
          { layer: 2, head: 0 },
        ],
        mlps: [2],
        mode: 'mean',
      },
    });
    for (const line of await digests(gpu.device, session, ablated, `${kernels} mean-ablated`))
      console.log(line);
    const zero = await session.run(tokens, {
      ablate: { heads: [{ layer: 0, head: 1 }], mlps: [1], mode: 'zero' },
    });
    for (const line of await digests(gpu.device, session, zero, `${kernels} zero-ablated`)) console.log(line);
  } finally {
    engine.dispose();
  }
}
gpu.device.destroy();
