// `npm run capture -- --format safetensors|npz --names … --out FILE` end to end: the CLI run as a
// child process on a model folder in the hub layout, on the GPU engine (f32), its file read back by
// Python with numpy alone (test/support/read_export.py) and each hook checked against the CPU
// reference's runWithCache (patterns 1e-5, other hooks 1e-4 × max |value|; f16 files: the
// reference's values within f16's rounding, 2⁻¹⁰ relative, plus the f32 tolerance). Bad input:
// an unknown hook, a pattern matching nothing, --out in a missing folder, a full disk (RLIMIT_FSIZE).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { defaultExportNames } from '../src/cli/capture-export';
import { gpt2Config } from '../src/model/fixtures';
import { selectHooks } from '../src/model/hook-names';
import { runWithCache, type ActivationCache } from '../src/model/reference-hooks';
import { cliModelFolder, runCli } from './support/cli';
import { readWithPython, type ReadBack } from './support/python-reader';
import { gpt2Tokenizer, tinyWeights } from './support/tiny-models';

const cli = (args: string[]) => runCli('src/cli/capture.ts', args, 64 * 2 ** 20);

const config = gpt2Config({ nLayer: 2, nHead: 3, nEmbd: 48, nCtx: 16, vocabSize: 50257 });
const weights = tinyWeights(config, 11);
const prompt = 'The capital of France is';
const tokens = gpt2Tokenizer().encode(prompt);
let dir: string;
let model: string;

beforeAll(() => ({ dir, model } = cliModelFolder('strata-capture-export-', weights)));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every hook of the file against the reference, within `relative` × max |value| (patterns 1e-5). */
function checkValues(back: ReadBack, cache: ActivationCache, relative: number) {
  for (const name of back.names) {
    const want = cache.get(name as never)!.data;
    const got = back.values.get(name)!;
    expect(got.length, name).toBe(want.length);
    let err = 0;
    let scale = 0;
    for (let i = 0; i < got.length; i++) {
      if (want[i] === -Infinity) {
        expect(got[i], name).toBe(-Infinity);
        continue;
      }
      err = Math.max(err, Math.abs(got[i]! - want[i]!));
      scale = Math.max(scale, Math.abs(want[i]!));
    }
    const bound = name.endsWith('hook_pattern') && relative === 1e-4 ? 1e-5 : relative * scale;
    expect(err, name).toBeLessThanOrEqual(bound);
  }
}

