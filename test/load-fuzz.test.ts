// A seeded fuzz of what openModel() reads: checkpoints and config.json mutated at random (header
// lengths, cut and padded files, flipped bytes, NaN/Inf injected into tensors, header entries
// rewritten, config fields set to odd values). Every case must either load and give finite output —
// equal to the unmutated model's where the mutation changes nothing that matters — or be refused
// with a ModelError that names the file. No case may hang or take memory without bound.

import { describe, expect, it } from 'vitest';
import { bytesSource } from '../src/model/byte-source';
import { gpt2ConfigJson } from '../src/model/config';
import { ModelError } from '../src/model/errors';
import { bytesToUnicode } from '../src/model/tokenizer';
import { gpt2Config } from '../src/model/fixtures';
import { openModel, type ModelFiles } from '../src/model/load';
import { mulberry32 } from '../src/model/random';
import { referenceForward } from '../src/model/reference';
import { checkpointOf, tinyWeights } from './support/tiny-models';

// A small vocabulary (every byte, one merge, <|endoftext|>) keeps each case to milliseconds.
const vocab = Object.fromEntries([...bytesToUnicode(), 'ab', '<|endoftext|>'].map((t, id) => [t, id]));
const tokenizer = { vocabJson: JSON.stringify(vocab), mergesTxt: '#version: 0.2\na b\n' };
const config = gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 8, nCtx: 8, vocabSize: 258 });
const weights = tinyWeights(config, 5);
const checkpoint = checkpointOf(weights);
const configText = gpt2ConfigJson(config);
const tokens = [97, 98, 256, 3, 200];

/** The same cases on every run. */
const prng = mulberry32;

interface Case {
  readonly what: string;
  readonly checkpoint: Uint8Array;
  readonly config: string;
  /** The mutation changes nothing that matters: the output must equal the unmutated model's. */
  readonly same: boolean;
  /** The case must be refused (e.g. a NaN injected into a tensor every load reads). */
  readonly refused?: boolean;
}

const headerLength = (bytes: Uint8Array) =>
  Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
const header = () =>
  JSON.parse(new TextDecoder().decode(checkpoint.subarray(8, 8 + headerLength(checkpoint)))) as Record<
    string,
    { dtype: string; shape: number[]; data_offsets: [number, number] }
  >;

/** The checkpoint with a new header (padded to 8 as the writer does) and the same data section. */
function withHeader(json: unknown, pad = true, extraPad = 0): Uint8Array {
  const text = new TextEncoder().encode(JSON.stringify(json));
  const length = (pad ? Math.ceil(text.length / 8) * 8 : text.length) + extraPad;
  const data = checkpoint.subarray(8 + headerLength(checkpoint));
  const out = new Uint8Array(8 + length + data.byteLength).fill(0x20);
  new DataView(out.buffer).setBigUint64(0, BigInt(length), true);
  out.set(text, 8);
  out.set(data, 8 + length);
  return out;
}

const oddValues: unknown[] = [
  0,
  -1,
  1.5,
  1e9,
  2 ** 53,
  -0,
  null,
  'x',
  true,
  [],
  {},
  3,
  1,
  7,
  10_000,
  1e-300,
  1e300,
];
const configFields = [
  'n_layer',
  'n_head',
  'n_embd',
  'n_positions',
  'n_ctx',
  'vocab_size',
  'n_inner',
  'layer_norm_epsilon',
  'bos_token_id',
  'model_type',
  'activation_function',
];

