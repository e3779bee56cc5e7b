// The studio screen in Chromium: at 1280×800 and at 3840×2160 the prompt, the heads (grid and
// focused head) and the residual flow are on the first screen without scrolling, and a prompt of
// n_ctx = 256 tokens (the bundled model's context) never makes the page scroll sideways; the
// window re-fits as it is resized. The one depth scrubber moves every view (heads, focused head,
// flow, lens, instruments), plays and loops. The URL keeps the instruments' tab, the ablation
// selection and the lens's tracked tokens, and a reload restores them. At 3840×2160 a 12-head
// layer's grid uses the pane's height: several rows of large squares, not one row of small ones.
// At 1280×800 a height-bound grid is centred in its pane, and compare mode's narrow squares keep
// their labels (badges, "ablated") inside them.
import type { Page } from '@playwright/test';
import { gpt2Config } from '../src/model/fixtures';
import { hubFiles, tinyWeights } from '../test/support/tiny-models';
import { expect, test, tokenizer } from './fixture';

/** A prompt of exactly `n` tokens with BOS: n − 1 tokens of text. */
function promptOf(n: number): string {
  const words = ' the quick brown fox jumps over a lazy dog while seven children watch from the bridge'.split(
    ' ',
  );
  let text = 'Once';
  for (let i = 0; tokenizer.encode(text).length < n - 1; i++)
    text += ` ${words[1 + (i % (words.length - 1))]}`;
  expect(tokenizer.encode(text)).toHaveLength(n - 1);
  return text;
}

/** The element's box lies inside the window, with the page scrolled to its top. */
async function expectOnScreen(page: Page, testid: string) {
  const box = await page.getByTestId(testid).first().boundingBox();
  const { width, height } = page.viewportSize()!;
  expect(box, `${testid} is shown`).not.toBeNull();
  expect(box!.width, `${testid} has a size`).toBeGreaterThan(16);
  expect(box!.height, `${testid} has a size`).toBeGreaterThan(16);
  expect(box!.x, `${testid} left edge`).toBeGreaterThanOrEqual(0);
  expect(box!.y, `${testid} top edge`).toBeGreaterThanOrEqual(0);
  expect(box!.x + box!.width, `${testid} right edge`).toBeLessThanOrEqual(width);
  expect(box!.y + box!.height, `${testid} bottom edge`).toBeLessThanOrEqual(height);
}

async function expectFirstScreen(page: Page) {
  expect(await page.evaluate(() => window.scrollY)).toBe(0);
  for (const id of [
    'prompt',
    'next-tokens',
    'depth-scrubber',
    'head-grid-canvas',
    'heatmap-focus',
    'flow-view',
  ])
    await expectOnScreen(page, id);
  const sideways = await page.evaluate(() => document.scrollingElement!.scrollWidth - window.innerWidth);
  expect(sideways, 'the page scrolls sideways by').toBeLessThanOrEqual(0);
}

const long = promptOf(256);

