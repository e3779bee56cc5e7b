// The all-heads atlas in Chromium on a random-weight GPT-2 with GPT-2 small's 12 layers × 12 heads
// (narrow: width 48, served like the hub): 144 thumbnails on one canvas, in a layers × heads grid
// that fits the window; their pixels — drawn on the GPU from the capture textures — against the
// colormap colour of the CPU reference forward's pattern at sampled cells (one colormap step of
// slack for f32 rounding; masked cells the background colour); Enter on a thumbnail focuses that
// head in the focused heatmap; arrow keys move the cursor; the layer slider highlights its row
// (a DOM highlight: the atlas canvas is not redrawn). GPT-2 XL's 48 × 25 lie inside the atlas's
// panel (its slot bounds them, not the window) at 1280 × 800, centred, and fill the panel's
// height at 3840 × 2160, as 12 × 12 fill its width.
import type { Locator, Page } from '@playwright/test';
import { gpt2Config } from '../src/model/fixtures';
import { maskedColor } from '../src/render/heatmap-renderer';
import { colormapIndex, colormapTable } from '../src/viz/colormaps';
import { referencePatterns } from '../test/support/reference-cases';
import { gpt2Tokenizer, hubFiles, tinyWeights } from '../test/support/tiny-models';
import { expect, test, type Hub } from './fixture';
import { decodePng, pixel, type Image } from './png';

const tokenizer = gpt2Tokenizer();
const config = gpt2Config({ nLayer: 12, nHead: 12, nEmbd: 48, nCtx: 64, vocabSize: 50257 });
const weights = tinyWeights(config, 33, { attention: 14 }); // q and k sharpened
const prompt = 'The cat sat on the mat, and the dog sat on the rug.';
const tokens = tokenizer.encode(prompt);
const T = tokens.length;
const { p, headMax } = referencePatterns(weights, tokens);
const repo = 'strata-test/random-12x12';
// GPT-2 XL's layers and heads, as narrow as can be (head size 2): the layout, not the numbers.
const xl = gpt2Config({ nLayer: 48, nHead: 25, nEmbd: 50, nCtx: 16, vocabSize: 50257 });
const xlRepo = 'strata-test/random-48x25';
test.beforeAll(async ({ hub }) => {
  await hub.publish(repo, hubFiles(weights, 'tokenizer.json'));
  await hub.publish(xlRepo, hubFiles(tinyWeights(xl, 3), 'tokenizer.json'));
});

// Cells away from the thumbnail's top-left corner (where a detector badge may sit): the lower
// half of the rows, the first key, the diagonal, and masked cells above it.
const cells: [number, number][] = [
  [T - 1, 0],
  [T - 1, T - 1],
  [T - 1, Math.floor(T / 2)],
  [Math.floor(T / 2), 0],
  [Math.floor(T / 2), Math.floor(T / 2)],
  [Math.floor(T / 2) + 1, 1],
  [T - 2, 3],
  [2, T - 2], // masked
  [Math.floor(T / 2), T - 1], // masked
];

function expectThumb(image: Image, box: { x: number; y: number; size: number }, l: number, h: number) {
  const table = colormapTable('inferno');
  const max = headMax(l, h);
  const problems: string[] = [];
  const seen = new Set<number>();
  for (const [q, k] of cells) {
    const got = pixel(image, box.x + ((k + 0.5) * box.size) / T, box.y + ((q + 0.5) * box.size) / T);
    if (k > q) {
      if (got.join() !== maskedColor.join()) problems.push(`L${l}.H${h} masked (${q}, ${k}): ${got}`);
      continue;
    }
    const want = colormapIndex(p(l, h, q, k) / max);
    const match = [want, want - 1, want + 1].find(
      (i) => i >= 0 && i < 256 && [0, 1, 2].every((c) => table[4 * i + c] === got[c]),
    );
    if (match === undefined) problems.push(`L${l}.H${h} (${q}, ${k}) entry ${want}: got ${got}`);
    else seen.add(match);
  }
  expect(problems).toEqual([]);
  return seen;
}

async function boxes(atlas: Locator) {
  return atlas.locator('button.thumb').evaluateAll((els) =>
    els.map((e) => {
      const r = e.getBoundingClientRect();
      const b = e as HTMLElement;
      return {
        layer: Number(b.dataset['layer']),
        head: Number(b.dataset['head']),
        x: r.x,
        y: r.y,
        width: r.width,
        height: r.height,
      };
    }),
  );
}

async function openStudio(page: Page, hub: Hub) {
  await page.goto(
    hub.studioUrl(repo, prompt, {
      colormap: 'inferno',
      norm: 'head',
      sink: 'show',
      debug: '1',
      view: 'atlas',
    }),
  );
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
}

