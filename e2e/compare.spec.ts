// Compare mode in Chromium on the fixture model: two prompts side by side, each run in its own
// session on one copy of the weights. Checked against the CPU reference forward of each prompt:
// both next-token predictions; both prompts' head grids (pixels at sampled cells: the colormap
// colour of each prompt's own pattern); the difference grid (pixels: the diverging map's colour of
// (p_A − p_B) / max |p_A − p_B|, one colormap entry of slack for f32 rounding, masked cells the
// background); the linked focused head and its tooltip (p_A, p_B within 1e-5); and, once the
// prompts' lengths differ, the per-layer cosine of their last-position streams (within 1e-4).
// At 1280×800 a focused head of each prompt is whole (plot and key labels inside the pane).
import type { Locator, Page } from '@playwright/test';
import { colormapIndex, colormapTable, divergingIndex } from '../src/viz/colormaps';
import { maskedColor } from '../src/render/heatmap-renderer';
import { config, expect, reference, test, top2 } from './fixture';
import { decodePng, pixel, type Image } from './png';

const promptA = 'The cat sat on the mat, and the dog';
const promptB = 'The cat sat on the rug, and the dog';
const A = reference(promptA);
const B = reference(promptB);
const T = A.T;
const D = config.nEmbd;

const p = (r: typeof A, layer: number, head: number, q: number, k: number) =>
  r.ref.patterns[layer]![(head * r.T + q) * r.T + k]!;
const cells: [number, number][] = [
  [0, 0],
  [3, 2],
  [5, 0],
  [5, 5],
  [6, 4],
  [8, 5],
  [9, 3],
  [T - 1, T - 1],
  [T - 1, 1],
  [2, 7], // masked
];

async function shot(locator: Locator): Promise<Image> {
  return decodePng(await locator.screenshot({ animations: 'disabled' }));
}

/** The square of head `head` in a head grid: the bottom b.width × b.width of its button. */
async function headSquare(page: Page, canvas: Locator, name: string) {
  const c = (await canvas.boundingBox())!;
  const b = (await page.getByRole('button', { name, exact: true }).boundingBox())!;
  return { x: b.x - c.x, y: b.y + b.height - b.width - c.y, size: b.width };
}

function matchEntry(table: Uint8Array, want: number, got: number[]): number | undefined {
  return [want, want - 1, want + 1].find(
    (i) => i >= 0 && i < 256 && [0, 1, 2].every((c) => table[4 * i + c] === got[c]),
  );
}