for (const [width, height] of [
  [1280, 800],
  [3840, 2160],
] as const) {
  test(`at ${width}×${height} the heads and the flow are on one screen, and 256 tokens do not widen the page`, async ({
    page,
  }, testInfo) => {
    await page.setViewportSize({ width, height });
    // The bundled model (context 256), head 0 focused.
    await page.goto(`/?${new URLSearchParams({ prompt: long, bos: '1', head: '0' }).toString()}`);
    await expect(page.getByTestId('token-count')).toHaveText('256 tokens of 256');
    await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
    await expect(page.getByTestId('flow-view').getByTestId('flow-canvas')).toBeVisible();
    await expectFirstScreen(page);
    // The focused head's axis labels: 11 px on a laptop, 14–16 px on a 4K screen, all on screen.
    const ticks = await page
      .getByTestId('heatmap-focus')
      .locator('.tick')
      .evaluateAll((els) =>
        els.map((e) => ({
          size: parseFloat(getComputedStyle(e).fontSize),
          bottom: e.getBoundingClientRect().bottom,
        })),
      );
    expect(ticks.length).toBeGreaterThan(8);
    for (const t of ticks) {
      expect(t.size, 'a focused head label’s size').toBeGreaterThanOrEqual(width === 1280 ? 11 : 14);
      expect(t.size, 'a focused head label’s size').toBeLessThanOrEqual(width === 1280 ? 11 : 16);
      expect(t.bottom, 'a focused head label’s bottom').toBeLessThanOrEqual(height);
    }
    // The token chips scroll inside their box.
    const chips = page.getByTestId('tokens');
    expect(await chips.evaluate((el) => el.scrollHeight > el.clientHeight)).toBe(true);
    expect(await chips.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
    await testInfo.attach(`studio-${width}x${height}.png`, {
      body: await page.screenshot(),
      contentType: 'image/png',
    });
    // Re-fits as the window changes size.
    const other = width === 1280 ? { width: 1920, height: 1080 } : { width: 1280, height: 800 };
    await page.setViewportSize(other);
    await expect(async () => expectFirstScreen(page)).toPass({ timeout: 20_000 });
  });
}

const twelveHeads = 'strata-test/twelve-heads';
test.describe('a 12-head model at 3840×2160 and 1280×800', () => {
  test.beforeAll(({ hub }) =>
    hub.publish(
      twelveHeads,
      hubFiles(
        tinyWeights(gpt2Config({ nLayer: 2, nHead: 12, nEmbd: 48, nCtx: 64, vocabSize: 50257 }), 5),
        'tokenizer.json',
      ),
    ),
  );

  test('the heads grid fills the pane: rows of large squares, all in view', async ({ page, hub }) => {
    await page.setViewportSize({ width: 3840, height: 2160 });
    await page.goto(hub.studioUrl(twelveHeads, 'The cat sat on the mat, and the dog ran after it'));
    await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
    const heads = page.getByTestId('attention-panel').getByRole('button', { name: /^Head L0\.H\d+$/ });
    await expect(heads).toHaveCount(12);
    const canvas = page.getByTestId('head-grid-canvas');
    await expect(async () => {
      const boxes = await heads.evaluateAll((els) =>
        els.map((e) => {
          const r = e.getBoundingClientRect();
          return { x: r.x, y: r.y, width: r.width, bottom: r.bottom, right: r.right };
        }),
      );
      const rows = new Set(boxes.map((b) => Math.round(b.y))).size;
      // One row by the width alone would be (pane − 11 gaps) / 12 ≈ 105 px: at least 2 rows, and
      // squares well over twice that.
      expect(rows, 'rows of heads').toBeGreaterThanOrEqual(2);
      for (const b of boxes) {
        expect(b.width, 'a head square').toBeGreaterThanOrEqual(300);
        expect(b.x).toBeGreaterThanOrEqual(0);
        expect(b.y).toBeGreaterThanOrEqual(0);
        expect(b.right).toBeLessThanOrEqual(3840);
        expect(b.bottom).toBeLessThanOrEqual(2160);
      }
      // Nothing scrolls: neither the page nor the attention views.
      expect(await page.evaluate(() => window.scrollY)).toBe(0);
      const runs = page.getByTestId('attention-panel').locator('.runs');
      expect(await runs.evaluate((el) => el.scrollHeight - el.clientHeight)).toBeLessThanOrEqual(0);
    }).toPass({ timeout: 20_000 });
    await expectOnScreen(page, 'head-grid-canvas');
    const box = (await canvas.boundingBox())!;
    expect(box.height, 'the grid takes most of the pane').toBeGreaterThan(0.6 * 2160);
  });

  test('at 1280×800 the height-bound grid is centred in its pane', async ({ page, hub }) => {
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(hub.studioUrl(twelveHeads, 'The cat sat on the mat, and the dog ran after it'));
    await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
    const runs = page.getByTestId('attention-panel').locator('.runs');
    const canvas = page.getByTestId('head-grid-canvas');
    await expect(async () => {
      const pane = (await runs.boundingBox())!;
      const grid = (await canvas.boundingBox())!;
      // Bound by the height (3 rows of 4 squares), narrower than the pane by well over 100 px.
      expect(pane.width - grid.width, 'the room the grid leaves').toBeGreaterThan(100);
      const left = grid.x - pane.x;
      const right = pane.x + pane.width - (grid.x + grid.width);
      expect(Math.abs(left - right), `left ${left} px, right ${right} px`).toBeLessThanOrEqual(4);
    }).toPass({ timeout: 20_000 });
  });

  test('compare mode at 1280×800: narrow squares keep their labels inside them', async ({ page, hub }) => {
    await page.setViewportSize({ width: 1280, height: 800 });
    const prompt = 'The cat sat on the mat, and the dog ran after it';
    await page.goto(
      hub.studioUrl(twelveHeads, prompt, { compare: prompt.replace('cat', 'cow'), ablate: '0.11' }),
    );
    await expect(page.getByTestId('next-tokens-b').locator('li')).toHaveCount(5);
    const ablated = page.getByRole('button', { name: 'Head L0.H11 of prompt A', exact: true });
    await expect(ablated).toContainText('ablated'); // for screen readers, if not shown
    await expect(async () => {
      const boxes = await page
        .getByTestId('attention-panel')
        .locator('button.head')
        .evaluateAll((els) =>
          els.map((e) => ({
            name: e.getAttribute('aria-label'),
            right: e.getBoundingClientRect().right,
            label: e.querySelector('.label')!.getBoundingClientRect().right,
          })),
        );
      expect(boxes).toHaveLength(24);
      for (const b of boxes)
        expect(b.label, `${b.name}: its label's right edge`).toBeLessThanOrEqual(b.right + 1);
    }).toPass({ timeout: 20_000 });
    // The two flows share their pane: each toolbar keeps to two lines (title and Fit; legend and
    // lens), so each plot keeps most of its half (it was ~90 px under a four-line toolbar).
    for (const id of ['flow-view', 'flow-view-b']) {
      const flow = page.getByTestId(id);
      const plot = (await flow.locator('.plot').boundingBox())!;
      const bar = (await flow.locator('.toolbar').boundingBox())!;
      const lens = (await flow.getByTestId('flow-lens').boundingBox())!;
      expect(plot.height, `${id}: the plot's height`).toBeGreaterThanOrEqual(110);
      expect(lens.y + lens.height, `${id}: the lens choice inside its toolbar`).toBeLessThanOrEqual(
        bar.y + bar.height,
      );
      expect(bar.height, `${id}: the toolbar's height`).toBeLessThanOrEqual(70);
    }
    // The lens's cost moves to the select's tooltip (and screen readers).
    await expect(page.getByTestId('flow-view').getByTestId('flow-lens')).toHaveAttribute(
      'title',
      /lens at \d+ of/,
    );
  });
});

test('one prompt token to n_ctx: the page never scrolls sideways', async ({ page }) => {
  await page.goto(`/?${new URLSearchParams({ prompt: 'Hi', head: '0' }).toString()}`);
  await expect(page.getByTestId('token-count')).toHaveText('1 tokens of 256');
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
  await expectFirstScreen(page);
});

test('the depth scrubber moves every view; play, loop and keys', async ({ page, fixture }) => {
  await page.goto(fixture.url('The cat sat on the mat, and the dog', { head: '1', tab: 'lens' }));
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
  const scrubber = page.getByTestId('depth-scrubber');
  const slider = scrubber.getByRole('slider', { name: 'Layer' });
  await expect(slider).toHaveValue('0');
  await expect(page.getByTestId('lens-cell').first()).toBeVisible();

  const expectLayer = async (l: number) => {
    await expect(slider).toHaveValue(String(l));
    await expect(scrubber.getByTestId('layer-value')).toContainText(`L${l}`);
    await expect(page.getByTestId('attention-panel')).toContainText(`Attention · L${l}`);
    await expect(page.getByTestId('head-grid-canvas')).toHaveAttribute('data-layer', String(l));
    await expect(page.getByTestId('heatmap-focus-canvas')).toHaveAttribute('data-layer', String(l));
    await expect(page.getByRole('button', { name: `Head L${l}.H1`, exact: true })).toBeVisible();
    const flow = page.getByTestId('flow-view');
    await expect(flow.getByTestId('flow-canvas')).toHaveAttribute('data-layer', String(l));
    // The flow highlights the block's boundaries: after attention and after MLP of layer l.
    for (const b of [2 * l + 1, 2 * l + 2])
      await expect(flow.locator(`[data-testid="flow-row-label"][data-boundary="${b}"]`)).toHaveAttribute(
        'data-current',
        'true',
      );
    // The lens: the rows of the layer's block (resid_pre l, resid_mid l, resid_post l).
    const inBlock = page.getByTestId('instruments').locator('[data-in-block="true"]');
    await expect(inBlock).toHaveCount(3);
    expect(
      await inBlock.evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-point')))),
    ).toEqual(
      [2 * l + 2, 2 * l + 1, 2 * l], // output first
    );
  };
  await expectLayer(0);
  await slider.press('ArrowRight');
  await expectLayer(1);
  await slider.press('Home');
  await expectLayer(0);
  await slider.press('End');
  await expectLayer(1);
  // The keys work from the scrubber's buttons too.
  await scrubber.getByRole('button', { name: /^Loop/ }).press('ArrowLeft');
  await expectLayer(0);

  // The instruments follow: the detectors' maps mark the layer's row, the depth summary its row.
  await page.getByTestId('instruments').getByRole('tab', { name: 'Head detectors' }).click();
  await slider.press('ArrowRight');
  const rows = page.getByTestId('instruments').locator('[role="row"][data-current="true"]');
  await expect(rows.first()).toBeVisible();
  expect(await rows.evaluateAll((r) => r.map((x) => x.getAttribute('aria-rowindex')))).toEqual(
    Array((await rows.count()) || 1).fill('2'),
  );
  await page.getByTestId('instruments').getByRole('tab', { name: 'Depth summary' }).click();
  await expect(page.getByTestId('depth-row').and(page.locator('[data-current="true"]'))).toHaveAttribute(
    'data-layer',
    '1',
  );

  // Play, with loop on: from the last layer it wraps to layer 0; pause stops it.
  const play = scrubber.getByRole('button', { name: 'Play through the layers' });
  const loop = scrubber.getByRole('button', { name: /^Loop/ });
  await expect(loop).toHaveAttribute('aria-pressed', 'false');
  await loop.click();
  await expect(loop).toHaveAttribute('aria-pressed', 'true');
  await scrubber.getByRole('combobox', { name: 'Speed' }).selectOption('4');
  await play.click();
  await expect(slider).toHaveValue('1');
  await expect(slider).toHaveValue('0');
  await expect(slider).toHaveValue('1');
  await scrubber.getByRole('button', { name: 'Pause stepping through the layers' }).click();
  const at = await slider.inputValue();
  await page.waitForTimeout(600);
  await expect(slider).toHaveValue(at);
  // Loop off: play stops at the last layer.
  await loop.click();
  await expect(loop).toHaveAttribute('aria-pressed', 'false');
  await scrubber.getByRole('button', { name: 'Play through the layers' }).click();
  await expect(slider).toHaveValue('1');
  await expect(scrubber.getByRole('button', { name: 'Play through the layers' })).toBeVisible();
  await expect(slider).toHaveValue('1');
});

test('the URL keeps the instruments tab, the ablation selection and the tracked tokens', async ({
  page,
  fixture,
}) => {
  const tracked = tokenizer.encode(' dog')[0]!;
  await page.goto(
    fixture.url('The cat sat on the mat, and the dog', {
      tab: 'ablation',
      ablate: '0.1,mlp1',
      track: String(tracked),
    }),
  );
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
  const instruments = page.getByTestId('instruments');
  await expect(instruments.getByRole('tab', { name: 'Ablation' })).toHaveAttribute('aria-selected', 'true');
  await expect(instruments.getByRole('checkbox', { name: 'Ablate head L0.H1', exact: true })).toBeChecked();
  await expect(instruments.getByRole('checkbox', { name: 'Ablate the MLP of L1' })).toBeChecked();
  await expect(
    instruments.getByRole('checkbox', { name: 'Ablate head L1.H0', exact: true }),
  ).not.toBeChecked();
  // The head grid marks the ablated head.
  await expect(page.getByRole('button', { name: 'Head L0.H1', exact: true })).toContainText('ablated');

  // Change all three; the URL follows.
  await instruments.getByRole('checkbox', { name: 'Ablate head L1.H0', exact: true }).check();
  await instruments.getByRole('tab', { name: 'Logit lens' }).click();
  await expect(
    instruments.getByTestId('track-legend').locator(`li[data-token-id="${tracked}"]`),
  ).toBeVisible();
  const cat = tokenizer.encode(' cat')[0]!;
  await instruments.getByTestId('track-input').fill(' cat');
  await instruments.getByTestId('track-add').click();
  await expect(instruments.getByTestId('track-legend').locator('li')).toHaveCount(2);
  await expect(page).toHaveURL(/tab=lens/);
  const params = new URL(page.url()).searchParams;
  expect(params.get('tab')).toBe('lens');
  expect(params.get('ablate')).toBe('0.1,1.0,mlp1');
  expect(params.get('track')).toBe(`${tracked},${cat}`);

  // A reload restores them.
  await page.reload();
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
  await expect(instruments.getByRole('tab', { name: 'Logit lens' })).toHaveAttribute('aria-selected', 'true');
  await expect(instruments.getByTestId('track-legend').locator('li')).toHaveCount(2);
  await instruments.getByRole('tab', { name: 'Ablation' }).click();
  await expect(instruments.getByRole('checkbox', { name: 'Ablate head L1.H0', exact: true })).toBeChecked();
  await expect(instruments.getByRole('checkbox', { name: 'Ablate head L0.H1', exact: true })).toBeChecked();
  await expect(page).toHaveURL(/tab=ablation/);
});

test('the model panel opens from the header line; an example prompt says what to look for', async ({
  page,
  fixture,
}) => {
  await page.goto(fixture.url('Hello'));
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
  await expect(page.getByTestId('model-drawer')).toBeHidden();
  await page.getByTestId('model-drawer-toggle').click();
  await expect(page.getByTestId('model-drawer')).toBeVisible();
  await expect(page.getByTestId('hub-id')).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByTestId('model-drawer')).toBeHidden();

  await page.getByTestId('examples').selectOption('induction');
  await expect(page.getByTestId('prompt')).toHaveValue(/Dursley.*Dursley/);
  await expect(page.getByTestId('example-hint')).toContainText('induction heads');
  await expect(page.getByRole('checkbox', { name: /BOS/ })).toBeChecked();
});
