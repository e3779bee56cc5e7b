// README screenshots, taken from the running app (the built studio served by `vite preview`) on the
// bundled model in headless Chromium with WebGPU on whatever adapter it finds, at 1440×900: the
// whole first screen (studio.png), its parts (heads, residual stream, atlas, text view), the
// instruments, compare mode, and the causal instruments (Patch, Attribution) on the IOI pair.
//   npm run screenshots            (writes docs/screenshots/*.png; STRATA_SHOT_PORT: the port)
import { chromium, type Page } from '@playwright/test';
import { mkdir } from 'node:fs/promises';
import { preview } from 'vite';
import { chromiumArgs, chromiumPath } from './chromium';

const out = 'docs/screenshots';
const prompt =
  'Mr. and Mrs. Dursley, of number four, Privet Drive, were proud to say that they were perfectly normal. ' +
  'Mr. and Mrs. Dursley, of number four, Privet Drive, were proud';

async function ready(page: Page) {
  await page.getByTestId('next-tokens').locator('li').first().waitFor({ timeout: 180_000 });
  await page.waitForTimeout(1500); // the heatmaps' and instruments' last frames
}

async function shot(page: Page, testid: string, name: string) {
  const el = page.getByTestId(testid).first();
  await el.scrollIntoViewIfNeeded();
  await page.waitForTimeout(500);
  await el.screenshot({ path: `${out}/${name}.png` });
  console.log(`${out}/${name}.png`);
}

await mkdir(out, { recursive: true });
const port = Number(process.env.STRATA_SHOT_PORT ?? 4174);
const server = await preview({ preview: { host: '127.0.0.1', port, strictPort: true } });
const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, colorScheme: 'dark' });
  const base = `http://127.0.0.1:${port}/`;
  await page.goto(`${base}?${new URLSearchParams({ prompt, bos: '1', layer: '1', head: '1' }).toString()}`);
  await ready(page);
  await page.screenshot({ path: `${out}/studio.png` });
  console.log(`${out}/studio.png`);
  await shot(page, 'attention-panel', 'attention');
  await shot(page, 'flow-view', 'residual-stream');
  await page.getByRole('tab', { name: 'Atlas' }).click();
  await page.getByTestId('atlas').waitFor();
  await page.waitForTimeout(1500); // the atlas's first frame
  await shot(page, 'atlas-panel', 'atlas');
  await page.getByRole('tab', { name: 'Text' }).click();
  const tokens = page.getByTestId('text-view-tokens').locator('button.tok');
  await tokens.nth(43).hover(); // the second " Drive": in head L1.H1 it attends to the "," after the first
  await page.waitForTimeout(1500);
  await shot(page, 'text-view', 'text-view');
  await page.getByRole('tab', { name: 'Heads' }).click();
  const instruments = page.getByTestId('instruments');
  await page.waitForFunction(
    () => document.querySelectorAll('[data-detector="probe-induction"] [data-score]').length > 0,
  );
  await shot(page, 'instruments', 'detectors');
  await instruments.getByRole('tab', { name: 'Logit lens' }).click();
  await instruments.getByTestId('lens-cell').first().waitFor({ timeout: 180_000 });
  await shot(page, 'instruments', 'logit-lens');

  await page.goto(
    `${base}?${new URLSearchParams({ prompt: 'The cat sat on the mat because it was', compare: 'The dog sat on the mat because it was', layer: '1' }).toString()}`,
  );
  await ready(page);
  await page.getByTestId('next-tokens-b').locator('li').first().waitFor({ timeout: 180_000 });
  await page.waitForTimeout(1500);
  await page.screenshot({ path: `${out}/compare.png`, fullPage: false });
  console.log(`${out}/compare.png`);

  // The causal instruments on the IOI pair: the Patch tab (prompt A's instruments) and Attribution.
  const ioi = 'When Mary and John went to the store, John gave a drink to';
  await page.goto(
    `${base}?${new URLSearchParams({ prompt: ioi, compare: ioi.replace(', John', ', Mary'), tab: 'patch', answer: ' Mary', foil: ' John' }).toString()}`,
  );
  await ready(page);
  const causal = page.getByTestId('instruments').first();
  await causal.getByTestId('patch-run').click();
  await causal.getByTestId('patch-summary').waitFor({ timeout: 300_000 });
  await shot(page, 'instruments', 'patching');
  await causal.getByRole('tab', { name: 'Attribution' }).click();
  await causal.getByTestId('attribution-run').click();
  await causal.getByTestId('dla-total').waitFor({ timeout: 300_000 });
  await shot(page, 'instruments', 'attribution');
} finally {
  await browser.close();
  await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
}
