// The logit-lens and ablation panels in Chromium, against the CPU reference forward (f64). The model
// is a random-weight GPT-2 with GPT-2's tokenizer, served like the hub: attention sharpened (q, k
// scaled) so patterns are not flat, and ln_f's gain and bias scaled so the lens has clear winners
// (the embeddings are left as they are, so that the blocks — and so ablating them — move the
// prediction). Tolerances: lens and next-token probabilities 1e-4 absolute (the engine's); top
// tokens equal wherever the reference's two best differ by more than that; ranks exact except for
// entries within 1e-4·max|logit| of the tracked token's; logit differences 1e-4 × max |logit|.
// The panels are mounted in App.svelte inside data-testid="lens-panel" and "ablation-panel".
import type { Locator, Page } from '@playwright/test';
import { gpt2Config } from '../src/model/fixtures';
import type { Ablation } from '../src/model/ablation';
import { residualBoundaries, hookName } from '../src/model/hooks';
import { referenceForward, unembed } from '../src/model/reference';
import { referenceResiduals } from '../test/support/reference-cases';
import { gpt2Tokenizer, hubFiles, maxAbs, softmax, tinyWeights } from '../test/support/tiny-models';
import { boundaryNames } from '../src/viz/depth-names';
import { expect, test, type Hub } from './fixture';

const tokenizer = gpt2Tokenizer();
const config = gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 32, nCtx: 32, vocabSize: 50257 });
const weights = tinyWeights(config, 23, { attention: 14, lnF: 40 });
const repo = 'strata-test/tiny-gpt2-lens';
const L = config.nLayer;
const V = config.vocabSize;
const prompt = 'When Mary and John went to the store, John gave a drink to';
const tokens = tokenizer.encode(prompt);
const T = tokens.length;

/** The k best ids of a probability row, best first. */
const best = (p: Float64Array, k: number) =>
  Array.from(p.keys())
    .sort((a, b) => p[b]! - p[a]!)
    .slice(0, k);

/** Reference lens logits and probabilities (T, V) per residual boundary, residualBoundaries order. */
function referenceLens(ids: number[]) {
  const r = referenceForward(weights, ids);
  const n = ids.length;
  return referenceResiduals(r).map((x) => {
    const logits = unembed(weights, x, n);
    return {
      logits,
      probs: Array.from({ length: n }, (_, t) => softmax(logits.subarray(t * V, (t + 1) * V))),
    };
  });
}
const lens = referenceLens(tokens);
/** The next-token logits of the last position, clean or ablated. */
const lastLogits = (ablate?: Ablation) =>
  referenceForward(weights, tokens, ablate ? { ablate } : {}).logits.subarray((T - 1) * V, T * V);

// As the hub's GPT-2 repos have it (the studio asks for tokenizer.json first).
test.beforeAll(({ hub }) => hub.publish(repo, hubFiles(weights, 'tokenizer.json')));

async function openStudio(page: Page, hub: Hub): Promise<void> {
  await page.goto(hub.studioUrl(repo, prompt));
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
}

/** The values table's probability and rank of each tracked token at each lens point. */
async function trackedValues(panel: Locator) {
  const probs = await panel
    .getByTestId('track-table')
    .locator('td[data-prob]')
    .evaluateAll((els) =>
      els.map((el) => ({
        id: Number(el.dataset['tokenId']),
        point: Number(el.dataset['point']),
        prob: Number(el.dataset['prob']),
      })),
    );
  const ranks = await panel
    .getByTestId('track-table')
    .locator('td[data-rank]')
    .evaluateAll((els) => els.map((el) => Number(el.dataset['rank'])));
  return probs.map((p, i) => ({ ...p, rank: ranks[i]! }));
}

