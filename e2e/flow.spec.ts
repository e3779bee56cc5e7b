// The residual-stream flow view in Chromium, drawn on the GPU from the residual stats: its pixels
// against the CPU reference forward on the fixture model. Each stream ribbon's colour at its row
// centre must be the norm colormap entry of ‖stream‖ / max‖stream‖, each addition bar's colour the
// cosine colormap entry of the addition's cosine with the stream it read — within one colormap
// entry (1/255 of max‖stream‖; 2/255 in cosine), the slack of f32 rounding at an 8-bit level.
// The logit lens's labels name the reference's top token. Then the keyboard cursor and its
// screen-reader description, the tooltip's top 5, the depth scrubber moving the highlighted block
// (the level animating through the boundaries in between), the camera (wheel zoom keeps the point
// under the pointer; drag pans), 0 readbacks (every GPUBuffer.mapAsync counted in the page) while
// scrubbing, panning and zooming, and the lens's cost and choice. Last, a 200-token prompt on a
// model with a longer context: the page does not widen, and the view re-fits a resize.
// The axis text: 11 px at 1280×800, 14–16 px at 3840×2160 (DOM text, drawn at the pixel ratio).
import type { Locator, Page } from '@playwright/test';
import { gpt2Config } from '../src/model/fixtures';
import { boundaryName } from '../src/viz/depth-names';
import { barSpan, cosIndex, flowCosTable, flowNormTable, flowRows, normIndex } from '../src/viz/flow-layout';
import { formatFlops, lensCost } from '../src/state/flow';
import { hubFiles, tinyWeights } from '../test/support/tiny-models';
import { config, expect, reference, test, tokenizer, top2 } from './fixture';
import { decodePng, pixel, type Image } from './png';

const prompt = 'The cat sat on the mat, and the dog';
const want = reference(prompt);
const { T } = want;
const L = config.nLayer;
const D = config.nEmbd;
const rows = flowRows(L);

/** What the page exposes to tests: the readback count below, and src/state/debug.ts's counters. */
type Counted = Window & { __readbacks?: number; __strataDebug?: { draws: number } };

/** Counts every GPUBuffer.mapAsync (each CPU readback) before the app's code runs. */
function countReadbacks() {
  const w = window as Counted;
  w.__readbacks = 0;
  const original = GPUBuffer.prototype.mapAsync;
  GPUBuffer.prototype.mapAsync = function (this: GPUBuffer, ...args: Parameters<GPUBuffer['mapAsync']>) {
    w.__readbacks = (w.__readbacks ?? 0) + 1;
    return original.apply(this, args);
  };
}

/** The reference's stream at boundary b (0 … 2L), row t. */
function stream(b: number, t: number): Float32Array {
  const x =
    b === 2 * L ? want.ref.residPost : b % 2 ? want.ref.residMid[(b - 1) / 2]! : want.ref.residPre[b / 2]!;
  return x.subarray(t * D, (t + 1) * D);
}
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let d = 0; d < D; d++) s += a[d]! * b[d]!;
  return s;
};
const norm = (b: number, t: number) => Math.sqrt(dot(stream(b, t), stream(b, t)));
/** What made boundary b ≥ 1 at t: its norm and its cosine with the stream it read. */
function addition(b: number, t: number) {
  const before = stream(b - 1, t);
  const add = Array.from(stream(b, t), (v, d) => v - before[d]!);
  const n = Math.sqrt(dot(add, add));
  return { norm: n, cos: dot(add, before) / (n * Math.sqrt(dot(before, before))) };
}
const maxNorm = Math.max(...Array.from({ length: rows * T }, (_, i) => norm(Math.floor(i / T), i % T)));
const maxAdd = Math.max(
  ...Array.from({ length: (rows - 1) * T }, (_, i) => addition(1 + Math.floor(i / T), i % T).norm),
);

/** World (position, boundary) → pixel of the canvas image, from the canvas's data-view. */
async function projection(canvas: Locator) {
  const [x0, y0, x1, y1] = (await canvas.getAttribute('data-view'))!.split(',').map(Number) as [
    number,
    number,
    number,
    number,
  ];
  const box = (await canvas.boundingBox())!;
  return {
    box,
    toPx: (x: number, y: number): [number, number] => [
      ((x - x0) / (x1 - x0)) * box.width,
      ((y1 - y) / (y1 - y0)) * box.height,
    ],
    toWorld: (px: number, py: number): [number, number] => [
      x0 + (px / box.width) * (x1 - x0),
      y1 - (py / box.height) * (y1 - y0),
    ],
  };
}

