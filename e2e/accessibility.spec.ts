// The studio by keyboard and for screen readers, on the fixture model in Chromium. Keyboard only:
// from the layer slider, Tab reaches the heads, the arrow keys move within the grid (the focused
// head follows), Enter hands the keyboard to that head's heatmap, where the arrow keys move a cell
// cursor whose tooltip reads the captured weight (the reference's within 1e-5), ] changes head,
// Escape returns the keyboard focus to that head's button in the grid; Space does what Enter does.
// Then, in compare mode at 1280×800 and at 3840×2160: every control has an accessible name, the
// page does not overflow sideways, the theme is dark, no console errors (screenshots attached).
import type { Page } from '@playwright/test';
import { expect, reference, test } from './fixture';

const prompt = 'The cat sat on the mat, and the dog';
const want = reference(prompt);
const p = (layer: number, head: number, q: number, k: number) =>
  want.ref.patterns[layer]![(head * want.T + q) * want.T + k]!;

/** Presses Tab until the focused element matches, at most `limit` times. */
async function tabTo(page: Page, matches: () => boolean | Promise<boolean>, limit = 40) {
  for (let i = 0; i < limit; i++) {
    if (await matches()) return;
    await page.keyboard.press('Tab');
  }
  throw new Error('Tab never reached the element');
}

const focused = (page: Page) =>
  page.evaluate(() => ({
    role: document.activeElement?.getAttribute('role') ?? document.activeElement?.tagName.toLowerCase(),
    label: document.activeElement?.getAttribute('aria-label') ?? '',
  }));

test('keyboard only: heads, the heatmap’s cell cursor and tooltip, Escape back to the grid', async ({
  page,
  fixture,
}) => {
  await page.goto(fixture.url(prompt));
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
  const panel = page.getByTestId('attention-panel');
  await page.getByTestId('depth-scrubber').getByRole('slider', { name: 'Layer' }).focus();
  await tabTo(page, async () => (await focused(page)).label === 'Head L0.H0');
  await page.keyboard.press('ArrowRight'); // grid: the next head, focused, the keyboard stays here
  await expect(panel.getByRole('button', { name: 'Head L0.H1', exact: true })).toHaveAttribute(
    'aria-pressed',
    'true',
  );
  const canvas = page.getByTestId('heatmap-focus-canvas');
  await expect(canvas).toHaveAttribute('data-head', '1');
  expect(await focused(page)).toEqual({ role: 'button', label: 'Head L0.H1' });
  await page.keyboard.press('ArrowLeft');
  await expect(canvas).toHaveAttribute('data-head', '0');
  expect(await focused(page)).toEqual({ role: 'button', label: 'Head L0.H0' });
  await page.keyboard.press('ArrowRight');
  await expect(canvas).toHaveAttribute('data-head', '1');

  // Enter: the heatmap takes the keyboard, its cursor on the first cell.
  await page.keyboard.press('Enter');
  await expect.poll(async () => (await focused(page)).role).toBe('application');
  expect((await focused(page)).label).toContain('head L0.H1');
  await expect(page.getByTestId('heatmap-focus-tooltip')).toHaveAttribute('data-query', '0');
  for (const key of ['ArrowDown', 'ArrowDown', 'ArrowDown', 'ArrowRight', 'ArrowRight'])
    await page.keyboard.press(key);
  const tooltip = page.getByTestId('heatmap-focus-tooltip');
  await expect(tooltip).toHaveAttribute('data-query', '3');
  await expect(tooltip).toHaveAttribute('data-key', '2');
  await expect(tooltip).toHaveAttribute('role', 'status');
  const weight = tooltip.getByTestId('tooltip-weight');
  await expect(async () =>
    expect(Math.abs(Number(await weight.getAttribute('data-weight')) - p(0, 1, 3, 2))).toBeLessThan(1e-5),
  ).toPass({ timeout: 20_000 });
  // End: the diagonal; Home: the first key.
  await page.keyboard.press('End');
  await expect(tooltip).toHaveAttribute('data-key', '3');
  await page.keyboard.press('Home');
  await expect(tooltip).toHaveAttribute('data-key', '0');
  // ] : the next head (wrapping), the cursor stays.
  await page.keyboard.press(']');
  await expect(canvas).toHaveAttribute('data-head', '0');
  await expect(async () =>
    expect(Math.abs(Number(await weight.getAttribute('data-weight')) - p(0, 0, 3, 0))).toBeLessThan(1e-5),
  ).toPass({ timeout: 20_000 });

  await page.keyboard.press('Escape');
  await expect(canvas).toHaveCount(0);
  expect(await focused(page)).toEqual({ role: 'button', label: 'Head L0.H0' });

  // Space on a head: the same as Enter, and Escape comes back to that head.
  await page.keyboard.press('ArrowRight');
  await expect(canvas).toHaveAttribute('data-head', '1');
  await page.keyboard.press(' ');
  await expect.poll(async () => (await focused(page)).role).toBe('application');
  await expect(page.getByTestId('heatmap-focus-tooltip')).toHaveAttribute('data-query', '0');
  await page.keyboard.press('Escape');
  await expect(canvas).toHaveCount(0);
  expect(await focused(page)).toEqual({ role: 'button', label: 'Head L0.H1' });
});

