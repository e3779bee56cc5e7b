// The capture CLI's export glue (src/cli/capture-export.ts): its options and their errors, the
// default hooks, an export of the bundled model through the CPU reference read back by Python,
// and which hooks the studio would have to re-run at f32 (src/io/export/precision.ts).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkExport,
  defaultExportNames,
  exportNames,
  parseExportArgs,
  referenceHookReader,
  writeExport,
} from '../src/cli/capture-export';
import { filesFromDirectory } from '../src/cli/node-source';
import { hookSources, rerunNames, type StudioPrecision } from '../src/io/export/precision';
import { f16ToF32, f32ToF16 } from '../src/model/dtype';
import { gpt2Config } from '../src/model/fixtures';
import { allHookNames, selectHooks } from '../src/model/hook-names';
import { openModel } from '../src/model/load';
import { runWithCache } from '../src/model/reference-hooks';
import { readWithPython } from './support/python-reader';
import { useTempDir } from './support/temp-dir';

const dir = useTempDir('strata-capture-export-');

describe('export options', () => {
  it('json (the default) takes none of the binary options', () => {
    expect(parseExportArgs({})).toBeUndefined();
    expect(parseExportArgs({ format: 'json', out: 'x.json' })).toBeUndefined();
    expect(() => parseExportArgs({ names: 'logits' })).toThrow('--names needs --format safetensors or npz');
    expect(() => parseExportArgs({ format: 'json', dtype: 'f16' })).toThrow('--dtype needs --format');
  });

  it('binary formats: defaults, and a clear error for each bad value', () => {
    expect(parseExportArgs({ format: 'npz', out: 'a.npz' })).toEqual({
      format: 'npz',
      names: undefined,
      dtype: 'F32',
      logits: 'last',
      out: 'a.npz',
    });
    expect(parseExportArgs({ format: 'safetensors', out: 'a', dtype: 'F16', logits: 'all' })).toMatchObject({
      dtype: 'F16',
      logits: 'all',
    });
    expect(() => parseExportArgs({ format: 'hdf5' })).toThrow(
      '--format must be json, safetensors or npz, got "hdf5"',
    );
    expect(() => parseExportArgs({ format: 'npz' })).toThrow(
      '--format npz writes a binary file: give --out FILE',
    );
    expect(() => parseExportArgs({ format: 'npz', out: 'a', dtype: 'bf16' })).toThrow(
      '--dtype must be f32 or f16, got "bf16"',
    );
    expect(() => parseExportArgs({ format: 'npz', out: 'a', logits: 'first' })).toThrow(
      '--logits must be last or all, got "first"',
    );
  });

  it('--names against the model, and the default set', async () => {
    expect(defaultExportNames(2)).toEqual([
      'blocks.0.hook_resid_pre',
      'blocks.0.attn.hook_pattern',
      'blocks.0.hook_resid_mid',
      'blocks.1.hook_resid_pre',
      'blocks.1.attn.hook_pattern',
      'blocks.1.hook_resid_mid',
      'blocks.1.hook_resid_post',
      'logits',
    ]);
    const req = parseExportArgs({ format: 'npz', out: join(dir, 'x.npz'), names: 'blocks.*.attn.hook_z' })!;
    expect(exportNames(req, 2)).toEqual(['blocks.0.attn.hook_z', 'blocks.1.attn.hook_z']);
    const bad = { ...req, names: 'blocks.*.attn.hook_zz' };
    expect(() => exportNames(bad, 2)).toThrow('--names: pattern "blocks.*.attn.hook_zz" matches no hook');
    const config = gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 8, nCtx: 4, vocabSize: 10 });
    await expect(checkExport({ ...req, out: join(dir, 'missing', 'x.npz') }, config)).rejects.toThrow(
      `the folder ${join(dir, 'missing')} does not exist`,
    );
    await expect(checkExport(req, config)).resolves.toEqual(['blocks.0.attn.hook_z', 'blocks.1.attn.hook_z']);
  });
});