test('the atlas shows every layer × head of a 12 × 12 model, drawn from the captures', async ({
  page,
  hub,
}) => {
  // 1280 × 1024: thumbnails of ≈ 48 px, whose edge cells (sampled below) lie clear of the current
  // row's highlight (at 1280 × 800 the atlas now fits its pane: ≈ 31 px, 2 px a cell).
  await page.setViewportSize({ width: 1280, height: 1024 });
  await openStudio(page, hub);
  const atlas = page.getByTestId('atlas');
  await atlas.scrollIntoViewIfNeeded();
  await expect(atlas).toHaveAttribute('data-layers', '12');
  await expect(atlas).toHaveAttribute('data-heads', '12');
  await expect(atlas.locator('button.thumb')).toHaveCount(144);

  // Geometry: a grid of equal squares, layer l in row l and head h in column h, inside the window.
  const all = await boxes(atlas);
  const size = all[0]!.width;
  expect(size).toBeGreaterThanOrEqual(20);
  const viewport = page.viewportSize()!;
  const xs = new Map<number, number>();
  const ys = new Map<number, number>();
  for (const b of all) {
    expect(b.width).toBe(size);
    expect(b.height).toBe(size);
    expect(xs.get(b.head) ?? b.x).toBe(b.x);
    expect(ys.get(b.layer) ?? b.y).toBe(b.y);
    xs.set(b.head, b.x);
    ys.set(b.layer, b.y);
  }
  for (let i = 1; i < 12; i++) {
    expect(xs.get(i)!).toBeGreaterThanOrEqual(xs.get(i - 1)! + size);
    expect(ys.get(i)!).toBeGreaterThanOrEqual(ys.get(i - 1)! + size);
  }
  const atlasBox = (await atlas.boundingBox())!;
  expect(atlasBox.x + atlasBox.width).toBeLessThanOrEqual(viewport.width);
  expect(atlasBox.height).toBeLessThanOrEqual(viewport.height);
  const panel = page.getByTestId('atlas-panel');
  expect(await panel.evaluate((e) => e.scrollWidth - e.clientWidth)).toBe(0);
  await expect(atlas.getByRole('button', { name: /^L5\.H7\b/ })).toHaveCount(1);

  // Pixels: a few heads across the atlas against the reference.
  const canvas = page.getByTestId('atlas-canvas');
  await expect(async () => {
    const image = decodePng(await canvas.screenshot({ animations: 'disabled' }));
    const c = (await canvas.boundingBox())!;
    const all = await boxes(atlas); // as the canvas is now
    const colours = new Set<number>();
    for (const [l, h] of [
      [0, 0],
      [0, 11],
      [5, 7],
      [11, 0],
      [11, 11],
    ] as const) {
      const b = all.find((t) => t.layer === l && t.head === h)!;
      for (const i of expectThumb(image, { x: b.x - c.x, y: b.y - c.y, size: b.width }, l, h)) colours.add(i);
    }
    expect(colours.size).toBeGreaterThanOrEqual(6); // not flat
  }).toPass({ timeout: 60_000 });

  // Enter on a thumbnail focuses that head: the layer and the focused heatmap follow, and the
  // heatmap takes the keyboard.
  const l5h7 = atlas.getByRole('button', { name: /^L5\.H7\b/ });
  await l5h7.focus();
  await page.keyboard.press('Enter');
  const focus = page.getByTestId('heatmap-focus-canvas');
  await expect(focus).toHaveAttribute('data-layer', '5');
  await expect(focus).toHaveAttribute('data-head', '7');
  await expect(page.getByRole('application', { name: /of head L5\.H7 / })).toBeFocused();
  const row = page.getByTestId('atlas-layer-row');
  // The studio shows the focused head large in the heads view; the Atlas tab comes back to the atlas.
  const atlasTab = page.getByRole('tab', { name: 'Atlas' });
  await atlasTab.click();
  await expect(l5h7).toHaveAttribute('aria-pressed', 'true');
  await expect(row).toHaveAttribute('data-layer', '5');

  // Arrow keys move the cursor over layers × heads; Enter focuses where it is.
  await l5h7.focus();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowRight');
  await expect(atlas.getByRole('button', { name: /^L6\.H8\b/ })).toBeFocused();
  await page.keyboard.press('End');
  await expect(atlas.getByRole('button', { name: /^L6\.H11\b/ })).toBeFocused();
  await page.keyboard.press('ArrowLeft');
  await page.keyboard.press('Enter');
  await expect(focus).toHaveAttribute('data-layer', '6');
  await expect(focus).toHaveAttribute('data-head', '10');
  await atlasTab.click();

  // The layer slider (the depth scrubber) highlights its layer's row, without redrawing the atlas.
  const atlasFrame = () =>
    page.evaluate(
      () =>
        (globalThis as { __strataDebug?: { canvases: Record<string, { submitted: number }> } }).__strataDebug!
          .canvases['atlas-canvas']!.submitted,
    );
  await page.waitForTimeout(500); // a frame the focus change may have asked for
  const framed = await atlasFrame();
  const slider = page.getByTestId('depth-scrubber').getByRole('slider', { name: 'Layer' });
  await slider.focus();
  await page.keyboard.press('Home');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await expect(slider).toHaveValue('2');
  await expect(row).toHaveAttribute('data-layer', '2');
  await row.scrollIntoViewIfNeeded();
  const r = (await row.boundingBox())!;
  const now = await boxes(atlas);
  const y2 = now.find((t) => t.layer === 2)!.y;
  expect(Math.abs(r.y + r.height / 2 - (y2 + size / 2))).toBeLessThanOrEqual(1);
  expect(r.height).toBeLessThan(size + 10);
  expect(r.width).toBeGreaterThanOrEqual(12 * size);
  expect(await atlasFrame()).toBe(framed);
});

