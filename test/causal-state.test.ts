// The studio's causal state (src/state/causal.svelte.ts) on a Studio in Node driving the real
// engine: the answer/foil messages, the live cap, patching of compare mode's two prompts and the
// attribution of one against the CPU reference (1e-4 × max(1, |m|)), cancel, and the JSON export in
// the CLI's format.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { gpt2Config } from '../src/model/fixtures';
import { activationPatching, directLogitAttribution } from '../src/model/reference-causal';
import { CausalLab, CausalPick } from '../src/state/causal.svelte';
import type { Studio } from '../src/state/studio.svelte';
import { PromptRun } from '../src/state/prompt-run.svelte';
import { studioWith } from './support/tiny-engine';
import { gpt2Tokenizer, pickedFiles, tinyWeights } from './support/tiny-models';

const config = gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 16, nCtx: 32, vocabSize: 50257 });
const weights = tinyWeights(config, 3, { attention: 8, wte: 4, lnF: 20 });
const tokenizer = gpt2Tokenizer();
let studio: Studio;

beforeAll(async () => {
  studio = await studioWith(pickedFiles(weights));
});
afterAll(() => studio?.dispose());

test('CausalLab: messages, the live cap, patching and attribution against the reference, export', async () => {
  const a = new PromptRun(studio, 'When Mary and John went to the store, John gave a drink to');
  const b = new PromptRun(studio, 'When Mary and John went to the store, Mary gave a drink to');
  const lab = new CausalLab(studio, a, b);
  const [mary] = tokenizer.encode(' Mary');
  const [john] = tokenizer.encode(' John');
  expect(lab.pair).toEqual({ answer: mary, foil: john });
  lab.answer = ' Mary Jane';
  expect(lab.pair).toEqual({
    message: expect.stringContaining('Answer: " Mary Jane" is 2 tokens') as string,
  });
  lab.answer = ' John';
  expect(lab.pair).toEqual({ message: 'The answer and the foil are the same token.' });
  lab.answer = ' Mary';
  const T = a.tokens.length;
  expect(lab.estimate?.runs).toBe(3 * 2 * T + 2 * 2);

  const capped = new CausalLab(studio, a, b, 10);
  await capped.runPatching();
  expect(capped.error).toContain(`Patching these prompts is ${6 * T + 4} runs`);
  expect(capped.patch).toBeUndefined();

  await lab.runPatching();
  expect(lab.error).toBeUndefined();
  expect(lab.progress).toBe(4);
  const want = activationPatching(weights, a.tokens, b.tokens, mary!, john!);
  const p = lab.patch!;
  const gap = want.clean_logit_diff - want.corrupt_logit_diff;
  const scale = 1e-4 * Math.max(1, Math.abs(want.clean_logit_diff), Math.abs(want.corrupt_logit_diff));
  expect(Math.abs(p.cleanLogitDiff - want.clean_logit_diff)).toBeLessThanOrEqual(scale);
  for (const kind of ['resid_pre', 'attn_out', 'mlp_out', 'z'] as const) {
    const w = want[kind].flat();
    p[kind]
      .flat()
      .forEach((v, i) => expect(Math.abs(v - w[i]!) * Math.abs(gap), kind).toBeLessThanOrEqual(scale));
  }

  await lab.runAttribution(b);
  const dla = directLogitAttribution(weights, b.tokens, mary!, john!);
  const d = lab.attribution!;
  expect(d.tokens).toEqual(b.tokens);
  const bound = 1e-4 * Math.max(1, ...dla.heads.flat().map(Math.abs), Math.abs(dla.total));
  d.heads.flat().forEach((v, i) => expect(Math.abs(v - dla.heads.flat()[i]!)).toBeLessThanOrEqual(bound));
  expect(Math.abs(d.total - dla.total)).toBeLessThanOrEqual(bound);

  const json = JSON.parse(lab.exportJson()) as Record<string, unknown>;
  expect(Object.keys(json)).toEqual([
    'tokens_clean',
    'tokens_corrupt',
    'answer_id',
    'foil_id',
    'clean_logit_diff',
    'corrupt_logit_diff',
    'patch',
    'dla',
  ]);

  // Cancel: the run stops between hook kinds with a message, the last result stays.
  const running = lab.runPatching();
  lab.cancel();
  await running;
  expect(lab.error).toBe('Patching cancelled.');
  expect(lab.patch).toBe(p);
  a.dispose();
  b.dispose();
});

test('CausalLab: a shared pick, the prompt pair refused before any work, stale results', () => {
  const a = new PromptRun(studio, 'When Mary and John went to the store, John gave a drink to');
  const b = new PromptRun(studio, 'When Mary and John went to the store, Mary gave a drink to');
  const pick = new CausalPick(' Mary', ' John');
  const labA = new CausalLab(studio, a, b, undefined, pick);
  const labB = new CausalLab(studio, b, a, undefined, pick);
  labA.foil = ' the';
  expect(labB.foil).toBe(' the');
  expect(labB.pair).toEqual({ answer: tokenizer.encode(' Mary')[0], foil: tokenizer.encode(' the')[0] });
  labB.answer = ' Mary Jane';
  expect(labA.pair).toEqual({
    message:
      'Answer: " Mary Jane" is 2 tokens (" Mary" + " Jane"); the logit difference needs one token each.',
  });
  labB.answer = '';
  expect(labA.pair).toEqual({ message: expect.stringContaining('Answer: type one token') as string });
  expect(labA.promptProblem).toBeUndefined();
  b.text = `${b.text} her`;
  expect(labA.promptProblem).toBe(
    `The clean prompt has ${a.tokens.length} tokens and the corrupted one ${b.tokens.length}: ` +
      'activation patching needs the same number of tokens (position by position).',
  );
  b.text = a.text.slice(1);
  b.bos = true;
  expect(labA.promptProblem).toBe(
    'The clean prompt does not start with <|endoftext|> but the corrupted one does: give both the same BOS setting.',
  );
  // No run has results yet: no candidates, nothing stale.
  expect(labA.candidates).toEqual([]);
  expect(labA.patchStale).toBe(false);
  a.dispose();
  b.dispose();
});