/** Problems of tracked values at `position` against the reference lens (empty: all match). */
function trackProblems(
  got: Awaited<ReturnType<typeof trackedValues>>,
  position: number,
  ref = lens,
): string[] {
  const problems: string[] = [];
  for (const { id, point, prob, rank } of got) {
    const p = ref[point]!.probs[position]!;
    if (Math.abs(prob - p[id]!) > 1e-4) problems.push(`${id} at ${point}: p ${prob}, want ${p[id]}`);
    const row = ref[point]!.logits.subarray(position * V, (position + 1) * V);
    const eps = 1e-4 * maxAbs(row);
    let above = 0;
    let tied = 0;
    for (let v = 0; v < V; v++) {
      if (v === id) continue;
      if (row[v]! > row[id]! + eps) above++;
      else if (row[v]! > row[id]! - eps) tied++;
    }
    if (rank < above || rank > above + tied) problems.push(`${id} at ${point}: rank ${rank}, want ${above}`);
  }
  return problems;
}

test('the logit lens grid and token tracking show the reference’s numbers', async ({ page, hub }) => {
  await openStudio(page, hub);
  await page.getByTestId('instruments').getByRole('tab', { name: 'Logit lens' }).click();
  const panel = page.getByTestId('lens-panel');
  const cells = panel.getByTestId('lens-cell');
  await expect(cells).toHaveCount((2 * L + 1) * T);

  // Rows named as every view names the depths (src/viz/depth-names.ts), output first, the
  // prediction row marked; the TransformerLens hook of each row in its tooltip.
  const headers = await panel.locator('[role="row"][data-point] [role="rowheader"]').evaluateAll((els) =>
    els.map((el) => ({
      text: el.textContent?.trim() ?? '',
      hook: el.getAttribute('data-hook') ?? '',
      title: el.getAttribute('title') ?? '',
    })),
  );
  const names = residualBoundaries(L).map(hookName).reverse();
  expect(headers.map((h) => h.hook)).toEqual(names);
  for (const h of headers) expect(h.title).toContain(h.hook);
  expect(headers.map((h) => h.text.replace('prediction', '').trim())).toEqual(boundaryNames(L).reverse());
  expect(headers[0]!.text).toContain('prediction');

  // Every cell's top-1 and probability as the reference lens has them.
  const got = await lensCells(cells);
  const problems = gridProblems(got, lens);
  let clear = 0;
  for (const c of got) {
    const p = lens[c.point]!.probs[c.position]!;
    const [id1, id2] = best(p, 2) as [number, number];
    if (p[id1]! - p[id2]! > 1e-4) clear++;
    const shown = tokenizer.tokenLabel(c.id).replaceAll(' ', '·').replaceAll('\n', '↵');
    if (!shown.startsWith(c.text.replace(/…$/, ''))) problems.push(`cell shows "${c.text}" for "${shown}"`);
  }
  expect(problems).toEqual([]);
  expect(clear).toBeGreaterThan(0.9 * got.length);
  // The grid is not one token repeated: the last position's top token changes with depth.
  expect(new Set(got.filter((c) => c.position === T - 1).map((c) => c.id)).size).toBeGreaterThan(2);

  // Keyboard: the tabbable cell is the prediction; its readout lists the reference's top 5.
  const start = panel.locator('[data-testid="lens-cell"][tabindex="0"]');
  await expect(start).toHaveAttribute('data-point', String(2 * L));
  await expect(start).toHaveAttribute('data-position', String(T - 1));
  await start.focus();
  const readout = panel.getByTestId('lens-readout').locator('li');
  await expect(readout).toHaveCount(5);
  const shownTop = await readout.evaluateAll((els) => els.map((el) => Number(el.dataset['tokenId'])));
  const finalP = lens[2 * L]!.probs[T - 1]!;
  expect(shownTop.slice(0, 2)).toEqual(best(finalP, 2));
  await page.keyboard.press('ArrowDown'); // one lens point shallower: after attention of the last block
  const focused = page.locator(':focus');
  await expect(focused).toHaveAttribute('data-hook', `blocks.${L - 1}.hook_resid_mid`);
  await page.keyboard.press('Home');
  await expect(focused).toHaveAttribute('data-position', '0');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Enter'); // the charts read position 1
  const position = panel.getByTestId('track-position');
  await expect(position).toHaveValue('1');

  // Tracking: a text of two tokens is refused, naming them; its first token can be taken instead.
  const input = panel.getByTestId('track-input');
  await input.fill(' Parisian');
  await input.press('Enter');
  await expect(panel.getByTestId('track-message')).toContainText(
    '" Parisian" is 2 tokens (" Paris" + "ian")',
  );
  await panel.getByTestId('track-suggestion').click();
  // The model's own prediction, typed as text.
  const predicted = best(finalP, 1)[0]!;
  await input.fill(tokenizer.tokenLabel(predicted));
  await input.press('Enter');
  await expect(panel.getByTestId('track-legend').locator('li')).toHaveCount(2);
  await expect(panel.getByTestId('track-point')).toHaveCount(2 * 2 * (2 * L + 1)); // 2 tokens × 2 charts
  await panel.getByText('Values', { exact: true }).click();

  // At position 1, then at the last position (where the prediction ranks first at the output).
  await expect(async () => {
    const values = await trackedValues(panel);
    expect(values).toHaveLength(2 * (2 * L + 1));
    expect(trackProblems(values, 1)).toEqual([]);
  }).toPass({ timeout: 30_000 });
  await position.selectOption('last');
  await expect(async () => {
    const values = await trackedValues(panel);
    expect(trackProblems(values, T - 1)).toEqual([]);
    expect(values.find((v) => v.id === predicted && v.point === 2 * L)?.rank).toBe(0);
  }).toPass({ timeout: 30_000 });

  // The log scale relabels the probability axis in decades, from 1 down.
  const probTicks = panel.getByTestId('track-chart-prob').locator('text.tick-y');
  await expect(probTicks.last()).toHaveText('1');
  await expect(probTicks.first()).toHaveText('0');
  await panel.getByTestId('track-log').check();
  await expect(probTicks.first()).toHaveText(/^(0\.0*1|1e-\d+)$/);
  await expect(probTicks.last()).toHaveText('1');
});

