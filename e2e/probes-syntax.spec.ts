// The syntax probes in Chromium on the bundled model (gpt2-brown-mini, the studio's default): the
// shipped subject-number and subordinate-clause datasets run from the probes panel (the residual
// stream captured on the GPU, one probe per depth fitted in the worker, split by group), and
// - each draws a line on the chart, one point per depth, with its legend entry;
// - its per-depth held-out accuracies equal those of the same fit (same split, same code) on the
//   CPU reference forward's residual stream, computed here in Node; the GPU's rows are within
//   1e-4 × max |value| of the reference's (test/probes-syntax.test.ts), and moving every reference
//   feature by that much moves no accuracy (checked here), so they must be equal;
// - the depth summary names, for each, the first depth with 90% of its best gain over the baseline.
import type { Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { filesFromDirectory } from '../src/cli/node-source';
import { parseDatasetJson, prepareProbeInputs } from '../src/instruments/probe-data';
import { fitProbes, type ProbeFitResult } from '../src/instruments/probe-fit';
import { readableDepth } from '../src/instruments/probe-readable';
import { openModel } from '../src/model/load';
import { mulberry32 } from '../src/model/random';
import { referenceForward } from '../src/model/reference';
import type { Gpt2Weights } from '../src/model/types';
import { boundaryName } from '../src/viz/depth-names';
import { expect, test } from './fixture';

const tasks = [
  { id: 'subject-number', name: 'Subject number', examples: 384 },
  { id: 'subordinate-clause', name: 'Subordinate clause', examples: 360 },
] as const;

const heldOut = (fit: ProbeFitResult) => fit.layers.map((l) => l.heldOutAccuracy);

/** The probes panel's fit (bos, seed 0, 3/4 of the groups to train on) on the reference's residuals. */
function expected(weights: Gpt2Weights, tokenizer: Parameters<typeof prepareProbeInputs>[1], file: string) {
  const dataset = parseDatasetJson(readFileSync(`static/datasets/${file}`, 'utf8'), file);
  const { nLayer: L, nEmbd: D, nCtx } = weights.config;
  const { inputs, labels, groups } = prepareProbeInputs(dataset, tokenizer, { bos: true, nCtx });
  const N = inputs.length;
  const data = new Float32Array((L + 1) * N * D);
  const scale = new Array<number>(L + 1).fill(0);
  for (const [n, { tokens, position }] of inputs.entries()) {
    const ref = referenceForward(weights, tokens, { logits: false });
    [...ref.residPre, ref.residPost].forEach((stream, p) => {
      data.set(stream.subarray(position * D, (position + 1) * D), (p * N + n) * D);
      scale[p] = stream.reduce((m, v) => Math.max(m, Math.abs(v)), scale[p]!);
    });
  }
  const fitOn = (x: Float32Array) =>
    fitProbes({ data: x, points: L + 1, examples: N, width: D }, labels, dataset.labels.length, {
      seed: 0,
      trainFraction: 0.75,
      groups,
    });
  const fit = fitOn(data);
  for (let trial = 0; trial < 4; trial++) {
    const random = mulberry32(2000 + trial);
    const moved = data.map((v, i) => v + (2 * random() - 1) * 1e-4 * scale[Math.floor(i / (N * D))]!);
    expect(heldOut(fitOn(moved)), `${file}: the fit is sensitive at the feature tolerance`).toEqual(
      heldOut(fit),
    );
  }
  return fit;
}

async function runTask(page: Page, task: (typeof tasks)[number]) {
  const panel = page.getByTestId('probes-panel');
  await panel.getByTestId('probe-dataset').selectOption(task.id);
  await expect(panel.getByTestId('probe-dataset-info')).toContainText(`${task.examples} examples`);
  await panel.getByTestId('probe-run').click();
  await expect(panel.locator(`[data-testid="probe-series"][data-dataset="${task.name}"]`)).toHaveCount(1, {
    timeout: 15 * 60_000,
  });
  await expect(panel.getByTestId('probe-error')).toHaveCount(0);
}

test('the syntax probes on the bundled model: lines on the chart, the CPU fit, the readable depth', async ({
  page,
}) => {
  test.setTimeout(30 * 60_000);
  const model = await openModel(await filesFromDirectory('static/models/gpt2-brown-mini'));
  const weights = await model.checkpoint.loadWeights();
  const L = weights.config.nLayer;

  await page.goto(`/?${new URLSearchParams({ prompt: 'The keys to the cabinet are' }).toString()}`);
  await expect(page.getByTestId('model-panel')).toContainText('gpt2-brown-mini');
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
  for (const task of tasks) await runTask(page, task);

  const panel = page.getByTestId('probes-panel');
  const readable: Record<string, number | undefined> = {};
  for (const task of tasks) {
    const fit = expected(weights, model.tokenizer, `${task.id}.json`);
    const want = heldOut(fit);
    console.log(
      `${task.name}: held-out ${want.map((a) => a.toFixed(3)).join(' ')} (depths 0…${L}), ` +
        `baseline ${fit.majority.accuracy.toFixed(3)}, ${fit.trainCount} train / ${fit.heldOutCount} held out, ` +
        `groups ${fit.groups?.train} / ${fit.groups?.heldOut}`,
    );
    const series = panel.locator(`[data-testid="probe-series"][data-dataset="${task.name}"]`);
    // One point per depth, in depth order, on one line.
    const got = await series
      .locator('circle[data-held-out]')
      .evaluateAll((cs) => cs.map((c) => Number(c.getAttribute('data-held-out'))));
    expect(got).toEqual(want);
    const d = (await series.locator('path.series').getAttribute('d')) ?? '';
    expect(d.match(/[ML]/g)).toHaveLength(L + 1);
    const r = readableDepth(want, fit.majority.accuracy);
    readable[task.name] = r?.depth;
    const legend = panel.locator('.legend li', { hasText: task.name });
    await expect(legend).toContainText(
      r ? `readable from ${boundaryName(2 * r.depth)}` : 'never above its baseline',
    );
    if (r) await expect(series.locator('circle.readable')).toHaveAttribute('data-depth', String(r.depth));
  }
  await page.screenshot({ path: test.info().outputPath('probes.png'), fullPage: true });

  // The depth summary names the same depths.
  const instruments = page.getByTestId('instruments');
  await instruments.getByRole('tab', { name: 'Depth summary' }).click();
  const names = instruments.getByTestId('probe-readable');
  for (const task of tasks) {
    const depth = readable[task.name];
    const entry = names.locator(`[data-probe="${task.name}"]`);
    await expect(entry).toHaveAttribute('data-depth', depth === undefined ? '' : String(depth));
    await expect(entry).toContainText(depth === undefined ? 'never above' : boundaryName(2 * depth));
  }
});
