// The attention heatmaps, pixel for pixel: a random-weight GPT-2 (q and k sharpened so patterns are
// not flat) is served like the hub, the studio runs it in Chromium, and the colours its canvases show
// — drawn on the GPU from the capture textures — are checked against the colormap colour of the CPU
// reference forward's pattern at sampled cells (one colormap step of slack for f32 rounding), the
// masked cells against the background colour, then again after the layer slider moves.
import type { Locator, Page } from '@playwright/test';
import { gpt2Config } from '../src/model/fixtures';
import { colormapIndex, colormapTable, type ColormapName } from '../src/viz/colormaps';
import { maskedColor } from '../src/render/heatmap-renderer';
import { referencePatterns } from '../test/support/reference-cases';
import { gpt2Tokenizer, hubFiles, tinyWeights } from '../test/support/tiny-models';
import { expect, missingTokenizerJson, test, type Hub } from './fixture';
import { decodePng, pixel, type Image } from './png';

const tokenizer = gpt2Tokenizer();
const config = gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 32, nCtx: 32, vocabSize: 50257 });
const weights = tinyWeights(config, 21, { attention: 14 }); // q and k sharpened
const prompt = 'The cat sat on the mat, and the dog';
const tokens = tokenizer.encode(prompt);
const T = tokens.length;
const { p, headMax } = referencePatterns(weights, tokens);

const repo = 'strata-test/tiny-gpt2-heatmaps';
test.beforeAll(({ hub }) => hub.publish(repo, hubFiles(weights, 'vocab.json')));
test.use({ allowedErrors: [missingTokenizerJson] });

/** Cells to sample: the diagonal, the first key, a few in between, and masked ones. */
const cells: [number, number][] = [
  [0, 0],
  [1, 0],
  [1, 1],
  [3, 2],
  [T - 1, 0],
  [T - 1, T - 1],
  [T - 1, Math.floor(T / 2)],
  [Math.floor(T / 2), 1],
  [Math.floor(T / 2), Math.floor(T / 2)],
  [2, 5], // masked
  [0, T - 1], // masked
];

async function shot(locator: Locator): Promise<Image> {
  return decodePng(await locator.screenshot({ animations: 'disabled' }));
}

/**
 * Checks a heatmap drawn in `box` (image pixels) of `image` at every sampled cell: the colour of
 * p / headMax (linear, per-head max), one colormap entry of slack; masked cells the background.
 */
function expectPattern(
  image: Image,
  box: { x: number; y: number; size: number },
  layer: number,
  head: number,
  colormap: ColormapName,
) {
  const table = colormapTable(colormap);
  const max = headMax(layer, head);
  const problems: string[] = [];
  const seen = new Set<number>();
  for (const [q, k] of cells) {
    const got = pixel(image, box.x + ((k + 0.5) * box.size) / T, box.y + ((q + 0.5) * box.size) / T);
    if (k > q) {
      if (got.join() !== maskedColor.join()) problems.push(`masked (${q}, ${k}): got ${got}`);
      continue;
    }
    const want = colormapIndex(p(layer, head, q, k) / max);
    const match = [want, want - 1, want + 1].find(
      (i) => i >= 0 && i < 256 && [0, 1, 2].every((c) => table[4 * i + c] === got[c]),
    );
    if (match === undefined)
      problems.push(
        `L${layer} H${head} (${q}, ${k}) p=${p(layer, head, q, k).toFixed(4)} entry ${want} ${[...table.subarray(4 * want, 4 * want + 3)]}: got ${got}`,
      );
    else seen.add(match);
  }
  expect(problems).toEqual([]);
  // Not a flat pattern: the samples span several colours.
  expect(seen.size).toBeGreaterThanOrEqual(4);
}

async function openStudio(page: Page, hub: Hub) {
  await page.goto(hub.studioUrl(repo, prompt));
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
}

