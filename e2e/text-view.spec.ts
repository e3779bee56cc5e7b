// The text view in Chromium on a random-weight GPT-2 (3 layers × 4 heads, attention sharpened,
// served like the hub): pointing at a token (or moving to it with the arrow keys) highlights, in
// the text, the attention row of the focused head — each token's weight, read back from the
// capture, equals the CPU reference forward's p[query, key] within 1e-5 (f32 captures), and its
// background alpha is that weight over the row's max (to 1/255: CSS keeps alpha in 8 bits) — and, toggled, the column (who
// attends to the token). The strip of every head of the layer names each head's top key.
import { gpt2Config } from '../src/model/fixtures';
import { referenceForward } from '../src/model/reference';
import { gpt2Tokenizer, hubFiles, tinyWeights } from '../test/support/tiny-models';
import { expect, test } from './fixture';
import type { Locator } from '@playwright/test';

const tokenizer = gpt2Tokenizer();
const config = gpt2Config({ nLayer: 3, nHead: 4, nEmbd: 32, nCtx: 64, vocabSize: 50257 });
const weights = tinyWeights(config, 5, { attention: 14 });
const prompt = 'When Mary and John went to the store, John gave a drink to';
const tokens = tokenizer.encode(prompt);
const T = tokens.length;
const patterns = referenceForward(weights, tokens).patterns;
const p = (l: number, h: number, q: number, k: number) => patterns[l]![(h * T + q) * T + k]!;
const repo = 'strata-test/text-view';
test.beforeAll(({ hub }) => hub.publish(repo, hubFiles(weights, 'tokenizer.json')));

/** What the view shows per token: the weight read back and the background's alpha. */
async function shown(text: Locator) {
  return text.locator('button.tok').evaluateAll((els) =>
    els.map((e) => {
      const b = e as HTMLElement;
      const bg = getComputedStyle(b).backgroundColor;
      const alpha = /^rgba\([^)]*,\s*([\d.]+)\)$/.exec(bg)?.[1];
      return {
        weight: b.dataset['weight'] === undefined ? undefined : Number(b.dataset['weight']),
        alpha: alpha !== undefined ? Number(alpha) : bg === 'rgba(0, 0, 0, 0)' ? 0 : 1,
      };
    }),
  );
}

/** The view's weights against `want(i)` for every token i, and each alpha against weight / max. */
async function expectWeights(text: Locator, want: (i: number) => number) {
  const got = await shown(text);
  expect(got).toHaveLength(T);
  const max = Math.max(...got.map((g) => g.weight ?? 0));
  const problems: string[] = [];
  got.forEach((g, i) => {
    if (g.weight === undefined || Math.abs(g.weight - want(i)) > 1e-5)
      problems.push(`token ${i}: weight ${g.weight}, reference ${want(i)}`);
    else if (Math.abs(g.alpha - g.weight / max) > 1 / 255)
      problems.push(`token ${i}: alpha ${g.alpha}, weight / max ${g.weight / max}`);
  });
  expect(problems).toEqual([]);
  // Not trivially flat or empty: several levels, a clear maximum.
  expect(new Set(got.map((g) => g.alpha.toFixed(2))).size).toBeGreaterThanOrEqual(4);
  expect(max).toBeGreaterThan(0.15);
}

test('the text view highlights the focused head’s attention row and column', async ({ page, hub }) => {
  await page.goto(hub.studioUrl(repo, prompt, { layer: '1', head: '2', view: 'text' }));
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
  const view = page.getByTestId('text-view');
  const text = page.getByTestId('text-view-tokens');
  await view.scrollIntoViewIfNeeded();
  await expect(text.locator('button.tok')).toHaveCount(T);
  await expect(text.locator('button.tok').first()).toHaveText(tokenizer.tokenLabel(tokens[0]!));

  // Hover: what the last token attends to in L1.H2.
  const q = T - 1;
  await text.locator('button.tok').nth(q).hover();
  await expect(text).toHaveAttribute('data-token', String(q));
  await expect(text).toHaveAttribute('data-format', 'rgba32float');
  await expect(text).toHaveAttribute('data-head', '2');
  await expectWeights(text, (k) => (k <= q ? p(1, 2, q, k) : 0));

  // The screen-reader summary names the top attended token.
  let top = 0;
  for (let k = 1; k <= q; k++) if (p(1, 2, q, k) > p(1, 2, q, top)) top = k;
  await expect(page.getByTestId('text-view-summary')).toContainText(
    `attends most to ‘${tokenizer.tokenLabel(tokens[top]!)}’ ${(100 * p(1, 2, q, top)).toFixed(0)}%`,
  );

  // Keyboard: ← moves to the previous token, whose row is shown.
  await text.locator('button.tok').nth(q).focus();
  await page.keyboard.press('ArrowLeft');
  await expect(text.locator('button.tok').nth(q - 1)).toBeFocused();
  await expect(text).toHaveAttribute('data-token', String(q - 1));
  await expectWeights(text, (k) => (k <= q - 1 ? p(1, 2, q - 1, k) : 0));

  // Toggled: who attends to token 2 (its column).
  await view.getByRole('button', { name: 'Attended by' }).click();
  await text.locator('button.tok').nth(2).hover();
  await expect(text).toHaveAttribute('data-token', String(2));
  await expect(text).toHaveAttribute('data-mode', 'column');
  await expectWeights(text, (t) => (t >= 2 ? p(1, 2, t, 2) : 0));
  await view.getByRole('button', { name: 'Attends to' }).click();

  // The strips: one per head of the layer, each naming its head's top key for the token.
  await text.locator('button.tok').nth(q).hover();
  await expect(text).toHaveAttribute('data-token', String(q));
  const strips = view.locator('button.strip');
  await expect(strips).toHaveCount(config.nHead);
  for (let h = 0; h < config.nHead; h++) {
    let best = 0;
    for (let k = 1; k <= q; k++) if (p(1, h, q, k) > p(1, h, q, best)) best = k;
    const label = await strips.nth(h).getAttribute('aria-label');
    expect(label).toContain(`L1.H${h}: `);
    expect(label).toContain(`attends most to ‘${tokenizer.tokenLabel(tokens[best]!)}’`);
  }

  // A strip focuses its head; the layer slider moves the view to another layer.
  await strips.nth(0).click();
  await expect(text).toHaveAttribute('data-head', '0');
  await expectWeights(text, (k) => (k <= q ? p(1, 0, q, k) : 0));
  const slider = page.getByTestId('depth-scrubber').getByRole('slider', { name: 'Layer' });
  await slider.focus();
  await page.keyboard.press('ArrowRight');
  await expect(text).toHaveAttribute('data-layer', '2');
  await expect(async () => expectWeights(text, (k) => (k <= q ? p(2, 0, q, k) : 0))).toPass({
    timeout: 30_000,
  });
});
