// bench:peers in headless Chromium: the page of page.ts, served by server.ts, driven through
// Playwright's page.evaluate.

import { chromium, type Browser, type Page } from '@playwright/test';
import { existsSync } from 'node:fs';
import { chromiumArgs, chromiumPath } from '../../e2e/chromium';
import { nodeShaders } from '../../src/cli/node-shaders';
import type { PeerDriver, PeerLog } from './driver';
import { isPeerLogLine } from './driver';
import { startServer } from './server';

export async function chromiumDriver(modelsDir: string, log: PeerLog): Promise<PeerDriver> {
  if (!existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath} (set CHROME_PATH)`);
  const server = await startServer(nodeShaders(), modelsDir);
  let browser: Browser | undefined;
  let page: Page | undefined;
  const open = async () => {
    await browser?.close();
    browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
    const p = await browser.newPage();
    p.on('console', (m) => {
      if (isPeerLogLine(m.text())) log(m.text());
    });
    p.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    await p.goto(server.url);
    await p.waitForFunction(() => 'peerBench' in window);
    page = p;
  };
  await open();
  return {
    runtime: 'Chromium',
    adapter: () => page!.evaluate(() => window.peerBench.adapter()),
    load: (e, s) => page!.evaluate(([e, s]) => window.peerBench.load(e, s), [e, s] as const),
    run: (i, m, w) => page!.evaluate(([i, m, w]) => window.peerBench.run(i, m, w), [i, m, w] as const),
    unload: () => page!.evaluate(() => window.peerBench.unload()),
    restart: open,
    async close() {
      await browser?.close();
      await server.close();
    },
  };
}