for (const [width, height] of [
  [1280, 800],
  [3840, 2160],
] as const) {
  test(`compare mode at ${width}×${height}: labelled controls, no sideways overflow, dark`, async ({
    page,
    fixture,
  }, testInfo) => {
    await page.setViewportSize({ width, height });
    await page.goto(fixture.url(prompt, { compare: 'The cat sat on the rug, and the dog', head: '0' }));
    await expect(page.getByTestId('next-tokens-b').locator('li')).toHaveCount(5);
    await expect(page.getByTestId('flow-view-b').getByTestId('flow-canvas')).toHaveAttribute(
      'data-max-norm',
      /\d/,
    );
    await expect(page.getByTestId('diff-focus-canvas')).toBeVisible();

    // Every control and widget has an accessible name. (Counted until two counts agree: the
    // instruments' grids appear as their work finishes.)
    await expect(async () => {
      const unnamed: string[] = [];
      for (const role of [
        'button',
        'textbox',
        'combobox',
        'slider',
        'checkbox',
        'gridcell',
        'grid',
        'application',
        'toolbar',
        'img',
        'group',
      ] as const) {
        const all = await page.getByRole(role).count();
        const named = await page.getByRole(role, { name: /\S/ }).count();
        if (named !== all) unnamed.push(`${role}: ${all - named} of ${all} without a name`);
      }
      expect(unnamed).toEqual([]);
    }).toPass({ timeout: 30_000 });

    // Nothing overflows the window sideways (wide charts scroll inside their panels).
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    // Dark theme, native controls included.
    const theme = await page.evaluate(() => ({
      scheme: getComputedStyle(document.documentElement).colorScheme,
      background: getComputedStyle(document.body).backgroundColor,
    }));
    expect(theme.scheme).toBe('dark');
    const [r, g, b] = theme.background.match(/\d+/g)!.map(Number);
    expect(0.2126 * r! + 0.7152 * g! + 0.0722 * b!).toBeLessThan(40);
    // Both prompts' panels side by side.
    const a = (await page.getByTestId('attention-A').boundingBox())!;
    const bBox = (await page.getByTestId('attention-B').boundingBox())!;
    expect(bBox.x).toBeGreaterThan(a.x + a.width - 1);
    expect(Math.abs(bBox.y - a.y)).toBeLessThan(2);

    await testInfo.attach(`studio-${width}x${height}.png`, {
      body: await page.screenshot({ fullPage: true }),
      contentType: 'image/png',
    });
  });
}
