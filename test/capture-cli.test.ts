// `npm run capture` end to end: the CLI run as a child process on a model folder in the hub layout,
// its JSON checked against the CPU reference forward.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ablationOption, type CaptureJson } from '../src/cli/capture';
import { gpt2Config } from '../src/model/fixtures';
import { referenceForward, unembed } from '../src/model/reference';
import { runCli } from './support/cli';
import { gpt2Tokenizer, tinyWeights, writeModelFolder } from './support/tiny-models';

const cli = (args: string[]) => runCli('src/cli/capture.ts', args, 256 * 2 ** 20);

const config = gpt2Config({ nLayer: 2, nHead: 3, nEmbd: 48, nCtx: 16, vocabSize: 50257 });
const weights = tinyWeights(config, 11);
const tokenizer = gpt2Tokenizer();
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'strata-capture-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A folder as `npm run fetch-model` leaves it; the checkpoint in an old variant (prefix, lm_head, masks). */
function writeModel(): string {
  return writeModelFolder(join(dir, 'tiny-gpt2'), weights, {
    dtype: 'F32',
    prefix: true,
    lmHead: true,
    attnBias: true,
  });
}

describe('npm run capture', () => {
  test('writes every capture, matching the CPU reference', async () => {
    const model = writeModel();
    const out = join(dir, 'capture.json');
    const prompt = 'The capital of France is';
    const r = await cli(['--model', model, '--prompt', prompt, '--bos', '--out', out]);
    expect(r.stderr).toContain(`wrote ${out}: 6 tokens, 2 layers`);
    expect(r.code).toBe(0);
    const json = JSON.parse(readFileSync(out, 'utf8')) as CaptureJson;

    const tokens = [50256, ...tokenizer.encode(prompt)];
    expect(json.tokens).toEqual(tokens.map((id) => ({ id, text: tokenizer.tokenLabel(id) })));
    expect(json.tokens.map((t) => t.id)).toEqual([50256, 464, 3139, 286, 4881, 318]);
    expect(json.model).toEqual({
      name: 'tiny-gpt2',
      n_layer: 2,
      n_head: 3,
      n_embd: 48,
      n_ctx: 16,
      vocab_size: 50257,
    });
    expect(json.adapter.vendor).toBeTypeOf('string');
    expect(json.ablation).toBeNull();

    const T = tokens.length;
    const ref = referenceForward(weights, tokens);
    // attention [layer][head][query][key]
    let err = 0;
    for (let l = 0; l < 2; l++)
      for (let h = 0; h < 3; h++)
        for (let q = 0; q < T; q++)
          for (let k = 0; k < T; k++)
            err = Math.max(
              err,
              Math.abs(json.attention[l]![h]![q]![k]! - ref.patterns[l]![(h * T + q) * T + k]!),
            );
    expect(err).toBeLessThanOrEqual(1e-5);

    // residual_norms [2L+1][T] in boundary order
    const boundaries = [
      ref.residPre[0]!,
      ref.residMid[0]!,
      ref.residPre[1]!,
      ref.residMid[1]!,
      ref.residPost,
    ];
    expect(json.residual_norms).toHaveLength(5);
    boundaries.forEach((x, b) => {
      for (let t = 0; t < T; t++) {
        let s = 0;
        for (let d = 0; d < 48; d++) s += x[t * 48 + d]! ** 2;
        expect(json.residual_norms[b]![t]).toBeCloseTo(Math.sqrt(s), 4);
      }
    });

    // logits_last [V]
    const want = ref.logits.subarray((T - 1) * 50257);
    const scale = Math.max(...want.map(Math.abs));
    expect(json.logits_last).toHaveLength(50257);
    expect(Math.max(...json.logits_last.map((v, i) => Math.abs(v - want[i]!)))).toBeLessThanOrEqual(
      1e-4 * scale,
    );

    // lens [L+1][T][5]: the final point's top-1 is the argmax of the logits at each position
    expect(json.lens).toHaveLength(3);
    const final = unembed(weights, ref.residPost, T);
    for (let t = 0; t < T; t++) {
      const row = final.subarray(t * 50257, (t + 1) * 50257);
      let best = 0;
      for (let v = 1; v < 50257; v++) if (row[v]! > row[best]!) best = v;
      expect(json.lens[2]![t]![0]!.id).toBe(best);
      expect(json.lens[2]![t]![0]!.text).toBe(tokenizer.tokenLabel(best));
      const probs = json.lens[2]![t]!.map((e) => e.p);
      expect(probs).toEqual([...probs].sort((a, b) => b - a));
    }
  });

  test('--ids, and clear errors for bad input', async () => {
    const model = writeModel();
    const ok = await cli(['--model', model, '--ids', '1,2,3']);
    expect(ok.code).toBe(0);
    expect((JSON.parse(ok.stdout) as CaptureJson).tokens.map((t) => t.id)).toEqual([1, 2, 3]);

    const long = await cli(['--model', model, '--ids', Array.from({ length: 17 }, () => '5').join(',')]);
    expect(long.code).toBe(1);
    expect(long.stderr).toContain("capture failed: the prompt has 17 tokens but the model's context is 16");

    const missing = await cli(['--model', join(dir, 'nope'), '--prompt', 'x']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('capture failed:');

    const both = await cli(['--model', model, '--prompt', 'a', '--ids', '1']);
    expect(both.code).toBe(1);
    expect(both.stderr).toContain('give exactly one of --prompt and --ids');
  });

  test('--ablate, --ablate-mlp, --ablate-mode mean: the ablated model, matching the reference', async () => {
    const model = writeModel();
    const ids = [464, 3139, 286, 4881, 318, 6342];
    const r = await cli([
      '--model',
      model,
      '--ids',
      ids.join(','),
      '--ablate',
      '1.2, 0.1',
      '--ablate-mlp',
      '0',
      '--ablate-mode',
      'mean',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as CaptureJson;
    expect(json.ablation).toEqual({
      heads: [
        [0, 1],
        [1, 2],
      ],
      mlps: [0],
      mode: 'mean',
    });

    const T = ids.length;
    const ablate = {
      heads: [
        { layer: 1, head: 2 },
        { layer: 0, head: 1 },
      ],
      mlps: [0],
      mode: 'mean',
    } as const;
    const ref = referenceForward(weights, ids, { ablate });
    const clean = referenceForward(weights, ids);
    // Layer 1's patterns see the ablated head 0.1 and MLP 0.
    let err = 0;
    let moved = 0;
    for (let h = 0; h < 3; h++)
      for (let q = 0; q < T; q++)
        for (let k = 0; k < T; k++) {
          const at = (h * T + q) * T + k;
          err = Math.max(err, Math.abs(json.attention[1]![h]![q]![k]! - ref.patterns[1]![at]!));
          moved = Math.max(moved, Math.abs(ref.patterns[1]![at]! - clean.patterns[1]![at]!));
        }
    expect(err).toBeLessThanOrEqual(1e-5);
    expect(moved).toBeGreaterThan(1e-3);
    // The final stream's norms, and the logits, which the ablation moves far beyond the tolerance.
    for (let t = 0; t < T; t++) {
      let s = 0;
      for (let d = 0; d < 48; d++) s += ref.residPost[t * 48 + d]! ** 2;
      expect(json.residual_norms[4]![t]).toBeCloseTo(Math.sqrt(s), 4);
    }
    const want = ref.logits.subarray((T - 1) * 50257);
    const tolerance = 1e-4 * Math.max(...want.map(Math.abs));
    expect(Math.max(...json.logits_last.map((v, i) => Math.abs(v - want[i]!)))).toBeLessThanOrEqual(
      tolerance,
    );
    const cleanLast = clean.logits.subarray((T - 1) * 50257);
    expect(Math.max(...json.logits_last.map((v, i) => Math.abs(v - cleanLast[i]!)))).toBeGreaterThan(
      100 * tolerance,
    );
  });

  test('bad ablation options: clear errors', async () => {
    const model = writeModel();
    // Syntax: refused before the model is read (exit 2, with the usage).
    const syntax = await cli(['--model', model, '--ids', '1,2', '--ablate', '5']);
    expect(syntax.code).toBe(2);
    expect(syntax.stderr).toContain('--ablate: "5" is not a head: write layer.head, e.g. 5.5');
    expect(syntax.stderr).toContain('usage: npm run capture');
    expect(() => ablationOption({ ablate: '0.0', 'ablate-mode': 'max' })).toThrow(
      '--ablate-mode must be zero or mean, got "max"',
    );
    expect(() => ablationOption({ 'ablate-mode': 'mean' })).toThrow(
      '--ablate-mode needs --ablate or --ablate-mlp',
    );
    expect(() => ablationOption({ 'ablate-mlp': '1,a' })).toThrow('--ablate-mlp: "a" is not a layer number');
    expect(ablationOption({ 'ablate-mlp': '1' })).toEqual({ heads: [], mlps: [1], mode: 'zero' });
    expect(ablationOption({})).toBeUndefined();
    // Ranges: checked against the model (exit 1).
    const layer = await cli(['--model', model, '--ids', '1,2', '--ablate', '0.0,2.1']);
    expect(layer.code).toBe(1);
    expect(layer.stderr).toContain('capture failed: cannot ablate head 2.1: layer 2 is not in [0, 2)');
  });

  test('--ids is strict decimal, with a message for each bad form', async () => {
    const model = writeModel();
    const forms: [string[], string][] = [
      [['--ids', ''], '--ids is empty: give token ids, e.g. --ids 464,3139,286'],
      [['--ids', '1,2,'], '--ids: entry 3 of "1,2," is empty (a stray comma?)'],
      [['--ids', '0x10'], '--ids: "0x10" is not decimal: write token ids in decimal digits'],
      [['--ids', '1e3'], '--ids: "1e3" has an exponent: write the id in full (e.g. 1000, not 1e3)'],
      [['--ids=-1'], '--ids: "-1" is negative: token ids start at 0'],
      [
        ['--ids', '-1'],
        '--ids "-1": a value starting with "-" reads as an option; write --ids=-1 if you mean it',
      ],
      [
        ['--ids', '1,two'],
        '--ids: "two" is not a token id (entry 2 of "1,two"): ids are whole numbers 0, 1, 2, …',
      ],
    ];
    const runs = await Promise.all(forms.map(([args]) => cli(['--model', model, ...args])));
    runs.forEach((r, i) => {
      expect(r.code, forms[i]![1]).toBe(2);
      expect(r.stderr).toContain(forms[i]![1]);
      expect(r.stdout).toBe('');
    });
    const outside = await cli(['--model', model, '--ids', '50257']);
    expect(outside.code).toBe(1);
    expect(outside.stderr).toContain('--ids: 50257 is not a token id of this model (vocab_size 50257)');
  });

  test('a missing folder is named as one, not as a bad hub id', async () => {
    const [path, name] = await Promise.all([
      cli(['--model', '/no/such/folder', '--ids', '1']),
      cli(['--model', 'nosuchmodel', '--ids', '1']),
    ]);
    expect(path.code).toBe(1);
    expect(path.stderr).toContain('capture failed: --model /no/such/folder: no such folder');
    expect(path.stderr).not.toContain('hub');
    expect(name.code).toBe(1);
    expect(name.stderr).toContain(
      '--model nosuchmodel: no such folder, and not a hub model id: use owner/name',
    );
  });

  test('a model saved without tokenizer files runs with the standard GPT-2 tokenizer and says so', async () => {
    const model = writeModelFolder(join(dir, 'no-tokenizer'), weights);
    rmSync(join(model, 'vocab.json'));
    rmSync(join(model, 'merges.txt'));
    const r = await cli(['--model', model, '--prompt', 'The capital of France is']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('the model has no tokenizer files: using the standard GPT-2 tokenizer');
    const json = JSON.parse(r.stdout) as CaptureJson;
    expect(json.tokens.map((t) => t.id)).toEqual(tokenizer.encode('The capital of France is'));
  });

  test('a run whose stream overflows is written, said, and exits non-zero', async () => {
    // Finite weights (they load), but each MLP adds 3e38: the stream passes f32's largest value.
    const huge = tinyWeights(config, 11);
    for (const block of huge.blocks) (block.mlpProj.bias.data as Float32Array).fill(3e38);
    const model = writeModelFolder(join(dir, 'overflow'), huge);
    const out = join(dir, 'overflow.json');
    const r = await cli(['--model', model, '--ids', '1,2,3', '--out', out]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(
      /capture: the run is not finite from blocks\.\d\.hook_resid_\w+ \(position 0\) on/,
    );
    expect((JSON.parse(readFileSync(out, 'utf8')) as CaptureJson).tokens).toHaveLength(3);
  });
});
