// The studio on its default model, the bundled gpt2-brown-mini (static/models/), with no network:
// the model loads by itself, and the instruments find in it what it was trained to show — a
// previous-token head on English text and an induction head on repeated random tokens (score ≥ 0.5
// each, the bundled model's own acceptance bar), with those heads labelled in the attention grid.
import type { Page } from '@playwright/test';
import { expect, headButton, test } from './fixture';

const sentence =
  'The jury further said in term-end presentments that the City Executive Committee, which had over-all ' +
  'charge of the election, deserves the praise and thanks of the City of Atlanta.';

async function scores(page: Page, key: string): Promise<number[]> {
  const map = page.getByTestId('instruments').locator(`[data-testid="detector-map"][data-detector="${key}"]`);
  return map
    .locator('[role="gridcell"]')
    .evaluateAll((els) => els.map((el) => Number((el as HTMLElement).dataset['score'])));
}

test('the bundled model loads offline and shows a previous-token head and an induction head', async ({
  page,
  baseURL,
}) => {
  // Anything but the app's own origin would be the network: there is none to use.
  const origin = `${new URL(baseURL!).origin}/`;
  await page.route(
    (url) => !url.href.startsWith(origin),
    (route) => route.abort(),
  );
  await page.goto(`/?${new URLSearchParams({ prompt: sentence }).toString()}`);
  await expect(page.getByTestId('model-panel')).toContainText('gpt2-brown-mini');
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);

  let previous: number[] = [];
  await expect(async () => {
    previous = await scores(page, 'previous');
    expect(previous.length).toBeGreaterThan(0);
    expect(Math.max(...previous.filter(Number.isFinite))).toBeGreaterThanOrEqual(0.5);
  }).toPass({ timeout: 120_000 });
  let induction: number[] = [];
  await expect(async () => {
    induction = await scores(page, 'probe-induction');
    expect(Math.max(...induction.filter(Number.isFinite))).toBeGreaterThanOrEqual(0.5);
  }).toPass({ timeout: 120_000 });
  console.log('previous-token', previous.map((s) => s.toFixed(2)).join(' '));
  console.log('induction (probe)', induction.map((s) => s.toFixed(2)).join(' '));

  // The strongest previous-token head is labelled as such in the attention grid of its layer.
  const best = previous.indexOf(Math.max(...previous.filter(Number.isFinite)));
  const nHead = Number(
    await page.getByTestId('instruments').locator('[role="grid"]').first().getAttribute('aria-colcount'),
  );
  const layer = Math.floor(best / nHead);
  const head = best % nHead;
  const button = await headButton(page, layer, head);
  await expect(button).toHaveAccessibleDescription(/previous/i);
});
