// Exports in Chromium on the fixture model. The focused heatmap's PNG: a figure (title, token
// labels on both axes, a colour bar; src/viz/figure-layout.ts) whose size is the canvas's plus the
// layout's margins, whose heatmap region's pixels are the heatmap's (the colormap colour of the
// reference pattern at sampled cells, one entry of slack; masked cells light grey), whose colour
// bar runs the colormap from its top entry to its bottom one, and whose title, label and tick
// regions are not blank. The captures' JSON (the Export menu's JSON format): a download in the
// capture CLI's schema (src/engine/capture-json.ts; README), every field of the right shape, with
// values against the CPU reference forward: attention within 1e-5, residual norms within 1e-4
// relative, logits within 1e-4 × max |logit|, the lens's top tokens and probabilities (1e-4).
import type { Download } from '@playwright/test';
import { readFileSync } from 'node:fs';
import type { CaptureJson } from '../src/engine/capture-json';
import { residualBoundaries } from '../src/model/hooks';
import { colormapIndex, colormapTable, divergingIndex } from '../src/viz/colormaps';
import { figureLayout, figureMaskedColor, headFigureTitle, type Rect } from '../src/viz/figure-layout';
import { referenceResiduals } from '../test/support/reference-cases';
import { config, expect, reference, repo, rowNorm, test, tokenizer, top2 } from './fixture';
import { decodePng, pixel, type Image } from './png';

const prompt = 'The cat sat on the mat, and the dog';
const want = reference(prompt);
const { T } = want;
const { nLayer: L, nHead: H, vocabSize: V } = config;

async function bytesOf(download: Download): Promise<Buffer> {
  return readFileSync((await download.path())!);
}

/** Pixels of `rect` in `image` that are not the page's white. */
function inked(image: Image, rect: Rect): number {
  let n = 0;
  for (let y = Math.floor(rect.y); y < Math.ceil(rect.y + rect.height); y++)
    for (let x = Math.floor(rect.x); x < Math.ceil(rect.x + rect.width); x++)
      if (pixel(image, x, y).some((c) => c < 200)) n++;
  return n;
}

/** A figure's colour bar against its colormap: `matches(entry, got)` at its top (entry 255), middle and bottom. */
function colourBarProblems(
  image: Image,
  bar: Rect,
  matches: (entry: number, got: [number, number, number]) => boolean,
): string[] {
  const problems: string[] = [];
  for (const [frac, entry] of [
    [0.01, 255],
    [0.5, 128],
    [0.99, 0],
  ] as const) {
    const got = pixel(image, bar.x + bar.width / 2, bar.y + frac * bar.height);
    if (!matches(entry, got)) problems.push(`colour bar at ${frac}: ${got}, not near entry ${entry}`);
  }
  return problems;
}