describe('npm run capture --format', () => {
  test('safetensors with --names: TransformerLens names, shapes and values, read by numpy', async () => {
    const out = join(dir, 'capture.safetensors');
    const names =
      'blocks.*.attn.hook_pattern,*hook_resid_pre,blocks.1.attn.*,blocks.0.ln2.*,blocks.*.mlp.hook_*,ln_final.*,hook_*embed,logits';
    const r = await cli([
      '--model',
      model,
      '--prompt',
      prompt,
      '--format',
      'safetensors',
      '--names',
      names,
      '--logits',
      'all',
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const want = selectHooks(names, config.nLayer);
    expect(r.stderr).toContain(`wrote ${out}: ${want.length} hooks, ${tokens.length} tokens`);
    const back = readWithPython(out);
    expect(back.format).toBe('safetensors');
    expect(back.names).toEqual(want);
    expect(back.metadata).toMatchObject({
      model: 'tiny-gpt2',
      prompt,
      tokens: JSON.stringify(tokens),
      logits: 'all',
      dtype: 'F32',
    });
    const T = tokens.length;
    expect(back.shapes['blocks.1.attn.hook_q']).toEqual([T, 3, 16]);
    expect(back.shapes['blocks.1.attn.hook_attn_scores']).toEqual([3, T, T]);
    expect(back.shapes['ln_final.hook_scale']).toEqual([T, 1]);
    expect(back.shapes.logits).toEqual([T, 50257]);
    checkValues(back, runWithCache(weights, tokens, want, { logits: 'all' }), 1e-4);
    expect(existsSync(`${out}.part`)).toBe(false);
  });

  test('npz by default names (what the JSON capture holds); --f16 halves it', async () => {
    const out = join(dir, 'capture.npz');
    const r = await cli(['--model', model, '--prompt', prompt, '--format', 'npz', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const back = readWithPython(out);
    const names = defaultExportNames(config.nLayer);
    expect(back.names).toEqual(names);
    expect(back.shapes.logits).toEqual([1, 50257]);
    const cache = runWithCache(weights, tokens, names);
    checkValues(back, cache, 1e-4);

    const half = join(dir, 'capture-f16.npz');
    const h = await cli(['--model', model, '--prompt', prompt, '--format', 'npz', '--f16', '--out', half]);
    expect(h.code, h.stderr).toBe(0);
    const backH = readWithPython(half);
    expect(new Set(Object.values(backH.dtypes))).toEqual(new Set(['<f2']));
    expect(backH.metadata.dtype).toBe('F16');
    expect(statSync(half).size).toBeLessThan(0.6 * statSync(out).size);
    checkValues(backH, cache, 2 ** -10 + 1e-4);
  });

  test('an ablated run: every hook as runWithCache gives it, the ablation in the metadata', async () => {
    const out = join(dir, 'ablated.safetensors');
    const names = 'blocks.0.hook_mlp_out,blocks.0.hook_resid_post,blocks.1.attn.hook_z,logits';
    const ablation = ['--ablate', '1.2', '--ablate-mlp', '0', '--ablate-mode', 'mean'];
    const r = await cli([
      '--model',
      model,
      '--prompt',
      prompt,
      ...ablation,
      '--format',
      'safetensors',
      '--names',
      names,
      '--out',
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const back = readWithPython(out);
    expect(back.metadata.ablation).toBe('1.2 mlp 0 mean');
    const ablate = { heads: [{ layer: 1, head: 2 }], mlps: [0], mode: 'mean' as const };
    checkValues(back, runWithCache(weights, tokens, selectHooks(names, 2), { ablate }), 1e-4);
  });

  test('bad input: an unknown hook, a pattern matching nothing, a missing folder, --f16 with json', async () => {
    const out = join(dir, 'bad.safetensors');
    const base = ['--model', model, '--prompt', prompt, '--format', 'safetensors', '--out', out];
    const typo = await cli([...base, '--names', 'blocks.0.hook_resid_pr']);
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('--names: ');
    expect(typo.stderr).toContain('blocks.0.hook_resid_pre');
    const none = await cli([...base, '--names', 'blocks.*.hook_nothing']);
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('pattern "blocks.*.hook_nothing" matches no hook');
    expect(none.stderr).toContain('hook_resid_pre');
    expect(existsSync(out) || existsSync(`${out}.part`)).toBe(false);
    const missing = join(dir, 'no', 'such', 'x.npz');
    const m = await cli(['--model', model, '--prompt', prompt, '--format', 'npz', '--out', missing]);
    expect(m.code).toBe(1);
    expect(m.stderr).toContain(
      `cannot write ${missing}: the folder ${join(dir, 'no', 'such')} does not exist`,
    );
    expect(existsSync(join(dir, 'no'))).toBe(false);
    const j = await cli(['--model', model, '--prompt', prompt, '--f16']);
    expect(j.code).toBe(2);
    expect(j.stderr).toContain('--f16 needs --format safetensors or npz');
  });

  test('a full disk (RLIMIT_FSIZE): a clear error, the previous file untouched, no half file', async () => {
    // The limit binds every file of the process: Dawn's and SwiftShader's own files need a few
    // hundred kB (a bus error at 20 kB), so the export is made larger than a 2 MB limit instead:
    // every position's logits, [T, 50257] f32, 4 MB.
    const out = join(dir, 'full.npz');
    writeFileSync(out, 'the previous capture');
    const long = 'The capital of France is Paris, and the capital of Spain is Madrid';
    const args = [
      '--model',
      model,
      '--prompt',
      long,
      '--format',
      'npz',
      '--names',
      'logits',
      '--logits',
      'all',
      '--out',
      out,
    ];
    const cmd = [process.execPath, '--import', 'tsx', 'src/cli/capture.ts', ...args];
    const full = spawnSync('prlimit', ['--fsize=2000000', ...cmd], { encoding: 'utf8' });
    expect(full.status, full.stderr).toBe(1);
    expect(full.stderr).toContain(
      `cannot write ${out}: the file size limit was reached (after 2000000 bytes; see ulimit -f); ${out} was not created or changed`,
    );
    expect(readFileSync(out, 'utf8')).toBe('the previous capture');
    expect(existsSync(`${out}.part`)).toBe(false);
    // Without the limit the same export is written, and is larger than the limit.
    const ok = await cli(args);
    expect(ok.code, ok.stderr).toBe(0);
    expect(statSync(out).size).toBeGreaterThan(2000000);
    expect(readWithPython(out).shapes.logits).toEqual([gpt2Tokenizer().encode(long).length, 50257]);
  });
});

test("README's Python is docs/python-snippet.py, which export-formats.test.ts runs as it is", () => {
  const snippet = readFileSync('docs/python-snippet.py', 'utf8');
  expect(readFileSync('README.md', 'utf8')).toContain('```python\n' + snippet + '```');
});