test('compare mode: both prompts, their difference head by head, and their streams layer by layer', async ({
  page,
  fixture,
}) => {
  expect(B.T).toBe(T);
  await page.goto(fixture.url(promptA, { compare: promptB }));
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
  await expect(page.getByTestId('next-tokens-b').locator('li')).toHaveCount(5);

  // The two predictions: each prompt's own.
  for (const [id, r] of [
    ['next-tokens', A],
    ['next-tokens-b', B],
  ] as const) {
    const [[best, pBest], [, pSecond]] = top2(r.lens[config.nLayer]!, T - 1);
    if (pBest - pSecond > 1e-4)
      await expect(page.getByTestId(id).locator('li').first()).toHaveAttribute('data-token-id', String(best));
  }

  const panel = page.getByTestId('attention-panel');
  await panel.getByLabel('Colormap').selectOption('inferno');
  const diffPanel = page.getByTestId('difference-panel');
  await expect(diffPanel.getByLabel('Diverging colormap')).toHaveValue('rdbu');

  // Each prompt's grid shows its own patterns; the difference grid shows A − B.
  const inferno = colormapTable('inferno');
  const rdbu = colormapTable('rdbu');
  await expect(async () => {
    const problems: string[] = [];
    for (const [testid, r, suffix] of [
      ['head-grid-canvas', A, ' of prompt A'],
      ['head-grid-canvas-B', B, ' of prompt B'],
    ] as const) {
      const canvas = page.getByTestId(testid);
      const image = await shot(canvas);
      for (let head = 0; head < config.nHead; head++) {
        const box = await headSquare(page, canvas, `Head L0.H${head}${suffix}`);
        let max = 0;
        for (let q = 0; q < T; q++) for (let k = 0; k <= q; k++) max = Math.max(max, p(r, 0, head, q, k));
        for (const [q, k] of cells) {
          const got = pixel(image, box.x + ((k + 0.5) * box.size) / T, box.y + ((q + 0.5) * box.size) / T);
          if (k > q) {
            if (got.join() !== maskedColor.join()) problems.push(`${testid} masked (${q},${k}): ${got}`);
          } else if (matchEntry(inferno, colormapIndex(p(r, 0, head, q, k) / max), got) === undefined)
            problems.push(`${testid} H${head} (${q},${k}): ${got}`);
        }
      }
    }
    const diffCanvas = page.getByTestId('diff-grid-canvas');
    const image = await shot(diffCanvas);
    let signs = 0;
    for (let head = 0; head < config.nHead; head++) {
      const box = await headSquare(page, diffCanvas, `Head L0.H${head} difference`);
      let max = 0;
      for (let q = 0; q < T; q++)
        for (let k = 0; k <= q; k++) max = Math.max(max, Math.abs(p(A, 0, head, q, k) - p(B, 0, head, q, k)));
      for (const [q, k] of cells) {
        const got = pixel(image, box.x + ((k + 0.5) * box.size) / T, box.y + ((q + 0.5) * box.size) / T);
        if (k > q) {
          if (got.join() !== maskedColor.join()) problems.push(`diff masked (${q},${k}): ${got}`);
          continue;
        }
        const d = (p(A, 0, head, q, k) - p(B, 0, head, q, k)) / max;
        const want = divergingIndex(d);
        if (matchEntry(rdbu, want, got) === undefined)
          problems.push(`diff H${head} (${q},${k}) d=${d.toFixed(4)} entry ${want}: ${got}`);
        if (Math.abs(d) > 0.2) signs |= d > 0 ? 1 : 2;
      }
    }
    expect(problems).toEqual([]);
    expect(signs).toBe(3); // the samples include cells where A attends more and where B does
  }).toPass({ timeout: 60_000 });

  // One head focused in all three views (linked); the difference tooltip reads both captures.
  await panel.getByRole('button', { name: 'Head L0.H1 of prompt A' }).click();
  for (const id of ['heatmap-focus-canvas', 'heatmap-focus-B-canvas', 'diff-focus-canvas'])
    await expect(page.getByTestId(id)).toHaveAttribute('data-head', '1');
  const diffFocus = page.getByTestId('diff-focus-canvas');
  const [q, k] = [8, 5];
  await diffFocus.scrollIntoViewIfNeeded();
  const box = (await diffFocus.boundingBox())!;
  await page.mouse.move(box.x + ((k + 0.5) * box.width) / T, box.y + ((q + 0.5) * box.height) / T);
  const weight = page.getByTestId('difference-panel').getByTestId('tooltip-weight');
  await expect(weight).toHaveAttribute('data-weight-b', /\d/);
  expect(Math.abs(Number(await weight.getAttribute('data-weight')) - p(A, 0, 1, q, k))).toBeLessThan(1e-5);
  expect(Math.abs(Number(await weight.getAttribute('data-weight-b')) - p(B, 0, 1, q, k))).toBeLessThan(1e-5);
  await page.mouse.move(0, 0);

  // The layer is linked too: the slider moves every view.
  await page.getByTestId('depth-scrubber').getByRole('slider', { name: 'Layer' }).press('ArrowRight');
  for (const id of ['head-grid-canvas', 'head-grid-canvas-B', 'diff-grid-canvas', 'diff-focus-canvas'])
    await expect(page.getByTestId(id)).toHaveAttribute('data-layer', '1');

  // Prompt B in the URL.
  await expect(page).toHaveURL(new RegExp(`compare=${encodeURIComponent(promptB).replaceAll('%20', '\\+')}`));

  // Another length: no cell-by-cell difference; the streams compared layer by layer instead.
  const promptC = 'The dog';
  const C = reference(promptC);
  await page.getByTestId('prompt-b').fill(promptC);
  await expect(diffPanel.getByTestId('length-mismatch')).toContainText(`${T} and ${C.T} tokens`);
  await expect(page.getByTestId('diff-grid-canvas')).toHaveCount(0);
  const bars = diffPanel.getByTestId('similarity-bar');
  await expect(bars).toHaveCount(config.nLayer + 1);
  const want = A.depths.map((x, d) => {
    const a = x.subarray((T - 1) * D, T * D);
    const c = C.depths[d]!.subarray((C.T - 1) * D, C.T * D);
    let ab = 0;
    let aa = 0;
    let cc = 0;
    for (let i = 0; i < D; i++) [ab, aa, cc] = [ab + a[i]! * c[i]!, aa + a[i]! ** 2, cc + c[i]! ** 2];
    return ab / Math.sqrt(aa * cc);
  });
  await expect(async () => {
    const got = await bars.evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-cos'))));
    expect(got).toHaveLength(want.length);
    got.forEach((c, d) => expect(Math.abs(c - want[d]!), `depth ${d}`).toBeLessThanOrEqual(1e-4));
  }).toPass({ timeout: 30_000 });
  await expect(page).toHaveURL(/compare=The\+dog/);

  // Compare off: one prompt again, and the URL forgets B.
  await page.getByTestId('compare-toggle').click();
  await expect(page.getByTestId('difference-panel')).toHaveCount(0);
  await expect(page).not.toHaveURL(/compare=/);
});