/**
 * Counts forward passes in the page, installed before the app's code runs: each forward is one
 * command encoder labelled 'forward' (PromptSession.run), whichever session encodes it.
 */
function countForwards() {
  const w = window as unknown as { __forwards: number };
  w.__forwards = 0;
  const make = GPUDevice.prototype.createCommandEncoder;
  GPUDevice.prototype.createCommandEncoder = function (this: GPUDevice, d?: GPUCommandEncoderDescriptor) {
    if (d?.label === 'forward') w.__forwards++;
    return make.call(this, d);
  };
}
const counters = (page: Page) =>
  page.evaluate(() => {
    const w = window as unknown as { __forwards: number; __strataDebug: { runs: number } };
    return { forwards: w.__forwards, runs: w.__strataDebug.runs };
  });

/** The counters once no forward has started for `quietMs` (the runs and the induction probe done). */
async function settled(page: Page, quietMs = 1500) {
  let last = await counters(page);
  for (;;) {
    await page.waitForTimeout(quietMs);
    const now = await counters(page);
    if (now.forwards === last.forwards) return now;
    last = now;
  }
}

/** The lens grid's cells as the page renders them: lens point, position, top-1 token, its probability, its label. */
function lensCells(cells: Locator) {
  return cells.evaluateAll((els) =>
    els.map((el) => ({
      point: Number(el.dataset['point']),
      position: Number(el.dataset['position']),
      id: Number(el.dataset['tokenId']),
      p: Number(el.dataset['p']),
      text: el.querySelector('.tok')?.textContent ?? '',
    })),
  );
}