function entryNear(table: Uint8Array, rgb: readonly number[], index: number): number | undefined {
  return [index, index - 1, index + 1].find(
    (i) => i >= 0 && i < 256 && [0, 1, 2].every((c) => table[4 * i + c] === rgb[c]),
  );
}

/** Every cell's ribbon and bar in `image` against the reference; returns what disagrees. */
function checkPixels(image: Image, toPx: (x: number, y: number) => [number, number]): string[] {
  const normTable = flowNormTable();
  const cosTable = flowCosTable();
  const problems: string[] = [];
  const seen = new Set<number>();
  for (let b = 0; b < rows; b++) {
    for (let t = 0; t < T; t++) {
      const [x, y] = toPx(t + 0.5, b + 0.5);
      const got = pixel(image, x, y);
      const n = normIndex(norm(b, t), maxNorm);
      if (entryNear(normTable, got, n) === undefined)
        problems.push(`ribbon b${b} t${t}: ${got}, want entry ${n}`);
      else seen.add(n);
      if (b === 0) continue;
      const a = addition(b, t);
      const [u0, u1] = barSpan(b % 2 ? 'attn' : 'mlp', a.norm, maxAdd);
      const [bx0] = toPx(t + u0, b);
      const [bx1] = toPx(t + u1, b);
      if (bx1 - bx0 < 3) continue;
      const bar = pixel(image, (bx0 + bx1) / 2, y);
      const c = cosIndex(a.cos);
      if (entryNear(cosTable, bar, c) === undefined)
        problems.push(
          `${b % 2 ? 'attention' : 'MLP'} bar b${b} t${t}: ${bar}, want entry ${c} (cos ${a.cos})`,
        );
    }
  }
  if (seen.size < 5) problems.push(`only ${seen.size} stream colours: a flat picture`);
  return problems;
}

async function readbacks(page: Page) {
  return page.evaluate(() => (window as Counted).__readbacks ?? 0);
}

