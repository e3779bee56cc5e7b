// `npm run patch` end to end: the CLI run as a child process on a model folder in the hub layout
// (GPT-2's tokenizer), its JSON checked against the CPU reference (activationPatching and
// directLogitAttribution, 1e-4 × max(1, |m|) on the patched logit differences and the terms), and
// bad input refused with clear messages: different lengths or BOS settings, a multi-token answer,
// an answer equal to the foil, m_A ≈ m_B.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { PatchJson } from '../src/cli/patch';
import { gpt2Config } from '../src/model/fixtures';
import { activationPatching, directLogitAttribution } from '../src/model/reference-causal';
import { cliModelFolder, runCli } from './support/cli';
import { gpt2Tokenizer, tinyWeights } from './support/tiny-models';

const cli = (args: string[]) => runCli('src/cli/patch.ts', args, 64 * 2 ** 20);

const config = gpt2Config({ nLayer: 2, nHead: 3, nEmbd: 48, nCtx: 32, vocabSize: 50257 });
const weights = tinyWeights(config, 11, { attention: 8, wte: 4 });
const tokenizer = gpt2Tokenizer();
const cleanText = 'When Mary and John went to the store, John gave a drink to';
const corruptText = 'When Mary and John went to the store, Mary gave a drink to';
let dir: string;
let model: string;

beforeAll(() => ({ dir, model } = cliModelFolder('strata-patch-', weights)));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run patch', () => {
  test('writes the maps and the attribution, matching the CPU reference', async () => {
    const out = join(dir, 'patch.json');
    const r = await cli([
      '--model',
      model,
      '--clean',
      cleanText,
      '--corrupt',
      corruptText,
      '--answer',
      ' Mary',
      '--foil',
      ' John',
      '--bos',
      '--out',
      out,
    ]);
    expect(r.stderr).toContain(`wrote ${out}: 15 tokens, 2 layers`);
    expect(r.code).toBe(0);
    const json = JSON.parse(readFileSync(out, 'utf8')) as PatchJson;
    const clean = [50256, ...tokenizer.encode(cleanText)];
    const corrupt = [50256, ...tokenizer.encode(corruptText)];
    expect(json.tokens_clean).toEqual(clean.map((id) => ({ id, text: tokenizer.tokenLabel(id) })));
    expect(json.tokens_corrupt.map((t) => t.id)).toEqual(corrupt);
    const [mary] = tokenizer.encode(' Mary');
    const [john] = tokenizer.encode(' John');
    expect([json.answer_id, json.foil_id]).toEqual([mary, john]);

    const want = activationPatching(weights, clean, corrupt, mary!, john!);
    const gap = want.clean_logit_diff - want.corrupt_logit_diff;
    const scale = 1e-4 * Math.max(1, Math.abs(want.clean_logit_diff), Math.abs(want.corrupt_logit_diff));
    expect(Math.abs(json.clean_logit_diff - want.clean_logit_diff)).toBeLessThanOrEqual(scale);
    expect(Math.abs(json.corrupt_logit_diff - want.corrupt_logit_diff)).toBeLessThanOrEqual(scale);
    for (const kind of ['resid_pre', 'attn_out', 'mlp_out', 'z'] as const) {
      const g = json.patch[kind];
      expect(g.length).toBe(2);
      expect(g[0]!.length).toBe(kind === 'z' ? 3 : 15);
      const w = want[kind].flat();
      g.flat().forEach((v, i) =>
        expect(Math.abs(v - w[i]!) * Math.abs(gap), kind).toBeLessThanOrEqual(scale),
      );
    }
    const dla = directLogitAttribution(weights, clean, mary!, john!);
    const terms = (d: typeof dla) => [
      ...d.heads.flat(),
      ...d.attn_bias,
      ...d.mlp,
      d.embed,
      d.ln_final_bias,
      d.total,
    ];
    const bound = 1e-4 * Math.max(1, ...terms(dla).map(Math.abs));
    terms(json.dla).forEach((v, i) => expect(Math.abs(v - terms(dla)[i]!)).toBeLessThanOrEqual(bound));
    expect(json.dla.position).toBe(14);
    expect(Math.abs(json.dla.sum_error)).toBeLessThanOrEqual(1e-4 * Math.max(1, Math.abs(json.dla.total)));
    expect(json.work.submissions).toBe(8);
  });

  test('bad input: clear errors', async () => {
    const base = ['--model', model, '--answer', ' Mary', '--foil', ' John'];
    const length = await cli([...base, '--clean-ids', '1,2,3', '--corrupt-ids', '1,2']);
    expect(length.code).toBe(1);
    expect(length.stderr).toContain('patch failed: the clean prompt has 3 tokens and the corrupted one 2');
    const bos = await cli([...base, '--clean-ids', '50256,2,3', '--corrupt-ids', '1,2,3']);
    expect(bos.stderr).toContain('give both the same BOS setting');
    const texts = [...base.slice(0, 2), '--clean', cleanText, '--corrupt', corruptText];
    const multi = await cli([...texts, '--answer', ' Mary Jane', '--foil', ' John']);
    expect(multi.stderr).toContain(
      'patch failed: --answer " Mary Jane" is 2 tokens (" Mary" + " Jane"), not one token',
    );
    const same = await cli([...texts, '--answer', ' John', '--foil', ' John']);
    expect(same.stderr).toContain('the answer and the foil are the same token');
    const gap = await cli([...base, '--clean', cleanText, '--corrupt', cleanText]);
    expect(gap.code).toBe(1);
    expect(gap.stderr).toMatch(/\|m_A − m_B\| < 0\.001, so the normalisation .* is undefined/);
    const mixed = await cli([...base, '--clean', cleanText, '--corrupt-ids', '1,2']);
    expect(mixed.stderr).toContain('give either --clean and --corrupt, or --clean-ids and --corrupt-ids');
  });
});