/**
 * The atlas lies inside its panel, which lies inside the window (the panel's slot, not the window,
 * bounds it), and fills the panel's width or its height to within a row or column of squares.
 */
async function expectInPanel(page: Page) {
  const viewport = page.viewportSize()!;
  const [atlas, panel] = await page.evaluate(() =>
    ['atlas', 'atlas-panel'].map((id) => {
      const r = document.querySelector(`[data-testid="${id}"]`)!.getBoundingClientRect();
      return { x: r.x, y: r.y, right: r.right, bottom: r.bottom };
    }),
  );
  expect(await page.evaluate(() => window.scrollY), 'the page scrolls down by').toBe(0);
  expect(panel!.bottom, 'the panel’s bottom').toBeLessThanOrEqual(viewport.height);
  expect(atlas!.bottom, 'the atlas’s bottom').toBeLessThanOrEqual(panel!.bottom);
  expect(atlas!.right, 'the atlas’s right edge').toBeLessThanOrEqual(panel!.right);
  const step = Number(await page.getByTestId('atlas').getAttribute('data-cell')) + 4;
  const spare = Math.min(panel!.right - atlas!.right, panel!.bottom - atlas!.bottom);
  expect(spare, 'room the atlas leaves on its tighter side').toBeLessThanOrEqual(step + 40);
}

test('at 3840 × 2160 GPT-2 XL’s 48 × 25 heads and 12 × 12 ones fill the panel', async ({ page, hub }) => {
  await page.setViewportSize({ width: 3840, height: 2160 });
  await page.goto(hub.studioUrl(xlRepo, 'A short prompt for a tall model.', { view: 'atlas' }));
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5, { timeout: 120_000 });
  await expect(page.getByTestId('atlas').locator('button.thumb')).toHaveCount(1200);
  await expect(async () => expectInPanel(page)).toPass({ timeout: 20_000 });
  // A square model in a tall pane: bound by the width.
  await page.goto(hub.studioUrl(repo, prompt, { view: 'atlas' }));
  await expect(page.getByTestId('atlas').locator('button.thumb')).toHaveCount(144, { timeout: 120_000 });
  await expect(async () => expectInPanel(page)).toPass({ timeout: 20_000 });
});

test('GPT-2 XL’s 48 × 25 heads fit the window at 1280 × 800', async ({ page, hub }) => {
  await page.goto(hub.studioUrl(xlRepo, 'A short prompt for a tall model.', { view: 'atlas' }));
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5, { timeout: 120_000 });
  const atlas = page.getByTestId('atlas');
  await atlas.scrollIntoViewIfNeeded();
  await expect(atlas).toHaveAttribute('data-layers', '48');
  await expect(atlas.locator('button.thumb')).toHaveCount(1200);
  const viewport = page.viewportSize()!;
  // Both boxes in one frame (the detectors' legend may appear above the atlas at any time).
  const [box, last] = await atlas.evaluate((e) =>
    [e, e.querySelector('[data-layer="47"][data-head="24"]')!].map((x) => {
      const r = x.getBoundingClientRect();
      return { x: r.x, y: r.y, width: r.width, height: r.height };
    }),
  );
  expect(box!.x + box!.width).toBeLessThanOrEqual(viewport.width);
  expect(box!.height).toBeLessThanOrEqual(viewport.height - 100);
  await expectInPanel(page);
  // Bound by the height: the frame (labels included) centred in the panel's width.
  const wrap = (await page.getByTestId('atlas-panel').locator('.wrap').boundingBox())!;
  const frame = (await page.getByTestId('atlas-panel').locator('.frame').boundingBox())!;
  const [left, right] = [frame.x - wrap.x, wrap.x + wrap.width - frame.x - frame.width];
  expect(Math.abs(left - right), `left ${left} px, right ${right} px`).toBeLessThanOrEqual(4);
  expect(last!.x + last!.width).toBe(box!.x + box!.width);
  expect(last!.y + last!.height).toBe(box!.y + box!.height);
  const cell = Number(await atlas.getAttribute('data-cell'));
  expect(cell).toBeGreaterThanOrEqual(6);
  expect(last!.width).toBe(cell);
  const panel = page.getByTestId('atlas-panel');
  expect(await panel.evaluate((e) => e.scrollWidth - e.clientWidth)).toBe(0);
  // End on the slider: the last layer's row.
  const slider = page.getByTestId('depth-scrubber').getByRole('slider', { name: 'Layer' });
  await slider.focus();
  await page.keyboard.press('End');
  await expect(page.getByTestId('atlas-layer-row')).toHaveAttribute('data-layer', '47');
});
