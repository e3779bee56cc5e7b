import { describe, expect, it } from 'vitest';
import { bytesSource } from '../src/model/byte-source';
import { openGpt2Checkpoint } from '../src/model/checkpoint';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, toFloat32 } from '../src/model/dtype';
import { ModelError, type ModelErrorKind } from '../src/model/errors';
import {
  checkpointVariants,
  encodeGpt2Checkpoint,
  gpt2Config,
  randomGpt2Weights,
  type CheckpointVariant,
} from '../src/model/fixtures';
import { encodeSafetensors, openSafetensors, type TensorToWrite } from '../src/model/safetensors';
import type { Gpt2Config, Gpt2Weights, Tensor } from '../src/model/types';

const config = gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 8, nCtx: 6, vocabSize: 11, nInner: 12 });
const weights = randomGpt2Weights(config, 7, { exact16: true });
const plain: CheckpointVariant = { dtype: 'F32', prefix: false, lmHead: false, attnBias: false };

/** The canonical names, written out by hand as GPT2.md lists them. */
const blockNames = (i: number) =>
  ['ln_1', 'attn.c_attn', 'attn.c_proj', 'ln_2', 'mlp.c_fc', 'mlp.c_proj'].flatMap((p) => [
    `h.${i}.${p}.weight`,
    `h.${i}.${p}.bias`,
  ]);
const canonicalNames = [
  'wte.weight',
  'wpe.weight',
  ...blockNames(0),
  ...blockNames(1),
  'ln_f.weight',
  'ln_f.bias',
];

/** Every weight tensor of a Gpt2Weights, in canonical order. */
function allTensors(w: Gpt2Weights): Tensor[] {
  return [
    w.wte,
    w.wpe,
    ...w.blocks.flatMap((b) =>
      [b.ln1, b.cAttn, b.attnProj, b.ln2, b.fc, b.mlpProj].flatMap((p) => [p.weight, p.bias]),
    ),
    w.lnF.weight,
    w.lnF.bias,
  ];
}

async function open(bytes: Uint8Array, c: Gpt2Config = config) {
  return openGpt2Checkpoint(c, await openSafetensors(bytesSource('model.safetensors', bytes)));
}

/** A checkpoint's tensors as writable entries, for building broken files from a good one. */
async function tensorsOf(variant: CheckpointVariant, w: Gpt2Weights = weights): Promise<TensorToWrite[]> {
  const file = await openSafetensors(bytesSource('m', encodeGpt2Checkpoint(w, variant)));
  const out: TensorToWrite[] = [];
  for (const name of file.entries.keys()) {
    const t = await file.read(name);
    out.push({ name, dtype: t.dtype, shape: t.shape, data: toFloat32(t) });
  }
  return out;
}

async function expectError(bytes: Uint8Array, kind: ModelErrorKind, message: RegExp, c: Gpt2Config = config) {
  const error = await open(bytes, c).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ModelError);
  expect((error as ModelError).kind).toBe(kind);
  expect((error as ModelError).message).toMatch(/^model\.safetensors: /);
  expect((error as ModelError).message).toMatch(message);
}

