// npm run bench:ui -- [--keys 12] [--frames 120] [--out FILE]
//
// The studio's interactive speed in Chromium (headless, WebGPU; SwiftShader's CPU adapter on a
// machine without a GPU), on the built app (`vite build` first; the script does it):
//   keystroke → heatmaps: from a key typed in the prompt to every heatmap of the shown layer (the
//     head grid and the focused head) drawn from the new run and finished on the GPU. Includes the
//     prompt's 120 ms debounce, the forward pass, its readbacks (lens top-k, residual stats) and the
//     draws; the time from the heatmaps' submission to their completion on the GPU is reported too.
//   scrubbing: the layer slider moved every animation frame; frame intervals, and the time from an
//     input to its frame finished on the GPU. Readbacks while scrubbing are counted in the page
//     (GPUBuffer.mapAsync wrapped before the app loads) and must be zero: the script fails if not.
// On the bundled model (static/models/gpt2-brown-mini) when it exists, else the e2e fixture model.
// Wall-clock numbers are reported, never asserted.

import { chromium, type Page } from '@playwright/test';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { preview } from 'vite';
import { chromiumArgs, chromiumPath } from './chromium';
import { Fixture } from './fixture';

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '12' },
    frames: { type: 'string', default: '120' },
    out: { type: 'string' },
  },
});
const keys = Number(values.keys);
const frames = Number(values.frames);

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};
const summary = (xs: number[]) => ({
  median_ms: Number(quantile(xs, 0.5).toFixed(2)),
  p90_ms: Number(quantile(xs, 0.9).toFixed(2)),
  max_ms: Number(Math.max(...xs).toFixed(2)),
  n: xs.length,
});

interface Debug {
  runs: number;
  draws: number;
  canvases: Record<string, { seq: number; submitted: number; done: number }>;
}
declare global {
  interface Window {
    __strataDebug?: Debug;
    __readbacks?: number;
    __keyAt?: number;
  }
}

/** Counts every GPUBuffer.mapAsync (each CPU readback) before the app's code runs. */
function countReadbacks() {
  window.__readbacks = 0;
  const original = GPUBuffer.prototype.mapAsync;
  GPUBuffer.prototype.mapAsync = function (this: GPUBuffer, ...args: Parameters<GPUBuffer['mapAsync']>) {
    window.__readbacks = (window.__readbacks ?? 0) + 1;
    return original.apply(this, args);
  };
  addEventListener('keydown', (e) => (window.__keyAt = e.timeStamp), { capture: true });
}

const heatmaps = ['head-grid-canvas', 'heatmap-focus-canvas'];

/** Waits until every heatmap shows a run newer than `seq` and its frame has finished; returns it. */
async function drawnAfter(page: Page, seq: number) {
  const handle = await page.waitForFunction(
    ({ names, after }) => {
      const d = window.__strataDebug;
      const records = names.map((n) => d?.canvases[n]);
      if (!records.every((r) => r && r.seq > after && Number.isFinite(r.done))) return undefined;
      return { seq: records[0]!.seq, done: Math.max(...records.map((r) => r!.done)) };
    },
    { names: heatmaps, after: seq },
    { timeout: 300_000, polling: 'raf' },
  );
  return (await handle.jsonValue())!;
}