function makeCase(random: () => number, index: number): Case {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const int = (n: number) => Math.floor(random() * n);
  const base = { checkpoint, config: configText, same: false };
  const h = header();
  const names = Object.keys(h).filter((n) => n !== '__metadata__');
  switch (index % 12) {
    case 0: {
      // The header length off by 1–12 bytes either way: into the padding, the JSON or the data.
      const delta = (1 + int(12)) * (random() < 0.5 ? -1 : 1);
      const bytes = checkpoint.slice();
      new DataView(bytes.buffer).setBigUint64(0, BigInt(headerLength(checkpoint) + delta), true);
      return {
        ...base,
        what: `header length ${delta > 0 ? '+' : ''}${delta}`,
        checkpoint: bytes,
        refused: true,
      };
    }
    case 1: {
      const at = int(checkpoint.byteLength);
      return { ...base, what: `cut at byte ${at}`, checkpoint: checkpoint.slice(0, at), refused: true };
    }
    case 2: {
      const extra = 1 + int(64);
      const bytes = new Uint8Array(checkpoint.byteLength + extra);
      bytes.set(checkpoint);
      return { ...base, what: `${extra} trailing bytes`, checkpoint: bytes, refused: true };
    }
    case 3: {
      // A NaN or an infinity in one value of one tensor.
      const name = pick(names);
      const [begin, end] = h[name]!.data_offsets;
      const at = 8 + headerLength(checkpoint) + begin + 4 * int((end - begin) / 4);
      const bytes = checkpoint.slice();
      new DataView(bytes.buffer).setFloat32(at, pick([NaN, Infinity, -Infinity]), true);
      return { ...base, what: `non-finite value in ${name}`, checkpoint: bytes, refused: true };
    }
    case 4: {
      // A flipped byte anywhere in the data: a different model, or a non-finite value.
      const start = 8 + headerLength(checkpoint);
      const at = start + int(checkpoint.byteLength - start);
      const bytes = checkpoint.slice();
      bytes[at]! ^= 1 << int(8);
      return { ...base, what: `data byte ${at} flipped`, checkpoint: bytes };
    }
    case 5: {
      // A flipped byte in the length or the header.
      const at = int(8 + headerLength(checkpoint));
      const bytes = checkpoint.slice();
      bytes[at]! ^= 1 << int(8);
      return { ...base, what: `header byte ${at} flipped`, checkpoint: bytes };
    }
    case 6: {
      // One header entry rewritten.
      const name = pick(names);
      const entry = { ...h[name]! };
      const field = pick(['dtype', 'shape', 'data_offsets', 'name', 'delete'] as const);
      const edited: Record<string, unknown> = { ...h };
      if (field === 'dtype') entry.dtype = pick(['F16', 'BF16', 'I8', 'F64', 'f32', '']);
      if (field === 'shape') entry.shape = entry.shape.map((d) => pick([d + 1, d - 1, 0, 2 * d, d]));
      if (field === 'data_offsets')
        entry.data_offsets = [entry.data_offsets[0] + pick([-4, 4, 1]), entry.data_offsets[1]];
      edited[name] = entry;
      if (field === 'name') {
        delete edited[name];
        edited[pick([`${name}x`, `transformer.${name}`, 'h.9.ln_1.weight', name.toUpperCase()])] = entry;
      }
      if (field === 'delete') delete edited[name];
      return { ...base, what: `${name}.${field} rewritten`, checkpoint: withHeader(edited) };
    }
    case 7: {
      // Meaningless: metadata added, entries reordered, padding changed (length kept right).
      const entries = Object.entries(h).sort(() => random() - 0.5);
      const json = Object.fromEntries([
        ...entries,
        ['__metadata__', { format: 'pt', note: `case ${index}` }],
      ]);
      return {
        ...base,
        what: 'header reordered, metadata added',
        checkpoint: withHeader(json, random() < 0.5),
        same: true,
      };
    }
    case 8:
    case 9: {
      const json = JSON.parse(configText) as Record<string, unknown>;
      const field = pick(configFields);
      json[field] = pick(oddValues);
      return {
        ...base,
        what: `config ${field} = ${JSON.stringify(json[field])}`,
        config: JSON.stringify(json),
      };
    }
    case 10: {
      // Meaningless config edits: unknown fields, dropout rates, key order.
      const json = JSON.parse(configText) as Record<string, unknown>;
      json[pick(['resid_pdrop', 'embd_pdrop', 'attn_pdrop', 'summary_type', 'task_specific_params'])] = pick([
        0.1,
        'x',
        {},
        null,
      ]);
      const reordered = Object.fromEntries(Object.entries(json).sort(() => random() - 0.5));
      return { ...base, what: 'config extras', config: JSON.stringify(reordered), same: true };
    }
    default: {
      const json = JSON.parse(configText) as Record<string, unknown>;
      const field = pick(configFields);
      if (random() < 0.5) delete json[field];
      const text = JSON.stringify(json);
      const cut = random() < 0.5 ? text.slice(0, int(text.length)) : text;
      return { ...base, what: `config ${field} removed${cut === text ? '' : ', text cut'}`, config: cut };
    }
  }
}

async function outcome(c: Case): Promise<{ logits: Float32Array } | { error: unknown }> {
  const files: ModelFiles = {
    name: 'fuzz',
    config: c.config,
    checkpoint: bytesSource('model.safetensors', c.checkpoint),
    tokenizer,
  };
  try {
    const model = await openModel(files);
    const loaded = await model.checkpoint.loadWeights();
    const ids = tokens.filter((t) => t < model.config.vocabSize).slice(0, model.config.nCtx);
    return { logits: referenceForward(loaded, ids.length > 0 ? ids : [0]).logits };
  } catch (error) {
    return { error };
  }
}