describe('openGpt2Checkpoint', () => {
  it('lists canonical names in load order and reads them with canonical names', async () => {
    const ckpt = await open(encodeGpt2Checkpoint(weights, { ...plain, prefix: true }));
    expect(ckpt.tensorNames()).toEqual(canonicalNames);
    expect(ckpt.file).toBe('model.safetensors');
    expect(ckpt.config).toBe(config);
    const t = await ckpt.read('h.1.attn.c_attn.weight');
    expect(t.name).toBe('h.1.attn.c_attn.weight');
    expect(t.shape).toEqual([8, 24]);
    expect([...toFloat32(t)]).toEqual([...weights.blocks[1]!.cAttn.weight.data]);
  });

  it('resolves every naming variant and dtype to identical weights', async () => {
    const expected = allTensors(weights);
    const params = expected.reduce((n, t) => n + t.data.length, 0);
    for (const variant of checkpointVariants) {
      const ckpt = await open(encodeGpt2Checkpoint(weights, variant));
      expect(ckpt.dtype).toBe(variant.dtype);
      expect(ckpt.totalBytes).toBe(params * (variant.dtype === 'F32' ? 4 : 2));
      const loaded = await ckpt.loadWeights();
      expect(loaded.config).toBe(config);
      const tensors = allTensors(loaded);
      expect(tensors.map((t) => t.name)).toEqual(canonicalNames);
      tensors.forEach((t, i) => {
        const want = expected[i]!;
        expect(t.dtype).toBe(variant.dtype);
        expect(t.shape).toEqual(want.shape);
        const same = Buffer.from(toFloat32(t).buffer, toFloat32(t).byteOffset, t.data.length * 4).equals(
          Buffer.from(want.data.buffer, want.data.byteOffset, want.data.byteLength),
        );
        if (!same) expect.fail(`${t.name} differs in ${JSON.stringify(variant)}`);
      });
    }
    expect(checkpointVariants).toHaveLength(24);
  });

  it('rounds weights that are not exact16 to the nearest value of the dtype', async () => {
    const rough = randomGpt2Weights(config, 3);
    const want = rough.wpe.data as Float32Array;
    const f16 = await (
      await open(encodeGpt2Checkpoint(rough, { ...plain, dtype: 'F16' }))
    ).read('wpe.weight');
    expect([...toFloat32(f16)]).toEqual([...want].map((x) => f16ToF32(f32ToF16(x))));
    const bf16 = await (
      await open(encodeGpt2Checkpoint(rough, { ...plain, dtype: 'BF16' }))
    ).read('wpe.weight');
    expect([...toFloat32(bf16)]).toEqual([...want].map((x) => bf16ToF32(f32ToBf16(x))));
    expect([...toFloat32(f16)]).not.toEqual([...want]);
  });

  it('accepts mixed dtypes and reports the dtype of most bytes', async () => {
    const tensors = await tensorsOf({ ...plain, dtype: 'BF16' });
    const mixed = tensors.map((t) =>
      t.name === 'h.0.mlp.c_fc.weight' ? { ...t, dtype: 'F32' as const } : t,
    );
    const ckpt = await open(encodeSafetensors(mixed));
    expect(ckpt.dtype).toBe('BF16');
    expect((await ckpt.read('h.0.mlp.c_fc.weight')).dtype).toBe('F32');
    expect((await ckpt.read('h.1.mlp.c_fc.weight')).dtype).toBe('BF16');
  });

  it('names a missing tensor and the n_layer that requires it', async () => {
    const tensors = (await tensorsOf(plain)).filter((t) => t.name !== 'h.1.mlp.c_fc.bias');
    await expectError(
      encodeSafetensors(tensors),
      'missing',
      /tensor h\.1\.mlp\.c_fc\.bias is missing \(expected for n_layer=2 in config\.json\)/,
    );
    const noWte = (await tensorsOf(plain)).filter((t) => t.name !== 'wte.weight');
    await expectError(encodeSafetensors(noWte), 'missing', /tensor wte\.weight is missing \(required\)/);
  });

  it('reports a config with more layers than the checkpoint as missing layers', async () => {
    const deeper = { ...config, nLayer: 3 };
    await expectError(
      encodeGpt2Checkpoint(weights, plain),
      'missing',
      /tensor h\.2\.ln_1\.weight is missing \(expected for n_layer=3/,
      deeper,
    );
  });

  it('rejects layers beyond n_layer', async () => {
    const deeper = randomGpt2Weights({ ...config, nLayer: 3 }, 1);
    await expectError(
      encodeGpt2Checkpoint(deeper, { ...plain, prefix: true }),
      'shape',
      /transformer\.h\.2\.ln_1\.weight belongs to layer 2 but config\.json has n_layer=2: the config and the checkpoint disagree on n_layer/,
    );
  });

  it('rejects a tensor whose shape disagrees with the config', async () => {
    // c_fc stored [out, in] as a torch.nn.Linear would be, instead of Conv1D's [in, out].
    const tensors = (await tensorsOf(plain)).map((t) =>
      t.name === 'h.0.mlp.c_fc.weight' ? { ...t, shape: [12, 8] } : t,
    );
    await expectError(
      encodeSafetensors(tensors),
      'shape',
      /h\.0\.mlp\.c_fc\.weight has shape \[12, 8\] but config\.json \(n_layer=2, n_embd=8, n_inner=12, n_positions=6, vocab_size=11\) implies \[8, 12\]/,
    );
    const file = await openSafetensors(
      bytesSource('model.safetensors', encodeGpt2Checkpoint(weights, plain)),
    );
    expect(() =>
      openGpt2Checkpoint({ ...config, vocabSize: 50257 }, file, 'models/tiny/config.json'),
    ).toThrow(
      /wte\.weight has shape \[11, 8\] but models\/tiny\/config\.json \(.*vocab_size=50257\) implies \[50257, 8\]/,
    );
  });

  it('checks the shape of lm_head.weight', async () => {
    const tensors = await tensorsOf({ ...plain, lmHead: true });
    const bad = tensors.map((t) => (t.name === 'lm_head.weight' ? { ...t, shape: [8, 11] } : t));
    await expectError(
      encodeSafetensors(bad),
      'shape',
      /lm_head\.weight has shape \[8, 11\] but config\.json/,
    );
  });

  it('rejects a file that mixes prefixed and bare names', async () => {
    const tensors = (await tensorsOf({ ...plain, prefix: true })).map((t) =>
      t.name === 'transformer.ln_f.bias' ? { ...t, name: 'ln_f.bias' } : t,
    );
    await expectError(
      encodeSafetensors(tensors),
      'corrupt',
      /mixes names with and without the "transformer\." prefix \("transformer\.wte\.weight", "ln_f\.bias"\)/,
    );
  });

  it('rejects tensors that are not part of GPT-2', async () => {
    const extra = {
      name: 'h.0.attn.q_proj.weight',
      dtype: 'F32' as const,
      shape: [1],
      data: new Float32Array(1),
    };
    await expectError(
      encodeSafetensors([...(await tensorsOf(plain)), extra]),
      'unsupported',
      /unexpected tensor "h\.0\.attn\.q_proj\.weight": not part of a GPT-2 checkpoint/,
    );
  });

  it('reports names that are not weights as missing on read', async () => {
    const ckpt = await open(encodeGpt2Checkpoint(weights, { ...plain, lmHead: true, attnBias: true }));
    await expect(ckpt.read('lm_head.weight')).rejects.toThrow(
      'model.safetensors: no GPT-2 weight named "lm_head.weight"',
    );
    await expect(ckpt.read('h.0.attn.bias')).rejects.toThrow(expect.objectContaining({ kind: 'missing' }));
  });
});

describe('randomGpt2Weights', () => {
  const big = gpt2Config({ nLayer: 8, nHead: 4, nEmbd: 64, nCtx: 32, vocabSize: 300 });

  it('is deterministic in its seed', () => {
    const again = randomGpt2Weights(config, 7, { exact16: true });
    expect(allTensors(again).map((t) => [...t.data])).toEqual(allTensors(weights).map((t) => [...t.data]));
    const other = randomGpt2Weights(config, 8, { exact16: true });
    expect([...other.wte.data]).not.toEqual([...weights.wte.data]);
  });

  it('with exact16, holds only values exact in F16 and BF16', () => {
    // Big enough that some values fall below f16's normal range, where bf16 has more precision.
    const w = randomGpt2Weights(big, 2, { exact16: true });
    let smallest = Infinity;
    for (const t of allTensors(w)) {
      for (const x of t.data) {
        if (f16ToF32(f32ToF16(x)) !== x || bf16ToF32(f32ToBf16(x)) !== x) expect.fail(`${t.name}: ${x}`);
        if (x !== 0) smallest = Math.min(smallest, Math.abs(x));
      }
    }
    expect(smallest).toBeGreaterThanOrEqual(2 ** -14);
  });

  it("follows GPT-2's initialisation, with non-trivial biases and LayerNorm weights", () => {
    const w = randomGpt2Weights(big, 1);
    const stats = (ts: Tensor[]) => {
      const xs = ts.flatMap((t) => [...t.data]);
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      return { mean, std: Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length) };
    };
    const near = (s: { mean: number; std: number }, mean: number, std: number) => {
      expect(s.mean).toBeCloseTo(mean, 2);
      expect(s.std / std).toBeGreaterThan(0.95);
      expect(s.std / std).toBeLessThan(1.05);
    };
    near(stats([w.wte]), 0, 0.02);
    near(stats(w.blocks.map((b) => b.fc.weight)), 0, 0.02);
    near(stats(w.blocks.map((b) => b.mlpProj.weight)), 0, 0.02 / 4); // 1/sqrt(2·8)
    near(stats(w.blocks.flatMap((b) => [b.ln1.weight, b.ln2.weight])), 1, 0.1);
    near(stats(w.blocks.flatMap((b) => [b.cAttn.bias, b.ln1.bias])), 0, 0.02);
  });
});