test('heatmaps show the engine’s attention patterns, and the layer slider switches layers', async ({
  page,
  hub,
}) => {
  await openStudio(page, hub);
  const panel = page.getByTestId('attention-panel');
  await panel.getByLabel('Colormap').selectOption('inferno');
  await panel.getByLabel('Scale', { exact: true }).selectOption('linear');
  await panel.getByLabel('Normalize').selectOption('head');
  await panel.getByLabel('First token (sink)').selectOption('show');

  // The grid: every head of layer 0, each square under its "L.H" button.
  const grid = page.getByTestId('head-grid-canvas');
  await expect(grid).toHaveAttribute('data-layer', '0');
  await expect(async () => {
    const image = await shot(grid);
    const canvasBox = (await grid.boundingBox())!;
    for (let head = 0; head < config.nHead; head++) {
      const b = (await panel.getByRole('button', { name: `Head L0.H${head}` }).boundingBox())!;
      // The square is the bottom b.width × b.width of the button (its label strip is above).
      expectPattern(
        image,
        { x: b.x - canvasBox.x, y: b.y + b.height - b.width - canvasBox.y, size: b.width },
        0,
        head,
        'inferno',
      );
    }
  }).toPass({ timeout: 30_000 });

  // Focus head 0 by clicking it, then head 1 with the arrow key: one head large.
  await panel.getByRole('button', { name: 'Head L0.H0' }).click();
  const focus = page.getByTestId('heatmap-focus-canvas');
  await expect(focus).toHaveAttribute('data-head', '0');
  await page.keyboard.press('ArrowRight');
  await expect(focus).toHaveAttribute('data-head', '1');
  await expect(panel.getByRole('button', { name: 'Head L0.H1' })).toHaveAttribute('aria-pressed', 'true');
  await expect(focus).toHaveAttribute('data-rows', String(T));
  let layer0: Image | undefined;
  await expect(async () => {
    const image = await shot(focus);
    expectPattern(image, { x: 0, y: 0, size: image.width }, 0, 1, 'inferno');
    layer0 = image;
  }).toPass({ timeout: 30_000 });

  // The layer slider: → moves to layer 1 without re-running the model; the picture follows.
  const slider = page.getByTestId('depth-scrubber').getByRole('slider', { name: 'Layer' });
  await slider.focus();
  await page.keyboard.press('ArrowRight');
  await expect(slider).toHaveValue('1');
  await expect(focus).toHaveAttribute('data-layer', '1');
  await expect(async () => {
    const image = await shot(focus);
    expectPattern(image, { x: 0, y: 0, size: image.width }, 1, 1, 'inferno');
    expect(Buffer.from(image.data).equals(Buffer.from(layer0!.data))).toBe(false);
  }).toPass({ timeout: 30_000 });
  await page.keyboard.press('Home');
  await expect(focus).toHaveAttribute('data-layer', '0');
  // Play steps through the layers (here 0 → 1) and stops at the last.
  const play = page.getByTestId('depth-scrubber').getByRole('button', { name: 'Play through the layers' });
  await play.click();
  await expect(slider).toHaveValue('1');
  await expect(play).toHaveAttribute('aria-pressed', 'false');
  await expect(focus).toHaveAttribute('data-layer', '1');
  await slider.focus();
  await page.keyboard.press('Home');
  await expect(focus).toHaveAttribute('data-layer', '0');

  // Hovering a cell: the tooltip names both tokens and reads back the weight the engine captured.
  const [q, k] = [T - 1, 1];
  const box = (await focus.boundingBox())!;
  await page.mouse.move(box.x + ((k + 0.5) * box.width) / T, box.y + ((q + 0.5) * box.height) / T);
  const tooltip = page.getByTestId('heatmap-focus-tooltip');
  await expect(tooltip).toContainText(`query ${q}`);
  await expect(tooltip).toContainText(`key ${k}`);
  const weight = Number(await page.getByTestId('tooltip-weight').getAttribute('data-weight'));
  expect(Math.abs(weight - p(0, 1, q, k))).toBeLessThan(1e-5);

  // Escape returns to the grid.
  await page.getByRole('application', { name: /Attention pattern of head/ }).press('Escape');
  await expect(focus).toHaveCount(0);
});

test('a link reproduces the view: model, prompt, layer, focused head, colours', async ({
  page,
  context,
  hub,
}) => {
  const view = { layer: '1', head: '1', colormap: 'magma', scale: 'log', norm: 'shared', sink: 'hide' };
  await page.goto(hub.studioUrl(repo, prompt, view));
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
  const panel = page.getByTestId('attention-panel');
  await expect(page.getByTestId('depth-scrubber').getByRole('slider', { name: 'Layer' })).toHaveValue('1');
  await expect(panel.getByRole('button', { name: 'Head L1.H1' })).toHaveAttribute('aria-pressed', 'true');
  await expect(panel.getByLabel('Colormap')).toHaveValue('magma');
  await expect(panel.getByLabel('Scale', { exact: true })).toHaveValue('log');
  await expect(panel.getByLabel('Normalize')).toHaveValue('shared');
  await expect(panel.getByLabel('First token (sink)')).toHaveValue('hide');
  const focused = await page.getByTestId('heatmap-focus-canvas').screenshot();

  // Changing the view updates the URL; the URL opened in a new tab shows the same picture.
  await page.getByTestId('depth-scrubber').getByRole('slider', { name: 'Layer' }).press('ArrowLeft');
  await expect(page).toHaveURL(/layer=0|^(?!.*layer=)/);
  await page.getByTestId('depth-scrubber').getByRole('slider', { name: 'Layer' }).press('ArrowRight');
  await expect(page).toHaveURL(/layer=1/);
  const again = await context.newPage();
  await again.goto(page.url());
  await expect(again.getByTestId('next-tokens').locator('li')).toHaveCount(5);
  await expect(again.getByTestId('heatmap-focus-canvas')).toBeVisible();
  expect(Buffer.compare(await again.getByTestId('heatmap-focus-canvas').screenshot(), focused)).toBe(0);
});

// The kernels a real GPU runs (attention with one workgroup per row, tiled matmuls), forced on
// Chromium's software adapter with ?kernels=tiled: the captures they write draw the same pictures.
test('the kernels made for GPUs write the same captures in Chromium', async ({ page, hub }) => {
  await page.goto(hub.studioUrl(repo, prompt, { kernels: 'tiled', colormap: 'inferno', head: '1' }));
  await expect(page.getByTestId('kernel-set')).toHaveText('tiled kernels');
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
  const focus = page.getByTestId('heatmap-focus-canvas');
  await expect(focus).toHaveAttribute('data-head', '1');
  for (const layer of [0, 1]) {
    if (layer === 1) {
      await page.getByRole('slider', { name: 'Layer' }).focus();
      await page.keyboard.press('ArrowRight');
    }
    await expect(focus).toHaveAttribute('data-layer', String(layer));
    await expect(async () => {
      const image = await shot(focus);
      expectPattern(image, { x: 0, y: 0, size: image.width }, layer, 1, 'inferno');
    }).toPass({ timeout: 30_000 });
  }
});