test('the focused heatmap exports as a PNG of what it shows; the captures as capture-CLI JSON', async ({
  page,
  fixture,
}) => {
  await page.goto(fixture.url(prompt, { head: '1', colormap: 'magma' }));
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
  const canvas = page.getByTestId('heatmap-focus-canvas');
  await expect(canvas).toHaveAttribute('data-rows', String(T));

  // PNG.
  const [png] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('button', { name: 'Save this heatmap as a PNG image' }).click(),
  ]);
  expect(png.suggestedFilename()).toBe('strata-L0-H1.png');
  const bytes = await bytesOf(png);
  expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const image = decodePng(bytes);
  // The figure's heatmap: the canvas drawn again at twice its CSS size (exportPixelRatio).
  const css = await canvas.evaluate((c: HTMLCanvasElement) => [c.clientWidth, c.clientHeight]);
  const size = css.map((n) => 2 * n);
  const table = colormapTable('magma');
  const p = (q: number, k: number) => want.ref.patterns[0]![(1 * T + q) * T + k]!;
  let max = 0;
  for (let q = 0; q < T; q++) for (let k = 0; k <= q; k++) max = Math.max(max, p(q, k));
  // The layout the studio computes for this figure (the colour bar's top: the head's max).
  const labels = want.tokens.map((id) => tokenizer.tokenLabel(id));
  const spec = {
    title: headFigureTitle({
      head: 'L0.H1',
      hook: 'blocks.0.attn.hook_pattern',
      model: repo,
      tokens: T,
      view: 'linear scale · per-head max · first token shown',
      prompt,
    }),
    rows: { labels, title: 'query' },
    cols: { labels, title: 'key' },
    colorBar: {
      colormap: 'magma' as const,
      kind: 'sequential' as const,
      scale: 'linear' as const,
      max,
      title: 'attention weight',
    },
  };
  const layout = figureLayout(spec, size[0]!, size[1]!, 2);
  expect([image.width, image.height]).toEqual([layout.width, layout.height]);
  const { plot } = layout;
  expect([plot.width, plot.height]).toEqual(size);
  expect(image.width).toBeGreaterThan(size[0]! + 200); // the margins: labels, the colour bar
  expect(image.height).toBeGreaterThan(size[1]! + 120);
  const problems: string[] = [];
  for (const [q, k] of [
    [0, 0],
    [4, 2],
    [T - 1, 0],
    [T - 1, T - 1],
    [6, 3],
    [1, 6],
  ] as const) {
    const got = pixel(image, plot.x + ((k + 0.5) * plot.width) / T, plot.y + ((q + 0.5) * plot.height) / T);
    if (k > q) {
      if (got.join() !== figureMaskedColor.join()) problems.push(`masked (${q},${k}): ${got}`);
      continue;
    }
    const i = colormapIndex(p(q, k) / max);
    const ok = [i, i - 1, i + 1].some(
      (j) => j >= 0 && j < 256 && [0, 1, 2].every((c) => table[4 * j + c] === got[c]),
    );
    if (!ok) problems.push(`(${q},${k}) entry ${i}: ${got}`);
  }
  // The colour bar: the colormap's top entry at its top, its bottom entry at its bottom (±2 entries).
  const bar = layout.bar!;
  problems.push(
    ...colourBarProblems(image, bar, (entry, got) =>
      [-2, -1, 0, 1, 2].some((d) => {
        const j = Math.min(255, Math.max(0, entry + d));
        return [0, 1, 2].every((c) => Math.abs(table[4 * j + c]! - got[c]!) <= 2);
      }),
    ),
  );
  // Not blank: the title, the row labels, the column labels, the bar's tick labels.
  const regions: Record<string, Rect> = {
    title: { x: 0, y: 0, width: image.width, height: plot.y },
    rows: { x: 0, y: plot.y, width: plot.x, height: plot.height },
    cols: {
      x: plot.x,
      y: plot.y + plot.height,
      width: plot.width,
      height: image.height - plot.y - plot.height,
    },
    ticks: {
      x: bar.x + bar.width + 1,
      y: bar.y,
      width: image.width - bar.x - bar.width - 1,
      height: bar.height,
    },
  };
  for (const [name, rect] of Object.entries(regions))
    if (inked(image, rect) < 80) problems.push(`the ${name} region is blank`);
  expect(problems).toEqual([]);

  // JSON.
  const [json] = await Promise.all([
    page.waitForEvent('download'),
    (async () => {
      await page.getByTestId('export-menu').locator('summary').click();
      const menu = page.getByRole('group', { name: 'Export the captures' });
      await menu.getByLabel('Format').selectOption('json');
      // Without the save picker (it needs a person to answer it): a download.
      await page.evaluate(
        () => delete (window as unknown as { showSaveFilePicker?: unknown }).showSaveFilePicker,
      );
      await menu.getByRole('button', { name: 'Save the json export' }).click();
    })(),
  ]);
  expect(json.suggestedFilename()).toBe('strata-test-tiny-gpt2-studio-capture.json');
  const c = JSON.parse((await bytesOf(json)).toString('utf8')) as CaptureJson;
  expect(Object.keys(c).sort()).toEqual(
    ['ablation', 'adapter', 'attention', 'lens', 'logits_last', 'model', 'residual_norms', 'tokens'].sort(),
  );
  expect(c.ablation).toBeNull(); // the studio runs the clean model
  expect(c.model).toEqual({
    name: repo,
    n_layer: L,
    n_head: H,
    n_embd: config.nEmbd,
    n_ctx: config.nCtx,
    vocab_size: V,
  });
  expect(Object.keys(c.adapter).sort()).toEqual(['architecture', 'fallback', 'vendor']);
  expect(typeof c.adapter.fallback).toBe('boolean');
  expect(c.tokens).toEqual(want.tokens.map((id) => ({ id, text: tokenizer.tokenLabel(id) })));

  expect(c.attention).toHaveLength(L);
  let worst = 0;
  for (let l = 0; l < L; l++) {
    expect(c.attention[l]).toHaveLength(H);
    for (let h = 0; h < H; h++) {
      expect(c.attention[l]![h]).toHaveLength(T);
      for (let q = 0; q < T; q++) {
        expect(c.attention[l]![h]![q]).toHaveLength(T);
        for (let k = 0; k < T; k++)
          worst = Math.max(
            worst,
            Math.abs(c.attention[l]![h]![q]![k]! - want.ref.patterns[l]![(h * T + q) * T + k]!),
          );
      }
    }
  }
  expect(worst).toBeLessThanOrEqual(1e-5);

  const boundaries = referenceResiduals(want.ref);
  expect(c.residual_norms).toHaveLength(residualBoundaries(L).length);
  c.residual_norms.forEach((row, i) => {
    expect(row).toHaveLength(T);
    row.forEach((n, t) => {
      const r = rowNorm(boundaries[i]!, t);
      expect(Math.abs(n - r), `boundary ${i} t${t}`).toBeLessThanOrEqual(1e-4 * r);
    });
  });

  expect(c.logits_last).toHaveLength(V);
  const logits = want.ref.logits.subarray((T - 1) * V, T * V);
  let scale = 0;
  let err = 0;
  for (let v = 0; v < V; v++) {
    scale = Math.max(scale, Math.abs(logits[v]!));
    err = Math.max(err, Math.abs(c.logits_last[v]! - logits[v]!));
  }
  expect(err).toBeLessThanOrEqual(1e-4 * scale);

  expect(c.lens).toHaveLength(L + 1);
  c.lens.forEach((depth, d) => {
    expect(depth).toHaveLength(T);
    depth.forEach((top, t) => {
      expect(top).toHaveLength(5);
      const [[id1, p1], [id2, p2]] = top2(want.lens[d]!, t);
      expect(top[0]!.id === id1 || (top[0]!.id === id2 && p1 - p2 < 1e-4)).toBe(true);
      expect(Math.abs(top[0]!.p - p1)).toBeLessThanOrEqual(1e-4);
      expect(top[0]!.text).toBe(tokenizer.tokenLabel(top[0]!.id));
      for (let i = 1; i < 5; i++) expect(top[i]!.p).toBeLessThanOrEqual(top[i - 1]!.p);
    });
  });
});

