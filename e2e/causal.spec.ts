// The causal instruments in Chromium on the bundled model (gpt2-brown-mini, 4 layers × 4 heads),
// against the CPU reference (src/model/reference-causal.ts) run here on the same token ids and the
// model's own weights:
// - the IOI example turns compare mode on with the clean and corrupted prompts and the answer and
//   foil; the Patch tab shows its estimate, runs, and its four maps (every cell's data-value, the
//   full-precision number behind its tooltip) equal the reference's normalised values within 1e-3
//   (f32 GPU runs against an f64 reference; |m_A − m_B| is 0.58 here, and an error ε in a logit
//   difference is ε / 0.58 in the normalised values, so 1e-3 allows ~6e-4 in m); a
//   first run is cancelled (progress shown, then "Patching cancelled."); the JSON export holds the
//   same maps and the PNG export is a figure of them; the depth scrubber's layer is each map's
//   outlined row;
// - the Attribution tab: every head, MLP and bias term, the embeddings, ln_f's bias and the total
//   within 1e-4·max(1, |total|) of the reference, and sum_error shown (and small);
// - bad input: a multi-token answer, answer = foil, prompts of different lengths, and two equal
//   prompts (m_A = m_B: the normalisation is undefined), each refused with its message;
// - the URL holds the tab, the answer and the foil, and a reload restores them.
import type { Download, Locator } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { filesFromDirectory } from '../src/cli/node-source';
import { openModel } from '../src/model/load';
import { activationPatching, directLogitAttribution } from '../src/model/reference-causal';
import type { Gpt2Weights } from '../src/model/types';
import { examplePrompts } from '../src/state/examples';
import { expect, test } from './fixture';
import { decodePng } from './png';

const ioi = examplePrompts.find((e) => e.id === 'ioi')!;
let weights: Gpt2Weights;
let clean: number[];
let corrupt: number[];
let answer: number;
let foil: number;
let label: (id: number) => string;

test.beforeAll(async () => {
  const model = await openModel(await filesFromDirectory('static/models/gpt2-brown-mini'));
  weights = await model.checkpoint.loadWeights();
  clean = model.tokenizer.encode(ioi.prompt);
  corrupt = model.tokenizer.encode(ioi.compare!);
  answer = model.tokenizer.encode(ioi.answer!)[0]!;
  foil = model.tokenizer.encode(ioi.foil!)[0]!;
  label = (id) => model.tokenizer.tokenLabel(id).replaceAll(' ', '·');
});

/** The data-value of every cell of the map `kind` in `panel`, [row][col]. */
async function mapValues(panel: Locator, kind: string): Promise<number[][]> {
  const cells = panel.locator(`[data-testid="causal-map"][data-kind="${kind}"] td`);
  const flat = await cells.evaluateAll((els) =>
    els.map((el) => {
      const d = (el as HTMLElement).dataset;
      return [Number(d['row']), Number(d['col']), Number(d['value'])] as const;
    }),
  );
  const out: number[][] = [];
  for (const [r, c, v] of flat) (out[r] ??= [])[c] = v;
  return out;
}

const bytesOf = async (d: Download) => readFileSync((await d.path())!);
const value = async (l: Locator) => Number(await l.getAttribute('data-value'));

/** Every |got − want| over `bound`, as lines naming the place. */
let worst = 0;
function misses(what: string, got: number[][], want: number[][], bound: number): string[] {
  const out: string[] = [];
  want.forEach((row, r) =>
    row.forEach((w, c) => (worst = Math.max(worst, Math.abs((got[r]?.[c] ?? NaN) - w)))),
  );
  if (got.length !== want.length) return [`${what}: ${got.length} rows, want ${want.length}`];
  want.forEach((row, r) => {
    if (got[r]?.length !== row.length)
      out.push(`${what}[${r}]: ${got[r]?.length} columns, want ${row.length}`);
    row.forEach((w, c) => {
      const g = got[r]?.[c];
      if (g === undefined || !(Math.abs(g - w) <= bound))
        out.push(`${what}[${r}][${c}]: ${g}, reference ${w}`);
    });
  });
  return out;
}

async function tab(panel: Locator, name: string) {
  await panel.getByRole('tab', { name, exact: true }).click();
  await expect(panel.getByRole('tab', { name, exact: true })).toHaveAttribute('aria-selected', 'true');
}