async function main() {
  const bundled = existsSync('static/models/gpt2-brown-mini/config.json');
  const fixture = bundled ? undefined : await Fixture.start();
  const server = await preview({
    preview: { host: '127.0.0.1', port: 4183, strictPort: false },
    logLevel: 'warn',
  });
  const base = server.resolvedUrls?.local[0] ?? 'http://127.0.0.1:4183/';
  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // tsx compiles the functions handed to the page with esbuild's keepNames helper: define it there.
    await page.addInitScript({ content: 'globalThis.__name = (f) => f;' });
    await page.addInitScript(countReadbacks);
    const prompt = 'The cat sat on the mat, and the dog';
    const search = fixture
      ? fixture.url(prompt, { head: '0', debug: '1' })
      : `/?model=local:gpt2-brown-mini&prompt=${encodeURIComponent(prompt)}&head=0&debug=1`;
    await page.goto(new URL(search, base).toString());
    await page.getByTestId('next-tokens').locator('li').first().waitFor({ timeout: 300_000 });
    const model = await page.getByTestId('model-info').innerText();
    const adapter = await page.getByTestId('gpu-status').innerText();
    let last = await drawnAfter(page, 0);

    // Keystroke → every heatmap of the layer drawn from the new run.
    const textarea = page.getByTestId('prompt');
    await textarea.focus();
    await page.keyboard.press('End');
    const toDraws: number[] = [];
    const runToDraws: number[] = [];
    for (let i = 0; i < keys; i++) {
      const runsBefore = await page.evaluate(() => window.__strataDebug!.runs);
      await page.keyboard.press(i % 2 === 0 ? 'x' : 'Backspace');
      const drawn = await drawnAfter(page, last.seq);
      const keyAt = await page.evaluate(() => window.__keyAt!);
      toDraws.push(drawn.done - keyAt);
      const submitted = await page.evaluate(
        (names) => Math.min(...names.map((n) => window.__strataDebug!.canvases[n]!.submitted)),
        heatmaps,
      );
      runToDraws.push(drawn.done - submitted);
      if ((await page.evaluate(() => window.__strataDebug!.runs)) <= runsBefore)
        throw new Error('no run followed the keystroke');
      last = drawn;
      // Let the run's stats readback finish before the next key.
      await page.waitForTimeout(200);
    }

    // Scrubbing the layer slider, one step per animation frame.
    await page.mouse.move(0, 0);
    const scrub = await page.evaluate(async (n) => {
      const slider = document.querySelector<HTMLInputElement>(
        '[data-testid="depth-scrubber"] [data-testid="layer-slider"]',
      )!;
      const max = Number(slider.max);
      const frame = () => new Promise<number>((r) => requestAnimationFrame(r));
      let layer = Number(slider.value);
      let dir = 1;
      const step = () => {
        if (layer + dir > max || layer + dir < 0) dir = -dir;
        layer += dir;
        slider.value = String(layer);
        slider.dispatchEvent(new Event('input', { bubbles: true }));
      };
      const readbacks0 = window.__readbacks!;
      const draws0 = window.__strataDebug!.draws;
      // 1. A new layer every animation frame: the frame intervals.
      const stamps: number[] = [];
      for (let i = 0; i < n; i++) {
        stamps.push(await frame());
        if (max > 0) step();
      }
      // The GPU catches up with phase 1 first.
      while (!Number.isFinite(window.__strataDebug!.canvases['head-grid-canvas']?.done ?? NaN)) await frame();
      // 2. One step at a time: from the input to the grid's frame finished on the GPU.
      const latencies: number[] = [];
      for (let i = 0; i < 10 && max > 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const at = performance.now();
        step();
        for (;;) {
          await frame();
          const r = window.__strataDebug!.canvases['head-grid-canvas'];
          if (r && r.submitted >= at && Number.isFinite(r.done)) {
            latencies.push(r.done - at);
            break;
          }
        }
      }
      await new Promise((r) => setTimeout(r, 300));
      return {
        intervals: stamps.slice(1).map((t, i) => t - stamps[i]!),
        latencies,
        readbacks: window.__readbacks! - readbacks0,
        draws: window.__strataDebug!.draws - draws0,
        layers: max + 1,
      };
    }, frames);

    const result = {
      adapter: adapter.replace(/\s+/g, ' ').trim(),
      model: model.replace(/\s+/g, ' ').trim(),
      prompt,
      keystroke_to_heatmaps: summary(toDraws),
      heatmaps_submit_to_done: summary(runToDraws),
      debounce_ms: 120,
      scrub_frame_interval: summary(scrub.intervals),
      scrub_input_to_frame_done: summary(scrub.latencies),
      scrub_frames: frames,
      scrub_draws: scrub.draws,
      scrub_layers: scrub.layers,
      scrub_readbacks: scrub.readbacks,
      page_errors: errors,
    };
    console.log(JSON.stringify(result, null, 2));
    if (values.out) {
      await mkdir(dirname(values.out), { recursive: true });
      await writeFile(values.out, JSON.stringify(result, null, 2) + '\n');
    }
    if (scrub.readbacks !== 0)
      throw new Error(`${scrub.readbacks} readbacks while scrubbing layers: there must be none`);
    if (scrub.layers > 1 && scrub.draws === 0) throw new Error('scrubbing drew nothing');
    if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
  } finally {
    await browser.close();
    await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
    await fixture?.close();
  }
}

main().catch((e: unknown) => {
  console.error(`bench:ui failed: ${(e as Error).message}`);
  process.exitCode = 1;
});
