// Writes a random GPT-2 checkpoint in the hub layout: DIR/config.json and DIR/model.safetensors.
//   npx tsx tools/make-fixtures.ts --out DIR [--shape tiny|small|medium|N_LAYER,N_HEAD,N_EMBD,N_CTX,VOCAB]
//     [--dtype F32|F16|BF16] [--variant prefix,lm-head,attn-bias] [--seed N]
// Values are always exact in F32, F16 and BF16, so the dtypes of one seed and shape hold the same
// weights. The weights are held once in f32; the file is written one converted tensor at a time.

import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gpt2ConfigJson } from '../src/model/config';
import { gpt2CheckpointParts, gpt2Config, randomGpt2Weights } from '../src/model/fixtures';
import type { DType } from '../src/model/types';

/** [n_layer, n_head, n_embd, n_ctx, vocab]; the real vocabulary, so the GPT-2 tokenizer fits. */
const shapes: Record<string, number[]> = {
  tiny: [2, 4, 64, 128, 50257],
  small: [12, 12, 768, 1024, 50257],
  medium: [24, 16, 1024, 1024, 50257],
};
const variantFlags = ['prefix', 'lm-head', 'attn-bias'];

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    shape: { type: 'string', default: 'tiny' },
    dtype: { type: 'string', default: 'F32' },
    variant: { type: 'string', default: '' },
    seed: { type: 'string', default: '1' },
  },
});
const dims = shapes[values.shape] ?? values.shape.split(',').map(Number);
const flags = values.variant.split(',').filter((f) => f !== '');
const seed = Number(values.seed);
if (!values.out) fail('--out is required');
if (dims.length !== 5 || !dims.every((d) => Number.isSafeInteger(d) && d > 0))
  fail(`bad --shape ${values.shape}`);
if (!['F32', 'F16', 'BF16'].includes(values.dtype)) fail(`bad --dtype ${values.dtype}`);
if (flags.some((f) => !variantFlags.includes(f)))
  fail(`--variant takes a list of ${variantFlags.join(', ')}`);
if (!Number.isSafeInteger(seed)) fail(`bad --seed ${values.seed}`);

function fail(problem: string): never {
  console.error(`make-fixtures: ${problem} (usage at the top of tools/make-fixtures.ts)`);
  process.exit(1);
}

const [nLayer, nHead, nEmbd, nCtx, vocabSize] = dims as [number, number, number, number, number];
const config = gpt2Config({ nLayer, nHead, nEmbd, nCtx, vocabSize });
const variant = {
  dtype: values.dtype as DType,
  prefix: flags.includes('prefix'),
  lmHead: flags.includes('lm-head'),
  attnBias: flags.includes('attn-bias'),
};

mkdirSync(values.out, { recursive: true });
writeFileSync(join(values.out, 'config.json'), gpt2ConfigJson(config));
const path = join(values.out, 'model.safetensors');
const fd = openSync(path, 'w');
let bytes = 0;
for (const part of gpt2CheckpointParts(randomGpt2Weights(config, seed, { exact16: true }), variant)) {
  for (let done = 0; done < part.byteLength;) done += writeSync(fd, part, done);
  bytes += part.byteLength;
}
closeSync(fd);
console.log(`${path}: ${bytes} bytes, ${dims.join(',')} ${variant.dtype} ${flags.join(',') || 'plain'}`);