test('patching and attribution of the IOI pair against the reference; bad input; the URL', async ({
  page,
}) => {
  test.setTimeout(300_000);
  await page.goto('/?prompt=Hello');
  await expect(page.getByTestId('model-panel')).toContainText('gpt2-brown-mini');
  await page.getByTestId('examples').selectOption('ioi');

  // Compare mode with both prompts and the Patch tab.
  await expect(page.getByTestId('compare-toggle')).toHaveAttribute('aria-pressed', 'true');
  await expect(page.getByTestId('prompt')).toHaveValue(ioi.prompt);
  await expect(page.getByTestId('prompt-b')).toHaveValue(ioi.compare!);
  const shownIds = async (id: string) =>
    page
      .getByTestId(id)
      .locator('li')
      .evaluateAll((els) => els.map((el) => Number((el as HTMLElement).dataset['tokenId'])));
  await expect.poll(() => shownIds('tokens')).toEqual(clean);
  await expect.poll(() => shownIds('tokens-b')).toEqual(corrupt);
  const instruments = page.getByTestId('instruments');
  const patch = instruments.getByTestId('patch-panel');
  await expect(instruments.getByRole('tab', { name: 'Patch' })).toHaveAttribute('aria-selected', 'true');
  await expect(patch.getByTestId('causal-answer')).toHaveValue(' Mary');
  await expect(patch.getByTestId('causal-foil')).toHaveValue(' John');
  const L = weights.config.nLayer;
  const H = weights.config.nHead;
  const T = clean.length;
  // The estimate before it starts: 3·L·T + L·H patched runs.
  await expect(patch.getByTestId('patch-estimate')).toHaveAttribute('data-runs', String(3 * L * T + L * H));

  // The predictions are chips for the answer and the foil once both prompts have run.
  await expect(page.getByTestId('next-tokens-b').locator('li')).toHaveCount(5);
  await expect(patch.getByRole('group', { name: /^Answer from/ }).getByRole('button')).not.toHaveCount(0);

  const want = activationPatching(weights, clean, corrupt, answer, foil);
  console.log(`m_A ${want.clean_logit_diff.toFixed(4)}, m_B ${want.corrupt_logit_diff.toFixed(4)}`);
  // Progress and Cancel: the run stops between hook kinds, with nothing shown.
  await patch.getByTestId('patch-run').click();
  await expect(patch.getByTestId('patch-progress')).toContainText('of 4 hook kinds');
  await patch.getByTestId('patch-cancel').click();
  await expect(patch.getByTestId('patch-error')).toHaveText('Patching cancelled.', { timeout: 60_000 });
  await expect(patch.locator('[data-testid="causal-map"]')).toHaveCount(0);

  await patch.getByTestId('patch-run').click();
  await expect(patch.locator('[data-testid="causal-map"]')).toHaveCount(4, { timeout: 150_000 });
  await expect(patch.getByTestId('patch-error')).toHaveCount(0);
  const summary = patch.getByTestId('patch-summary');
  const gap = Math.abs(want.clean_logit_diff - want.corrupt_logit_diff);
  const mBound = 1e-4 * Math.max(1, Math.abs(want.clean_logit_diff), Math.abs(want.corrupt_logit_diff));
  expect(Math.abs(Number(await summary.getAttribute('data-clean')) - want.clean_logit_diff)).toBeLessThan(
    mBound,
  );
  expect(Math.abs(Number(await summary.getAttribute('data-corrupt')) - want.corrupt_logit_diff)).toBeLessThan(
    mBound,
  );
  const problems: string[] = [];
  for (const kind of ['resid_pre', 'attn_out', 'mlp_out', 'z'] as const) {
    problems.push(...misses(kind, await mapValues(patch, kind), want[kind], 1e-3));
  }
  console.log(`patching maps: max |GPU − reference| ${worst.toExponential(2)}`);
  expect(problems, `patching maps vs the reference (|m_A − m_B| = ${gap.toFixed(4)})`).toEqual([]);
  // resid_pre at layer 0 patches the whole token at one position; a row's token labels are B's tokens.
  await expect(patch.locator('[data-kind="resid_pre"] thead th[scope="col"]')).toHaveCount(T);
  // Hover: the readout names the layer, the position and the hook.
  await patch.locator('[data-kind="attn_out"] td[data-row="1"][data-col="3"]').hover();
  await expect(patch.locator('[data-kind="attn_out"] [data-testid="causal-readout"]')).toContainText(
    `L1, position 3 “${label(corrupt[3]!)}”: ${want.attn_out[1]![3]!.toFixed(3)} (blocks.1.hook_attn_out)`,
  );

  // The JSON export holds the same maps (the CLI's schema); the PNG is a figure of them.
  const [json] = await Promise.all([page.waitForEvent('download'), patch.getByTestId('patch-json').click()]);
  const exported = JSON.parse((await bytesOf(json)).toString('utf8')) as {
    answer_id: number;
    foil_id: number;
    patch: Record<'resid_pre' | 'attn_out' | 'mlp_out' | 'z', number[][]>;
  };
  expect([exported.answer_id, exported.foil_id]).toEqual([answer, foil]);
  for (const kind of ['resid_pre', 'attn_out', 'mlp_out', 'z'] as const) {
    problems.push(...misses(`json ${kind}`, exported.patch[kind], want[kind], 1e-3));
  }
  expect(problems).toEqual([]);
  const [png] = await Promise.all([page.waitForEvent('download'), patch.getByTestId('patch-png').click()]);
  expect(png.suggestedFilename()).toBe('strata-patching-A-into-B.png');
  const figure = decodePng(await bytesOf(png));
  expect(figure.width).toBeGreaterThan(2 * 22 * T);
  expect(figure.height).toBeGreaterThan(2 * 22 * 4 * L);

  // The depth scrubber's layer is the outlined row of every map.
  const current = patch.locator('tr[aria-current="true"] th');
  await expect(current).toHaveText(['L0', 'L0', 'L0', 'L0']);
  const slider = page.getByRole('slider', { name: /layer/i }).first();
  await slider.focus();
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await expect(current).toHaveText(['L2', 'L2', 'L2', 'L2']);

  // Attribution of prompt A.
  await tab(instruments, 'Attribution');
  const attribution = instruments.getByTestId('attribution-panel');
  await attribution.getByTestId('attribution-run').click();
  await expect(attribution.getByTestId('dla-total')).toBeVisible({ timeout: 60_000 });
  const dla = directLogitAttribution(weights, clean, answer, foil);
  const bound = 1e-4 * Math.max(1, Math.abs(dla.total));
  worst = 0;
  const terms: string[] = misses('heads', await mapValues(attribution, 'heads'), dla.heads, bound);
  await expect(attribution.locator('tr[aria-current="true"] th')).toHaveText(['L2', 'L2']);
  const term = (name: string, layer?: number) =>
    attribution.locator(`[data-term="${name}"]${layer === undefined ? '' : `[data-layer="${layer}"]`}`);
  for (let l = 0; l < L; l++) {
    terms.push(...misses(`mlp[${l}]`, [[await value(term('mlp', l))]], [[dla.mlp[l]!]], bound));
    terms.push(
      ...misses(`attn_bias[${l}]`, [[await value(term('attn_bias', l))]], [[dla.attn_bias[l]!]], bound),
    );
  }
  terms.push(...misses('embed', [[await value(term('embed'))]], [[dla.embed]], bound));
  terms.push(
    ...misses('ln_final_bias', [[await value(term('ln_final_bias'))]], [[dla.ln_final_bias]], bound),
  );
  terms.push(...misses('total', [[await value(attribution.getByTestId('dla-total'))]], [[dla.total]], bound));
  console.log(`attribution terms: max |GPU − reference| ${worst.toExponential(2)}`);
  expect(terms, 'attribution terms vs the reference').toEqual([]);
  const sumError = await value(attribution.getByTestId('dla-sum-error'));
  expect(Math.abs(sumError)).toBeLessThanOrEqual(bound);
  await expect(attribution.getByTestId('dla-sum-error')).toHaveText(sumError.toExponential(1));

  // Bad input, each with its message (and nothing lost: the results stay).
  const answerField = attribution.getByTestId('causal-answer');
  await answerField.fill(' Mary Jane');
  await expect(attribution.getByTestId('causal-pair-error')).toHaveText(
    'Answer: " Mary Jane" is 2 tokens (" Mary" + " Jane"); the logit difference needs one token each.',
  );
  await expect(attribution.getByTestId('attribution-run')).toBeDisabled();
  await expect(attribution.getByTestId('dla-total')).toBeVisible();
  await answerField.fill(' John');
  await expect(attribution.getByTestId('causal-pair-error')).toHaveText(
    'The answer and the foil are the same token.',
  );
  await answerField.fill(' Mary');
  await expect(attribution.getByTestId('causal-pair-error')).toHaveCount(0);

  await tab(instruments, 'Patch');
  await page.getByTestId('prompt-b').fill(`${ioi.compare!} her`);
  await expect(patch.getByTestId('patch-prompt-error')).toHaveText(
    `The clean prompt has ${T} tokens and the corrupted one ${T + 1}: activation patching needs the same number of tokens (position by position).`,
  );
  await expect(patch.getByTestId('patch-run')).toBeDisabled();
  // Equal prompts: m_A = m_B, so the normalisation is undefined.
  await page.getByTestId('prompt-b').fill(ioi.prompt);
  await expect(patch.getByTestId('patch-prompt-error')).toHaveCount(0);
  await expect(patch.getByTestId('patch-summary')).toContainText('of earlier prompts');
  await patch.getByTestId('patch-run').click();
  await expect(patch.getByTestId('patch-error')).toContainText(
    'the normalisation (m − m_B) / (m_A − m_B) is undefined',
  );
  await expect(patch.locator('[data-testid="causal-map"]')).toHaveCount(4);

  // The URL: the tab, the answer and the foil; a reload restores them.
  await tab(instruments, 'Attribution');
  await attribution.getByTestId('causal-foil').fill(' the');
  await expect.poll(() => new URL(page.url()).searchParams.get('foil')).toBe(' the');
  const url = new URL(page.url());
  expect(url.searchParams.get('tab')).toBe('attribution');
  expect(url.searchParams.get('answer')).toBe(' Mary');
  await page.reload();
  await expect(instruments.getByRole('tab', { name: 'Attribution' })).toHaveAttribute(
    'aria-selected',
    'true',
  );
  await expect(attribution.getByTestId('causal-answer')).toHaveValue(' Mary');
  await expect(attribution.getByTestId('causal-foil')).toHaveValue(' the');
  await expect(page.getByTestId('compare-toggle')).toHaveAttribute('aria-pressed', 'true');
  await expect(instruments.getByRole('tab', { name: 'Patch' })).toBeVisible();
});