/** Problems of the lens grid's top-1 tokens and probabilities against a reference lens. */
function gridProblems(
  got: readonly { point: number; position: number; id: number; p: number }[],
  ref: ReturnType<typeof referenceLens>,
): string[] {
  return got.flatMap((c) => {
    const p = ref[c.point]!.probs[c.position]!;
    const [id1, id2] = best(p, 2) as [number, number];
    const problems: string[] = [];
    if (c.id !== id1 && !(c.id === id2 && p[id1]! - p[id2]! < 1e-4))
      problems.push(`point ${c.point} t${c.position}: token ${c.id}, want ${id1}`);
    if (Math.abs(c.p - p[id1]!) > 1e-4)
      problems.push(`point ${c.point} t${c.position}: p ${c.p}, want ${p[id1]}`);
    return problems;
  });
}

test('with the lens shown, a prompt change runs one forward, and the lens shows its numbers', async ({
  page,
  hub,
}) => {
  await page.addInitScript(countForwards);
  await openStudio(page, hub);
  await page.getByTestId('instruments').getByRole('tab', { name: 'Logit lens' }).click();
  const panel = page.getByTestId('lens-panel');
  const cells = panel.getByTestId('lens-cell');
  await expect(cells).toHaveCount((2 * L + 1) * T);
  expect(gridProblems(await lensCells(cells), lens)).toEqual([]);
  // Track the model's prediction; its values at the last position.
  const predicted = best(lens[2 * L]!.probs[T - 1]!, 1)[0]!;
  const input = panel.getByTestId('track-input');
  await input.fill(tokenizer.tokenLabel(predicted));
  await input.press('Enter');
  await panel.getByText('Values', { exact: true }).click();
  await expect(async () => {
    const values = await trackedValues(panel);
    expect(values).toHaveLength(2 * L + 1);
    expect(trackProblems(values, T - 1)).toEqual([]);
  }).toPass({ timeout: 30_000 });
  const before = await settled(page);

  // A new prompt (another length, so the grid's size shows it arrived).
  const prompt2 = 'The cat sat on the mat';
  const tokens2 = tokenizer.encode(prompt2);
  const T2 = tokens2.length;
  expect(T2).not.toBe(T);
  const ref2 = referenceLens(tokens2);
  await page.getByTestId('prompt').fill(prompt2);
  await expect(cells).toHaveCount((2 * L + 1) * T2);
  expect(gridProblems(await lensCells(cells), ref2)).toEqual([]);
  await expect(async () => {
    const values = await trackedValues(panel);
    expect(values).toHaveLength(2 * L + 1);
    expect(trackProblems(values, T2 - 1, ref2)).toEqual([]);
  }).toPass({ timeout: 30_000 });
  // One forward in all (the prompt's own run, which the lens read), tracking included.
  const after = await settled(page);
  expect(after.forwards - before.forwards).toBe(1);
  expect(after.runs - before.runs).toBe(1);
});

