// A keystroke's attention views come before its logit lens (PromptRun's two stages): in Chromium on
// the fixture model with ?debug=1, after a key, both heatmaps (and, in its tab, the text view's
// weights) are drawn from the new run's forward and finished on the GPU before its lens's top-k is back
// — an order, read from the app's own User Timing measures (src/state/debug.ts), not a duration;
// then the prediction list shows the CPU reference's next token for the new prompt.
import type { Page } from '@playwright/test';
import { expect, reference, test } from './fixture';

const prompt = 'The cat sat on the mat, and the dog';

/** The end times of the measures `names` of run `seq` (undefined where there is none yet). */
function measuresOf(args: { seq: number; names: string[] }) {
  return args.names.map((n) => {
    const m = (performance.getEntriesByName(`strata:${n}`) as PerformanceMeasure[])
      .filter((e) => e.detail?.seq === args.seq)
      .at(-1);
    return m ? m.startTime + m.duration : undefined;
  });
}

test('the heatmaps and the text view update before the lens result arrives', async ({ page, fixture }) => {
  await page.goto(fixture.url(prompt, { head: '0', debug: '1' }));
  const debug = () =>
    page.evaluate(() => {
      const d = (globalThis as { __strataDebug?: { runs: number; lenses: number } }).__strataDebug!;
      return { runs: d.runs, lenses: d.lenses };
    });
  await expect.poll(async () => (await debug()).lenses, { timeout: 120_000 }).toBeGreaterThanOrEqual(1);
  const textarea = page.getByTestId('prompt');
  await textarea.focus();
  await page.keyboard.press('End');
  const before = await debug();
  await page.keyboard.type('s');
  // The new run's lens applied: every measure of that run is in.
  const seq = before.runs + 1;
  const names = [
    'encode-submit',
    'draw-gpu:head-grid-canvas',
    'draw-gpu:heatmap-focus-canvas',
    'lens-submit',
    'lens-gpu',
    'lens-apply',
  ];
  await expect
    .poll(async () => (await page.evaluate(measuresOf, { seq, names })).every((t) => t !== undefined), {
      timeout: 120_000,
    })
    .toBe(true);
  const [submitted, grid, focus, lensSubmitted, lensBack, lensApplied] = (await page.evaluate(measuresOf, {
    seq,
    names,
  })) as number[];
  // The forward first; the views drawn from it (finished on the GPU) before the lens was back.
  expect(grid).toBeGreaterThan(submitted!);
  expect(grid).toBeLessThan(lensBack!);
  expect(focus).toBeLessThan(lensBack!);
  // The lens submitted after the heatmaps' frames (queue order then keeps them ahead of it).
  const drawSubmitted = await page.evaluate(
    (s) =>
      (performance.getEntriesByName('strata:draw-encode:head-grid-canvas') as PerformanceMeasure[])
        .filter((e) => e.detail?.seq === s)
        .map((e) => e.startTime + e.duration)[0],
    seq,
  );
  expect(drawSubmitted).toBeLessThan(lensSubmitted!);
  expect(lensApplied).toBeGreaterThanOrEqual(lensBack!);
  expect((await debug()).lenses).toBe(before.lenses + 1);

  // Then the prediction: the reference's top next token after the new prompt.
  await expectPrediction(page, `${prompt}s`);

  // The text view, in its tab, a token pointed at: its weights of the next run are back before
  // that run's lens.
  await page.getByRole('tab', { name: 'Text' }).click();
  await page.getByTestId('text-view-tokens').locator('button').first().focus();
  await textarea.focus();
  await page.keyboard.press('End');
  const runs = (await debug()).runs;
  await page.keyboard.press('Backspace');
  const textNames = ['encode-submit', 'text-view', 'lens-gpu', 'lens-apply'];
  const of = { seq: runs + 1, names: textNames };
  await expect
    .poll(async () => (await page.evaluate(measuresOf, of)).every((t) => t !== undefined), {
      timeout: 120_000,
    })
    .toBe(true);
  const [forwardAt, textAt, lensAt] = (await page.evaluate(measuresOf, of)) as number[];
  expect(textAt).toBeGreaterThan(forwardAt!);
  expect(textAt).toBeLessThan(lensAt!);
  await expectPrediction(page, prompt);
});

/** The prediction list's first entry is the reference's top next token after `text`. */
async function expectPrediction(page: Page, text: string) {
  const ref = reference(text);
  const last = ref.lens.at(-1)!;
  const V = last.length / ref.T;
  const row = last.subarray((ref.T - 1) * V, ref.T * V);
  const top = row.indexOf(Math.max(...row));
  await expect(page.getByTestId('next-tokens').locator('li').first()).toHaveAttribute(
    'data-token-id',
    String(top),
  );
}
