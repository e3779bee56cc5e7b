// The syntax probes in Chromium on the bundled model (gpt2-brown-mini, the studio's default): the
// shipped subject-number and subordinate-clause datasets are offered by the panel, and an eighth of
// each (every 8th group: 48 and 48 examples; the whole sets take ~20 min of SwiftShader here) runs
// from the panel's file input (the residual stream captured on the GPU, one probe per depth fitted
// in the worker, split by group), and
// - each draws a line on the chart, one point per depth, with its legend entry;
// - its per-depth held-out accuracies are those of the same fit (same split, same code) on the CPU
//   reference forward's residual stream, computed here in Node. The GPU's rows are within
//   1e-4 × max |value| of the reference's (test/probes-syntax.test.ts); near chance, moving the
//   reference features by that much can move a held-out example across the boundary (pairs whose
//   features are identical at the embeddings tie), so the page's accuracy at each depth must lie in
//   the range the reference gives under such moves, widened by one held-out example;
// - the depth summary names, for each, the first depth with 90% of its best gain over the baseline.
import type { Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import { filesFromDirectory } from '../src/cli/node-source';
import { parseDatasetJson, prepareProbeInputs, type ProbeDataset } from '../src/instruments/probe-data';
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

/** Every 8th group of a shipped dataset, as a file of the shipped format. */
function eighth(id: string): ProbeDataset {
  const d = parseDatasetJson(readFileSync(`static/datasets/${id}.json`, 'utf8'), `${id}.json`);
  const groups = [...new Set(d.examples.map((e) => e.group))];
  const kept = new Set(groups.filter((_, i) => i % 8 === 0));
  return { ...d, examples: d.examples.filter((e) => kept.has(e.group)) };
}

const heldOut = (fit: ProbeFitResult) => fit.layers.map((l) => l.heldOutAccuracy);

/** The probes panel's fit (bos, seed 0, 3/4 of the groups to train on) on the reference's residuals. */
function expected(
  weights: Gpt2Weights,
  tokenizer: Parameters<typeof prepareProbeInputs>[1],
  dataset: ProbeDataset,
) {
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
  // The range of each depth's accuracy when the features move by up to the tolerance.
  const low = heldOut(fit);
  const high = heldOut(fit);
  for (let trial = 0; trial < 6; trial++) {
    const random = mulberry32(2000 + trial);
    const moved = data.map((v, i) => v + (2 * random() - 1) * 1e-4 * scale[Math.floor(i / (N * D))]!);
    heldOut(fitOn(moved)).forEach((a, p) => {
      low[p] = Math.min(low[p]!, a);
      high[p] = Math.max(high[p]!, a);
    });
  }
  const one = 1 / fit.heldOutCount;
  return { fit, low: low.map((a) => a - one - 1e-12), high: high.map((a) => a + one + 1e-12) };
}

async function runTask(page: Page, task: (typeof tasks)[number], subset: ProbeDataset) {
  const panel = page.getByTestId('probes-panel');
  // The shipped dataset is offered, whole.
  await panel.getByTestId('probe-dataset').selectOption(task.id);
  await expect(panel.getByTestId('probe-dataset-info')).toContainText(`${task.examples} examples`);
  await panel.getByTestId('probe-file').setInputFiles({
    name: `${task.id}-eighth.json`,
    mimeType: 'application/json',
    buffer: Buffer.from(JSON.stringify(subset)),
  });
  await expect(panel.getByTestId('probe-dataset-info')).toContainText(`${subset.examples.length} examples`);
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
  const subsets = tasks.map((t) => eighth(t.id));
  for (const [i, task] of tasks.entries()) await runTask(page, task, subsets[i]!);

  const panel = page.getByTestId('probes-panel');
  const readable: Record<string, number | undefined> = {};
  for (const [i, task] of tasks.entries()) {
    const { fit, low, high } = expected(weights, model.tokenizer, subsets[i]!);
    const want = heldOut(fit);
    console.log(
      `${task.name} (an eighth): reference held-out ${want.map((a) => a.toFixed(3)).join(' ')} (depths 0…${L}), ` +
        `baseline ${fit.majority.accuracy.toFixed(3)}, ${fit.trainCount} train / ${fit.heldOutCount} held out, ` +
        `groups ${fit.groups?.train} / ${fit.groups?.heldOut}`,
    );
    const series = panel.locator(`[data-testid="probe-series"][data-dataset="${task.name}"]`);
    // One point per depth, in depth order, on one line.
    const got = await series
      .locator('circle[data-held-out]')
      .evaluateAll((cs) => cs.map((c) => Number(c.getAttribute('data-held-out'))));
    console.log(`${task.name} (an eighth): page held-out ${got.map((a) => a.toFixed(3)).join(' ')}`);
    expect(got).toHaveLength(L + 1);
    got.forEach((a, p) => {
      expect(a, `${task.name} at depth ${p}`).toBeGreaterThanOrEqual(low[p]!);
      expect(a, `${task.name} at depth ${p}`).toBeLessThanOrEqual(high[p]!);
    });
    const d = (await series.locator('path.series').getAttribute('d')) ?? '';
    expect(d.match(/[ML]/g)).toHaveLength(L + 1);
    const r = readableDepth(got, fit.majority.accuracy);
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