describe('an export of the bundled model through the CPU reference', () => {
  it("safetensors, F16, every position's logits: read back by Python with the prompt and tokens", async () => {
    const model = await openModel(await filesFromDirectory('static/models/gpt2-brown-mini'));
    const weights = await model.checkpoint.loadWeights();
    const prompt = 'The capital of France is';
    const tokens = model.tokenizer.encode(prompt);
    const out = join(dir, 'brown.safetensors');
    const req = parseExportArgs({
      format: 'safetensors',
      out,
      dtype: 'f16',
      logits: 'all',
      names: '*hook_resid_post,blocks.2.attn.*,logits',
    })!;
    const names = await checkExport(req, model.config);
    const read = referenceHookReader(weights, tokens, names, { logits: 'all' });
    const bytes = await writeExport(req, model.config, names, read, { model: model.name, prompt, tokens });
    expect(bytes).toBeGreaterThan(tokens.length * 50257 * 2);
    const back = readWithPython(out);
    expect(back.names).toEqual(names);
    expect(back.metadata).toMatchObject({
      model: model.name,
      prompt,
      tokens: JSON.stringify(tokens),
      logits: 'all',
      dtype: 'F16',
    });
    expect(back.shapes.logits).toEqual([tokens.length, 50257]);
    expect(back.shapes['blocks.2.attn.hook_attn_scores']).toEqual([4, tokens.length, tokens.length]);
    const cache = runWithCache(weights, tokens, allHookNames(model.config.nLayer), { logits: 'all' });
    for (const name of names) {
      const expected = Float64Array.from(cache.get(name)!.data, (x) => f16ToF32(f32ToF16(x)));
      expect(back.values.get(name), name).toEqual(expected);
    }
  });
});

describe('which hooks an export re-runs at f32', () => {
  const names = selectHooks('blocks.0.*,blocks.1.hook_resid_post,logits', 2);
  const exact: StudioPrecision = {
    captureFormat: 'rgba32float',
    weightFormat: 'f32',
    checkpointDType: 'F32',
    logits: 'last',
  };

  it("f32 captures: only what the studio does not hold (and all positions' logits)", () => {
    expect(rerunNames(hookSources(names, exact, 1, 'last'))).toEqual(
      names.filter((n) => !/hook_resid_(pre|mid|post)$|attn\.hook_pattern$|^logits$/.test(n)),
    );
    const all = hookSources(['logits'], exact, 1, 'all');
    expect(all).toEqual([
      { name: 'logits', rerun: true, why: 'the studio keeps the last position’s logits only' },
    ]);
  });

  it('f16 or 8-bit √p captures: the patterns too', () => {
    for (const [format, kept] of [
      ['rgba16float', 'f16'],
      ['rgba8unorm', '8-bit √p'],
    ] as const) {
      const s = hookSources(
        ['blocks.0.attn.hook_pattern', 'blocks.0.hook_resid_mid'],
        { ...exact, captureFormat: format },
        1,
        'last',
      );
      expect(s).toEqual([
        {
          name: 'blocks.0.attn.hook_pattern',
          rerun: true,
          why: `attention patterns are kept as ${kept} to fit memory`,
        },
        { name: 'blocks.0.hook_resid_mid', rerun: false },
      ]);
    }
  });

  it('f16 weights from an F32 or BF16 checkpoint: everything; from an F16 checkpoint: nothing more', () => {
    for (const dtype of ['F32', 'BF16'] as const) {
      const s = hookSources(names, { ...exact, weightFormat: 'f16', checkpointDType: dtype }, 1, 'last');
      expect(rerunNames(s)).toEqual(names);
      expect(s[0]).toMatchObject({ why: `the weights are f16 on the GPU but ${dtype} in the checkpoint` });
    }
    const f16 = hookSources(names, { ...exact, weightFormat: 'f16', checkpointDType: 'F16' }, 1, 'last');
    expect(f16).toEqual(hookSources(names, exact, 1, 'last'));
  });
});