test('the difference view exports a figure of A − B with a diverging colour bar', async ({
  page,
  fixture,
}) => {
  const promptB = 'The cat sat on the rug, and the dog';
  const wantB = reference(promptB);
  expect(wantB.T).toBe(T);
  await page.goto(fixture.url(prompt, { compare: promptB, colormap: 'magma' }));
  await expect(page.getByTestId('next-tokens-b').locator('li')).toHaveCount(5);
  await page.getByTestId('attention-panel').getByRole('button', { name: 'Head L0.H1 of prompt A' }).click();
  const canvas = page.getByTestId('diff-focus-canvas');
  await expect(canvas).toHaveAttribute('data-head', '1');
  await expect(canvas).toHaveAttribute('data-rows', String(T));
  await canvas.scrollIntoViewIfNeeded();
  const [png] = await Promise.all([
    page.waitForEvent('download'),
    page.getByTestId('diff-focus').getByRole('button', { name: 'Save this heatmap as a PNG image' }).click(),
  ]);
  expect(png.suggestedFilename()).toBe('strata-diff-L0-H1.png');
  const image = decodePng(await bytesOf(png));
  const css = await canvas.evaluate((c: HTMLCanvasElement) => [c.clientWidth, c.clientHeight]);
  const size = css.map((n) => 2 * n);
  const d = (q: number, k: number) =>
    want.ref.patterns[0]![(1 * T + q) * T + k]! - wantB.ref.patterns[0]![(1 * T + q) * T + k]!;
  let maxAbs = 0;
  for (let q = 0; q < T; q++) for (let k = 0; k <= q; k++) maxAbs = Math.max(maxAbs, Math.abs(d(q, k)));
  const a = want.tokens.map((id) => tokenizer.tokenLabel(id));
  const b = wantB.tokens.map((id) => tokenizer.tokenLabel(id));
  const layout = figureLayout(
    {
      title: headFigureTitle({
        head: 'L0.H1',
        hook: 'blocks.0.attn.hook_pattern',
        model: repo,
        tokens: T,
        view: 'linear scale · per-head max |A − B| · first token shown',
        prompt,
        promptB,
      }),
      rows: { labels: a.map((l, i) => (l !== b[i] ? `${l}/${b[i]}` : l)), title: 'query' },
      cols: { labels: a, title: 'key' },
      colorBar: {
        colormap: 'rdbu',
        kind: 'diverging',
        scale: 'linear',
        max: maxAbs,
        title: 'attention weight, A − B',
      },
    },
    size[0]!,
    size[1]!,
    2,
  );
  expect([image.width, image.height]).toEqual([layout.width, layout.height]);
  const { plot } = layout;
  const table = colormapTable('rdbu');
  const near = (entry: number, got: number[], slack: number) =>
    Array.from({ length: 2 * slack + 1 }, (_, i) => Math.min(255, Math.max(0, entry - slack + i))).some((j) =>
      [0, 1, 2].every((c) => Math.abs(table[4 * j + c]! - got[c]!) <= 2),
    );
  const problems: string[] = [];
  for (const [q, k] of [
    [0, 0],
    [5, 4],
    [6, 5],
    [8, 5],
    [T - 1, 2],
    [2, 7],
  ] as const) {
    const got = pixel(image, plot.x + ((k + 0.5) * plot.width) / T, plot.y + ((q + 0.5) * plot.height) / T);
    if (k > q) {
      if (got.join() !== figureMaskedColor.join()) problems.push(`masked (${q},${k}): ${got}`);
    } else if (!near(divergingIndex(d(q, k) / maxAbs), got, 1))
      problems.push(`(${q},${k}) d ${d(q, k)}: ${got}`);
  }
  const bar = layout.bar!;
  problems.push(...colourBarProblems(image, bar, (entry, got) => near(entry, got, 2)));
  const ticks = {
    x: bar.x + bar.width + 1,
    y: bar.y,
    width: image.width - bar.x - bar.width - 1,
    height: bar.height,
  };
  if (inked(image, ticks) < 80) problems.push('the colour bar has no tick labels');
  expect(problems).toEqual([]);
});
