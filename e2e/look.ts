// Screenshots of the whole studio screen at several window sizes, for looking at the layout:
//   npx vite build && npx tsx e2e/look.ts [--model local:NAME] [--prompt TEXT] [--out DIR] [--query k=v&…]
// Writes DIR/look-<width>x<height>.png (default /tmp/strata-look) and prints, per size, the page's
// sideways overflow and whether the heads and the flow lie inside the window.
import { chromium } from '@playwright/test';
import { mkdir } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { preview } from 'vite';
import { chromiumArgs, chromiumPath } from './chromium';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    prompt: { type: 'string' },
    out: { type: 'string', default: '/tmp/strata-look' },
    query: { type: 'string', default: '' },
    sizes: { type: 'string', default: '1280x800,3840x2160' },
  },
});
const port = Number(process.env.STRATA_SHOT_PORT ?? 4174);
await mkdir(values.out!, { recursive: true });
const server = await preview({ preview: { host: '127.0.0.1', port, strictPort: true } });
const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
try {
  for (const size of values.sizes!.split(',')) {
    const [width, height] = size.split('x').map(Number) as [number, number];
    const page = await browser.newPage({ viewport: { width, height }, colorScheme: 'dark' });
    const params = new URLSearchParams(values.query);
    if (values.model) params.set('model', values.model);
    if (values.prompt) params.set('prompt', values.prompt);
    await page.goto(`http://127.0.0.1:${port}/?${params.toString()}`);
    await page.getByTestId('next-tokens').locator('li').first().waitFor({ timeout: 300_000 });
    await page.waitForTimeout(2500);
    const file = `${values.out}/look-${width}x${height}.png`;
    await page.screenshot({ path: file });
    // A string: tsx's helpers (__name) do not exist in the page.
    const report = await page.evaluate(`(() => {
      const inside = (id) => {
        const r = document.querySelector('[data-testid="' + id + '"]')?.getBoundingClientRect();
        return r ? r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth : false;
      };
      return {
        overflowX: document.scrollingElement.scrollWidth - innerWidth,
        heads: inside('head-grid-canvas'),
        focus: inside('heatmap-focus'),
        flow: inside('flow-view'),
      };
    })()`);
    console.log(file, JSON.stringify(report));
    await page.close();
  }
} finally {
  await browser.close();
  await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
}