test('the flow view’s pixels show the stream and each block’s additions as the reference computes them', async ({
  page,
  fixture,
}) => {
  await page.addInitScript(countReadbacks);
  await page.goto(fixture.url(prompt, { layer: String(L - 1) }));
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
  const flow = page.getByTestId('flow-view');
  const canvas = flow.getByTestId('flow-canvas');
  // The run's numbers are there, and the stream has flowed to the top (level 2L).
  await expect(canvas).toHaveAttribute('data-max-norm', /\d/);
  await expect(canvas).toHaveAttribute('data-level', String(2 * L));
  expect(Number(await canvas.getAttribute('data-max-norm'))).toBeCloseTo(maxNorm, 3);

  const { toPx, toWorld } = await projection(canvas);
  await expect(async () => {
    expect(checkPixels(decodePng(await canvas.screenshot()), toPx)).toEqual([]);
  }).toPass({ timeout: 20_000 });

  // Labels: the lens's top token where it was computed (every resid_pre and the output), in view.
  const labels = await flow.getByTestId('flow-label').evaluateAll((els) =>
    els.map((el) => ({
      b: Number(el.getAttribute('data-boundary')),
      t: Number(el.getAttribute('data-position')),
      id: Number(el.getAttribute('data-token-id')),
    })),
  );
  expect(labels).toHaveLength((L + 1) * T);
  for (const c of labels) {
    expect(c.b % 2, 'lens rows: resid_pre and the output').toBe(0);
    const [[id1, p1], [id2, p2]] = top2(want.lens[c.b / 2]!, c.t);
    expect(c.id === id1 || (c.id === id2 && p1 - p2 < 1e-4), `label b${c.b} t${c.t}`).toBe(true);
  }

  // The keyboard cursor: the first arrow puts it on the final prediction, then it moves.
  const plot = flow.getByTestId('flow-plot');
  const live = flow.getByTestId('flow-live');
  const tooltip = flow.getByTestId('flow-tooltip');
  await plot.focus();
  await page.keyboard.press('ArrowUp');
  await expect(live).toContainText(`${boundaryName(2 * L)}, position ${T - 1}`);
  await expect(live).toContainText('the final prediction');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowLeft');
  await expect(live).toContainText(`${boundaryName(2 * L - 2)}, position ${T - 2}`);
  const ids = await tooltip
    .locator('li')
    .evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-token-id'))));
  expect(ids).toHaveLength(5);
  expect(ids[0]).toBe(labels.find((c) => c.b === 2 * L - 2 && c.t === T - 2)!.id);
  await expect(tooltip).toContainText(`blocks.${L - 1}.hook_resid_pre`);
  await page.keyboard.press('PageDown');
  await expect(live).toContainText(`Embeddings, position ${T - 2}`);
  await page.keyboard.press('Escape');

  // The scrubber: the highlighted block's three boundaries follow the attention panel's layer.
  const current = () =>
    flow
      .locator('[data-testid="flow-row-label"][data-current="true"]')
      .evaluateAll((els) => els.map((el) => Number(el.getAttribute('data-boundary'))));
  await expect.poll(current).toEqual([2 * L - 2, 2 * L - 1, 2 * L]);
  const slider = page.getByTestId('depth-scrubber').getByRole('slider', { name: 'Layer' });
  const before = await readbacks(page);
  const draws0 = await page.evaluate(() => (window as Counted).__strataDebug!.draws);
  await slider.press('Home');
  await expect.poll(current).toEqual([0, 1, 2]);
  await expect(canvas).toHaveAttribute('data-target-level', '2');
  await expect(canvas).toHaveAttribute('data-level', '2');
  // Animated: the level passes through the boundaries in between, frame by frame, to 2L.
  const levels = page.evaluate(
    () =>
      new Promise<number[]>((resolve) => {
        const seen: number[] = [];
        const c = document.querySelector('[data-testid="flow-view"] [data-testid="flow-canvas"]')!;
        const t0 = performance.now();
        const tick = () => {
          seen.push(Number(c.getAttribute('data-level')));
          if (performance.now() - t0 < 3000) requestAnimationFrame(tick);
          else resolve(seen);
        };
        requestAnimationFrame(tick);
      }),
  );
  await slider.press('End');
  const between = (await levels).filter((x) => x > 2 && x < 2 * L);
  expect(between.length, 'frames between the two levels').toBeGreaterThan(0);
  await expect(canvas).toHaveAttribute('data-level', String(2 * L));

  // The camera: the wheel zooms about the pointer (the world point under it stays), a drag pans.
  await plot.scrollIntoViewIfNeeded();
  const box = (await plot.boundingBox())!;
  // On whole page pixels: the wheel event's clientX/Y are whole numbers, the zoom's centre.
  const at: [number, number] = [
    Math.round(box.x + box.width * 0.3) - box.x,
    Math.round(box.y + box.height * 0.4) - box.y,
  ];
  const cBox = (await canvas.boundingBox())!;
  const point = toWorld(at[0] + box.x - cBox.x, at[1] + box.y - cBox.y);
  const view0 = (await canvas.getAttribute('data-view'))!;
  await page.mouse.move(box.x + at[0], box.y + at[1]);
  await page.mouse.wheel(0, -300);
  await expect(canvas).not.toHaveAttribute('data-view', view0);
  await expect(async () => {
    const zoomed = await projection(canvas);
    const [x, y] = zoomed.toWorld(at[0] + box.x - cBox.x, at[1] + box.y - cBox.y);
    expect(Math.abs(x - point[0])).toBeLessThan(1e-3);
    // Each axis zooms within its own limits (a short model's rows reach their largest height
    // first): the depth under the pointer stays put too.
    expect(Math.abs(y - point[1])).toBeLessThan(1e-3);
    const [sx] = zoomed.toPx(1, 0);
    const [sx0] = zoomed.toPx(0, 0);
    expect(sx - sx0).toBeGreaterThan(box.width / T); // zoomed in
  }).toPass({ timeout: 10_000 });
  const view1 = await canvas.getAttribute('data-view');
  await page.mouse.down();
  await page.mouse.move(box.x + at[0] + 80, box.y + at[1] + 30, { steps: 6 });
  await page.mouse.up();
  await expect(canvas).not.toHaveAttribute('data-view', view1!);
  await page.mouse.move(1, 1); // off the plot: no tooltip over the pixels
  await plot.focus();
  await page.keyboard.press('-');
  await page.keyboard.press('0');
  // Zoomed back out to the fit: the pixels agree again.
  await expect(async () => {
    const fit = await projection(canvas);
    expect(checkPixels(decodePng(await canvas.screenshot()), fit.toPx)).toEqual([]);
  }).toPass({ timeout: 20_000 });
  // Frames were drawn (animation, zoom, pan), and not one readback.
  expect(await page.evaluate(() => (window as Counted).__strataDebug!.draws)).toBeGreaterThan(draws0 + 10);
  expect(await readbacks(page)).toBe(before);

  // The lens's cost is stated; asking for the output only runs again with one lens point.
  const cost = flow.getByTestId('flow-lens-cost');
  await expect(cost).toContainText(
    `lens at ${L + 1} of ${rows} depths × ${T} positions: ${formatFlops(lensCost(config, T, 'layers').flops)}`,
  );
  await flow.getByTestId('flow-lens').selectOption('final');
  await expect(cost).toContainText(`lens at 1 of ${rows} depths`);
  await expect(cost).toContainText(formatFlops(lensCost(config, T, 'final').flops));
  await expect(flow.getByTestId('flow-label')).toHaveCount(T);
  expect(
    await flow
      .getByTestId('flow-label')
      .evaluateAll((els) => els.map((el) => el.getAttribute('data-boundary'))),
  ).toEqual(Array(T).fill(String(2 * L)));
});