test('at 1280×800 the focused heads of two prompts are whole: plot and key labels in the pane', async ({
  page,
  fixture,
}) => {
  const long = 'When Mary and John went to the store on a cold day in April, John gave a drink to';
  await page.goto(fixture.url(long, { compare: long.replace(', John', ', Mary'), head: '1' }));
  await expect(page.getByTestId('next-tokens-b').locator('li')).toHaveCount(5);
  const runs = page.getByTestId('attention-panel').locator('.runs');
  await expect(async () => {
    const pane = (await runs.boundingBox())!;
    for (const id of ['heatmap-focus', 'heatmap-focus-B']) {
      const focus = page.getByTestId(id);
      const boxes = [
        (await page.getByTestId(`${id}-canvas`).boundingBox())!,
        ...(await focus.locator('.keys .tick').evaluateAll((els) =>
          els.map((e) => {
            const r = e.getBoundingClientRect();
            return { x: r.x, y: r.y, width: r.width, height: r.height };
          }),
        )),
      ];
      expect(boxes.length, `${id}: the plot and its key labels`).toBeGreaterThan(5);
      for (const b of boxes) {
        expect(b.y + b.height, `${id} bottom`).toBeLessThanOrEqual(pane.y + pane.height);
        expect(b.x + b.width, `${id} right`).toBeLessThanOrEqual(pane.x + pane.width);
        expect(b.x, `${id} left`).toBeGreaterThanOrEqual(pane.x);
      }
    }
    // Nothing to scroll to: the views fit the pane.
    expect(await runs.evaluate((el) => el.scrollHeight - el.clientHeight)).toBeLessThanOrEqual(0);
  }).toPass({ timeout: 20_000 });
  // Closing the focused head brings the grids back, the keyboard on its head.
  await page.getByTestId('heatmap-focus').getByRole('button', { name: 'Back to the grid of heads' }).click();
  await expect(page.getByTestId('heatmap-focus')).toHaveCount(0);
  await expect(page.getByRole('button', { name: 'Head L0.H1 of prompt A' })).toBeVisible();
});