test('ablating heads and an MLP: the prediction before and after, and a logit difference, as the reference', async ({
  page,
  hub,
}) => {
  await openStudio(page, hub);
  await page.getByTestId('instruments').getByRole('tab', { name: 'Ablation' }).click();
  const panel = page.getByTestId('ablation-panel');
  const run = panel.getByTestId('ablation-run');
  await expect(run).toBeDisabled(); // nothing selected

  // Head L0.H1 by keyboard (the first checkbox, → and Space), the MLP of L1 by click.
  const first = panel.getByRole('checkbox', { name: 'Ablate head L0.H0' });
  await first.focus();
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Space');
  await expect(panel.getByRole('checkbox', { name: 'Ablate head L0.H1' })).toBeChecked();
  await panel.getByRole('checkbox', { name: 'Ablate the MLP of L1' }).check();
  await expect(panel.getByTestId('ablation-selection')).toHaveText(
    'Ablating head L0.H1 and the MLP of L1, zeroed.',
  );

  const pair = [tokenizer.encode(' Mary')[0]!, tokenizer.encode(' John')[0]!] as const;
  const clean = lastLogits();
  const pClean = softmax(clean);
  for (const mode of ['zero', 'mean'] as const) {
    if (mode === 'mean') {
      await panel.getByTestId('ablation-mode-mean').check();
      await expect(panel.getByTestId('ablation-stale')).toContainText('selection has changed');
    }
    await run.click();
    const ablate: Ablation = { heads: [{ layer: 0, head: 1 }], mlps: [1], mode };
    const ablated = lastLogits(ablate);
    const pAblated = softmax(ablated);
    const prediction = panel.getByTestId('ablation-prediction');
    await expect(prediction).toHaveAttribute('data-after-id', String(best(pAblated, 1)[0]));
    await expect(panel.getByTestId('ablation-stale')).toHaveCount(0);
    await expect(prediction).toHaveAttribute('data-before-id', String(best(pClean, 1)[0]));
    const [beforeP, afterP] = await Promise.all(
      ['data-before-p', 'data-after-p'].map(async (a) => Number(await prediction.getAttribute(a))),
    );
    expect(Math.abs(beforeP! - pClean[best(pClean, 1)[0]!]!)).toBeLessThanOrEqual(1e-4);
    expect(Math.abs(afterP! - pAblated[best(pAblated, 1)[0]!]!)).toBeLessThanOrEqual(1e-4);
    if (mode === 'zero') expect(best(pAblated, 1)[0]).not.toBe(best(pClean, 1)[0]); // the fixture's ablation bites

    // Every row: its probability before and after.
    const rows = await panel.getByTestId('ablation-row').evaluateAll((els) =>
      els.map((el) => ({
        id: Number(el.dataset['tokenId']),
        before: Number(el.dataset['before']),
        after: Number(el.dataset['after']),
      })),
    );
    expect(rows.length).toBeGreaterThanOrEqual(5);
    const rowProblems = rows.flatMap((r) =>
      Math.abs(r.before - pClean[r.id]!) > 1e-4 || Math.abs(r.after - pAblated[r.id]!) > 1e-4
        ? [`${r.id}: ${r.before} → ${r.after}, want ${pClean[r.id]} → ${pAblated[r.id]}`]
        : [],
    );
    expect(rowProblems).toEqual([]);
    // Both top 5s are among the rows.
    for (const id of [...best(pClean, 5), ...best(pAblated, 5)])
      expect(rows.some((r) => r.id === id)).toBe(true);

    // logit(" Mary") − logit(" John"), before and after.
    const result = panel.getByTestId('pair-result');
    await expect(result).toHaveAttribute('data-a', String(pair[0]));
    const tol = 1e-4 * Math.max(maxAbs(clean), maxAbs(ablated));
    const wantBefore = clean[pair[0]]! - clean[pair[1]]!;
    const wantAfter = ablated[pair[0]]! - ablated[pair[1]]!;
    expect(Math.abs(wantAfter - wantBefore)).toBeGreaterThan(20 * tol); // the check discriminates
    expect(Math.abs(Number(await result.getAttribute('data-before-diff')) - wantBefore)).toBeLessThanOrEqual(
      tol,
    );
    expect(Math.abs(Number(await result.getAttribute('data-after-diff')) - wantAfter)).toBeLessThanOrEqual(
      tol,
    );
  }

  // Another pair, measured on the same runs; a text of two tokens is refused with its pieces.
  await panel.getByTestId('pair-a').fill(' the');
  await panel.getByTestId('pair-compare').click();
  const result = panel.getByTestId('pair-result');
  await expect(result).toHaveAttribute('data-a', String(tokenizer.encode(' the')[0]));
  const ablated = lastLogits({ heads: [{ layer: 0, head: 1 }], mlps: [1], mode: 'mean' });
  const the = tokenizer.encode(' the')[0]!;
  expect(
    Math.abs(Number(await result.getAttribute('data-after-diff')) - (ablated[the]! - ablated[pair[1]]!)),
  ).toBeLessThanOrEqual(1e-4 * maxAbs(ablated));
  await panel.getByTestId('pair-b').fill(' Parisian');
  await expect(
    panel.getByRole('alert').filter({ hasText: 'Token B: " Parisian" is 2 tokens' }),
  ).toBeVisible();
});
