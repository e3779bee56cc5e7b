// Screenshots of the whole studio screen at several window sizes, for looking at the layout:
//   npx vite build && npx tsx e2e/look.ts [--model local:NAME] [--prompt TEXT] [--out DIR] [--query k=v&…]
//     [--random LxHxD[xN]] [--tokens N]
// --random: a random GPT-2 of L layers, H heads, width D (context N, default 1024) served by a
// local stand-in hub; --tokens N: a prompt of about N tokens (a passage repeated).
// Writes DIR/look-<width>x<height>.png (default /tmp/strata-look) and prints, per size, the page's
// sideways overflow, the head squares' side and rows, and whether the heads and the flow lie inside
// the window.
import { chromium } from '@playwright/test';
import { mkdir } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { preview } from 'vite';
import { gpt2Config } from '../src/model/fixtures';
import { gpt2Tokenizer, hubFiles, tinyWeights } from '../test/support/tiny-models';
import { chromiumArgs, chromiumPath } from './chromium';
import { Hub } from './fixture';

const { values } = parseArgs({
  options: {
    model: { type: 'string' },
    prompt: { type: 'string' },
    out: { type: 'string', default: '/tmp/strata-look' },
    query: { type: 'string', default: '' },
    sizes: { type: 'string', default: '1280x800,3840x2160' },
    random: { type: 'string' },
    tokens: { type: 'string' },
  },
});
const hub = values.random ? await Hub.start() : undefined;
if (values.random) {
  const [nLayer, nHead, nEmbd, nCtx = 1024] = values.random.split('x').map(Number) as number[];
  const config = gpt2Config({ nLayer: nLayer!, nHead: nHead!, nEmbd: nEmbd!, nCtx, vocabSize: 50257 });
  await hub!.publish(
    'strata-look/random',
    hubFiles(tinyWeights(config, 7, { attention: 14 }), 'tokenizer.json'),
  );
}
let prompt = values.prompt;
if (values.tokens) {
  const tokenizer = gpt2Tokenizer();
  const passage =
    'It was a bright cold day in April, and the clocks were striking thirteen. Winston Smith slipped ' +
    'quickly through the glass doors of Victory Mansions, though not quickly enough. ';
  let text = '';
  for (let i = 1; tokenizer.encode(text).length < Number(values.tokens); i++)
    text += `Chapter ${i}. ${passage}`;
  prompt = tokenizer.decode(tokenizer.encode(text).slice(0, Number(values.tokens))).trimEnd();
}
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
    if (hub) {
      params.set('hub', hub.server.url);
      params.set('model', 'strata-look/random');
    }
    if (prompt) params.set('prompt', prompt);
    await page.goto(`http://127.0.0.1:${port}/?${params.toString()}`);
    await page.getByTestId('next-tokens').locator('li').first().waitFor({ timeout: 900_000 });
    await page.waitForTimeout(2500);
    const file = `${values.out}/look-${width}x${height}.png`;
    await page.screenshot({ path: file });
    // A string: tsx's helpers (__name) do not exist in the page.
    const report = await page.evaluate(`(() => {
      const inside = (id) => {
        const r = document.querySelector('[data-testid="' + id + '"]')?.getBoundingClientRect();
        return r ? r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth : false;
      };
      const heads = [...document.querySelectorAll('[data-testid="attention-panel"] button.head')].map((b) =>
        b.getBoundingClientRect(),
      );
      return {
        overflowX: document.scrollingElement.scrollWidth - innerWidth,
        headCell: heads.length ? Math.round(Math.min(...heads.map((r) => r.width))) : 0,
        headRows: new Set(heads.map((r) => Math.round(r.top))).size,
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
  await hub?.close();
}