const longConfig = gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 32, nCtx: 256, vocabSize: 50257 });
const longRepo = 'strata-test/tiny-gpt2-long-context';
test.describe('a long prompt', () => {
  test.beforeAll(({ hub }) => hub.publish(longRepo, hubFiles(tinyWeights(longConfig, 3), 'tokenizer.json')));

  test('200 tokens: the page does not widen, and the flow re-fits its box when the window resizes', async ({
    page,
    hub,
  }) => {
    const words = 'the cat sat on a mat and then it ran away from a dog ';
    const text = words.repeat(16).trim();
    const n = tokenizer.encode(text).length;
    expect(n).toBeGreaterThanOrEqual(200);
    await page.goto(hub.studioUrl(longRepo, text));
    await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
    const canvas = page.getByTestId('flow-view').getByTestId('flow-canvas');
    await expect(canvas).toHaveAttribute('data-positions', String(n));
    const wide = async () =>
      page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, inner: window.innerWidth }));
    for (const [width, height] of [
      [1280, 800],
      [900, 800],
    ] as const) {
      await page.setViewportSize({ width, height });
      await expect(async () => {
        const w = await wide();
        expect(w.scroll).toBeLessThanOrEqual(w.inner);
        const b = (await canvas.boundingBox())!;
        expect(b.x + b.width).toBeLessThanOrEqual(width);
        // The whole prompt in view: the camera fits every position.
        const [x0, , x1] = (await canvas.getAttribute('data-view'))!.split(',').map(Number);
        expect(x0).toBeLessThanOrEqual(0);
        expect(x1).toBeGreaterThanOrEqual(n - 1e-6); // f32 view bounds
        // The flow shares the stage with the heads (a quarter to a half of the window).
        expect(b.width).toBeGreaterThan(width * 0.2);
      }).toPass({ timeout: 20_000 });
    }
  });

  test('the axis text grows with the view: 11 px at 1280×800, 14–16 px at 3840×2160, inside the gutter', async ({
    page,
    hub,
  }) => {
    await page.goto(hub.studioUrl(longRepo, 'the cat sat on a mat and then it ran away from a dog'));
    await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
    const flow = page.getByTestId('flow-view');
    for (const [width, height, least, most] of [
      [1280, 800, 11, 11],
      [3840, 2160, 14, 16],
    ] as const) {
      await page.setViewportSize({ width, height });
      await expect(async () => {
        const labels = await flow.getByTestId('flow-row-label').evaluateAll((els) =>
          els.map((e) => {
            const gutter = e.parentElement!.getBoundingClientRect();
            const r = e.getBoundingClientRect();
            return { size: parseFloat(getComputedStyle(e).fontSize), left: r.left - gutter.left };
          }),
        );
        expect(labels.length).toBeGreaterThan(0);
        for (const l of labels) {
          expect(l.size, `${width}×${height}: font size`).toBeGreaterThanOrEqual(least);
          expect(l.size, `${width}×${height}: font size`).toBeLessThanOrEqual(most);
          expect(l.left, 'the label inside its gutter').toBeGreaterThanOrEqual(0);
        }
      }).toPass({ timeout: 20_000 });
    }
  });
});