describe('openModel on mutated checkpoints and configs', () => {
  it('loads with finite output, or refuses with a ModelError naming the file: 1000 seeded cases', async () => {
    const baseline = referenceForward(weights, tokens).logits;
    const random = prng(14);
    const rssBefore = process.memoryUsage().rss;
    const tally = { loaded: 0, same: 0, refused: 0 };
    for (let index = 0; index < 1000; index++) {
      const c = makeCase(random, index);
      const result = await outcome(c);
      const label = `case ${index}: ${c.what}`;
      if ('error' in result) {
        expect(result.error, label).toBeInstanceOf(ModelError);
        const error = result.error as ModelError;
        expect(['model.safetensors', 'config.json'], `${label}: ${error.message}`).toContain(error.file);
        expect(error.message.startsWith(`${error.file}: `), label).toBe(true);
        expect(c.same, `${label}: a meaningless mutation was refused: ${error.message}`).toBe(false);
        tally.refused++;
        continue;
      }
      expect(c.refused ?? false, `${label}: loaded but must be refused`).toBe(false);
      expect(result.logits.every(Number.isFinite), `${label}: non-finite output`).toBe(true);
      if (c.same) {
        expect([...result.logits], label).toEqual([...baseline]);
        tally.same++;
      }
      tally.loaded++;
    }
    // Every kind of case happened, and memory stayed bounded (n_layer = 1e9 allocates nothing).
    expect(tally.refused).toBeGreaterThan(400);
    expect(tally.same).toBeGreaterThan(150);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(512 * 2 ** 20);
  }, 60_000);

  it('refuses n_layer = 1e9 at once, naming config.json and the field', async () => {
    const json = { ...(JSON.parse(configText) as object), n_layer: 1e9 };
    const result = await outcome({ what: 'n_layer', checkpoint, config: JSON.stringify(json), same: false });
    expect('error' in result && (result.error as ModelError).message).toBe(
      'config.json: n_layer=1000000000 is over the limit of 1024: not a GPT-2 this studio can run',
    );
    // Within the limit but more than the checkpoint holds: the first absent layer, nothing built.
    const deeper = { ...(JSON.parse(configText) as object), n_layer: 1000 };
    const more = await outcome({ what: 'n_layer', checkpoint, config: JSON.stringify(deeper), same: false });
    expect('error' in more && (more.error as ModelError).message).toBe(
      'model.safetensors: tensor h.2.ln_1.weight is missing (expected for n_layer=1000 in config.json, but the checkpoint has 2 layers)',
    );
  });

  it('names the tensor and the count of its non-finite values', async () => {
    const h = header();
    const [begin] = h['h.1.mlp.c_fc.weight']!.data_offsets;
    const bytes = checkpoint.slice();
    const view = new DataView(bytes.buffer);
    const start = 8 + headerLength(checkpoint) + begin;
    view.setFloat32(start, NaN, true);
    view.setFloat32(start + 40, -Infinity, true);
    view.setFloat32(start + 80, Infinity, true);
    const result = await outcome({ what: 'nan', checkpoint: bytes, config: configText, same: false });
    expect('error' in result && (result.error as ModelError).message).toBe(
      'model.safetensors: tensor h.1.mlp.c_fc.weight has 3 non-finite values (NaN or ±Inf) among 256',
    );
  });

  it('refuses a header length that points into the padding', async () => {
    // Eight spaces of padding after the JSON, as the official writer may leave.
    const padded = withHeader(header(), true, 8);
    const good = await outcome({ what: 'padded', checkpoint: padded, config: configText, same: true });
    expect('logits' in good && [...good.logits]).toEqual([...referenceForward(weights, tokens).logits]);
    for (const short of [1, 2, 3, 4]) {
      const bytes = padded.slice();
      new DataView(bytes.buffer).setBigUint64(0, BigInt(headerLength(padded) - short), true);
      const result = await outcome({ what: 'short', checkpoint: bytes, config: configText, same: false });
      expect('error' in result && (result.error as ModelError).message).toMatch(
        new RegExp(
          `^model\\.safetensors: ${short} bytes after the last tensor belong to no tensor .*is the header length right\\?`,
        ),
      );
    }
  });
});
