// npm run bench:ui -- [--models bundled,small,xl] [--keys 8] [--big-keys 3] [--frames 90]
//                     [--out FILE] [--profile DIR] [--dist DIR]
//
// The studio's interactive speed in Chromium (headless, WebGPU; SwiftShader's CPU adapter on a
// machine without a GPU), on the built app (`vite build` first; the script does it), for:
//   bundled  the bundled model (static/models/gpt2-brown-mini; the e2e fixture model without it),
//            a one-line prompt;
//   small    a random GPT-2 with GPT-2 small's 12 layers × 12 heads (narrow: d_model 96, so that
//            it runs on a CPU adapter), a ~1,020-token prompt (T ≈ n_ctx = 1,024);
//   xl       a random GPT-2 with GPT-2 XL's 48 layers × 25 heads (d_model 200), ~250 tokens.
// Random models are served by a local stand-in hub, like the e2e tests' models.
// Measured, per model:
//   keystroke → every view: a key typed in the prompt → each view updated from the new run: both
//     heatmaps of the shown layer (the head grid and the focused head) drawn and finished on the
//     GPU, the flow's frame from the run's stats and then with its lens labels, the prediction (the
//     lens applied); then, each with its tab open, the atlas and the text view's weights (a token
//     pointed at); broken down by the app's own User Timing measures (src/state/debug.ts):
//     input, tokenize, debounce, queue, encode+submit, forward GPU, lens wait, lens GPU (or, for a
//     build from before the run was split, one GPU step), draw encode, draw GPU;
//   frames: the depth scrubber moved one layer per animation frame with the heads and the flow in
//     view, then with the atlas; the flow panned (a drag after a wheel zoom); the atlas's keyboard
//     cursor moved one head per frame. Frame intervals, each canvas's frame time on the GPU, and the
//     readbacks (GPUBuffer.mapAsync, counted in the page) per frame, which must be 0: the script
//     fails if not.
//   --profile DIR: a CPU profile of the keystrokes (DIR/<model>-keys.cpuprofile) and its top
//     functions by self time.
// Wall-clock numbers are reported, never asserted.

import { chromium, type Page } from '@playwright/test';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { preview } from 'vite';
import { gpt2Config } from '../src/model/fixtures';
import type { Gpt2Config } from '../src/model/types';
import { gpt2Tokenizer, hubFiles, tinyWeights } from '../test/support/tiny-models';
import {
  countReadbacks,
  keyTimeline,
  startFrames,
  stepFrames,
  stopFrames,
  type KeyTimeline,
} from './bench-ui-page';
import { chromiumArgs, chromiumPath } from './chromium';
import { Fixture, Hub } from './fixture';
import { printTable, summary, topFunctions, type CpuProfile } from './bench-ui-report';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'bundled,small,xl' },
    keys: { type: 'string', default: '8' },
    'big-keys': { type: 'string', default: '3' },
    frames: { type: 'string', default: '90' },
    /** The random models' prompt length in tokens (default: small 1,020, xl 252; at most n_ctx). */
    tokens: { type: 'string' },
    out: { type: 'string' },
    profile: { type: 'string' },
    /** A built app to serve instead of dist/ (to compare two builds on one machine). */
    dist: { type: 'string' },
  },
});
const frames = Number(values.frames);
const heatmaps = ['head-grid-canvas', 'heatmap-focus-canvas'];
const tokenizer = gpt2Tokenizer();
const passage =
  'It was a bright cold day in April, and the clocks were striking thirteen. Winston Smith, his chin ' +
  'nuzzled into his breast in an effort to escape the vile wind, slipped quickly through the glass doors ' +
  'of Victory Mansions, though not quickly enough to prevent a swirl of gritty dust from entering along ' +
  'with him. The hallway smelt of boiled cabbage and old rag mats. ';

/** A prompt of about `n` tokens (the passage repeated with numbered chapters). */
function promptOf(n: number): string {
  let text = '';
  for (let i = 1; tokenizer.encode(text).length < n + 8; i++) text += `Chapter ${i}. ${passage}`;
  return tokenizer.decode(tokenizer.encode(text).slice(0, n)).trimEnd();
}

interface Model {
  readonly name: string;
  readonly config?: Gpt2Config;
  readonly tokens: number;
}
const models: Record<string, Model> = {
  bundled: { name: 'bundled', tokens: 0 },
  small: {
    name: 'small',
    config: gpt2Config({ nLayer: 12, nHead: 12, nEmbd: 96, nCtx: 1024, vocabSize: 50257 }),
    tokens: 1020,
  },
  xl: {
    name: 'xl',
    config: gpt2Config({ nLayer: 48, nHead: 25, nEmbd: 200, nCtx: 256, vocabSize: 50257 }),
    tokens: 252,
  },
};

/**
 * Waits until every canvas of `names` shows a run newer than `seq` and its frame has finished;
 * with no names, until the text view's weights of a newer run are back.
 */
async function drawnAfter(page: Page, seq: number, names = heatmaps) {
  const handle = await page.waitForFunction(
    ({ names, after }) => {
      if (names.length === 0) {
        const m = (performance.getEntriesByName('strata:text-view') as PerformanceMeasure[]).at(-1);
        const s = (m?.detail as { seq?: number } | null)?.seq ?? 0;
        return s > after ? { seq: s, done: m!.startTime + m!.duration } : undefined;
      }
      const d = window.__strataDebug;
      const records = names.map((n) => d?.canvases[n]);
      if (!records.every((r) => r && r.seq > after && Number.isFinite(r.done))) return undefined;
      return { seq: records[0]!.seq, done: Math.max(...records.map((r) => r!.done)) };
    },
    { names, after: seq },
    { timeout: 900_000, polling: 'raf' },
  );
  return (await handle.jsonValue())!;
}

/**
 * Waits until run `seq`'s lens is applied (the whole result, in a build before the split) and the
 * flow has drawn a frame after it.
 */
async function everyViewAfter(page: Page, seq: number, keyAt: number) {
  await page.waitForFunction(
    ({ seq, keyAt }) => {
      const ms = performance
        .getEntriesByType('measure')
        .filter((m) => m.startTime >= keyAt - 0.5) as PerformanceMeasure[];
      const of = (n: string) => ms.find((m) => m.name === `strata:${n}` && m.detail?.seq === seq);
      const split = !of('gpu');
      const lens = of(split ? 'lens-apply' : 'apply');
      if (!lens) return false;
      const t = lens.startTime + lens.duration;
      return ms.some((m) => m.name === 'strata:draw-gpu:flow-canvas' && m.startTime >= t);
    },
    { seq, keyAt },
    { timeout: 900_000, polling: 200 },
  );
}

/** `n` keystrokes at the prompt's end ('x', Backspace, …), each timed until every view of `canvases` updated. */
async function keystrokes(page: Page, n: number, canvases: string[], after: number) {
  const timelines: KeyTimeline[] = [];
  let last = after;
  await page.getByTestId('prompt').focus();
  await page.keyboard.press('End');
  await page.waitForTimeout(500);
  for (let i = 0; i < n; i++) {
    const runsBefore = await page.evaluate(() => window.__strataDebug!.runs);
    await page.keyboard.press(i % 2 === 0 ? 'x' : 'Backspace');
    const drawn = await drawnAfter(page, last, canvases);
    if ((await page.evaluate(() => window.__strataDebug!.runs)) <= runsBefore)
      throw new Error('no run followed the keystroke');
    const keyAt = await page.evaluate(() => window.__keyAt!);
    await everyViewAfter(page, drawn.seq, keyAt);
    const t = await page.evaluate(keyTimeline, { keyAt, seq: drawn.seq, canvases });
    timelines.push(t);
    last = drawn.seq;
    // The detectors score the run: let them end (a key typed while they run waits for them: the
    // timeline's queue).
    await page.waitForTimeout(Math.max(400, Math.min(t.total, 10_000)));
  }
  const summaries = Object.fromEntries(
    (Object.keys(timelines[0]!) as (keyof KeyTimeline)[]).map((k) => [
      k,
      summary(timelines.map((t) => t[k])),
    ]),
  );
  return { summaries, last };
}

async function framesOf(page: Page, canvases: string[], act: () => Promise<unknown>) {
  const from = await page.evaluate(startFrames);
  await act();
  const r = await page.evaluate(stopFrames, { from, canvases });
  const gpu = Object.fromEntries(Object.entries(r.gpu).map(([c, xs]) => [c, summary(xs)]));
  return {
    frame_interval: summary(r.intervals),
    gpu_frame: gpu,
    frames: r.frames,
    draws: r.draws,
    readbacks: r.readbacks,
    readbacks_per_frame: r.readbacks / Math.max(1, r.frames),
  };
}

async function benchModel(page: Page, base: string, model: Model, hub: Hub | undefined, fixture?: Fixture) {
  const keys = Number(model.config ? values['big-keys'] : values.keys);
  const prompt = model.config
    ? promptOf(Math.min(model.config.nCtx - 4, Number(values.tokens ?? model.tokens)))
    : 'The cat sat on the mat, and the dog';
  const repo = `strata-bench/random-${model.name}`;
  if (model.config && hub)
    await hub.publish(repo, hubFiles(tinyWeights(model.config, 7, { attention: 14 }), 'tokenizer.json'));
  const search = model.config
    ? hub!.studioUrl(repo, prompt, { head: '0', debug: '1' })
    : fixture
      ? fixture.url(prompt, { head: '0', debug: '1' })
      : `/?model=local:gpt2-brown-mini&prompt=${encodeURIComponent(prompt)}&head=0&debug=1`;
  const t0 = Date.now();
  await page.goto(new URL(search, base).toString());
  const last = await drawnAfter(page, 0);
  // …and its lens (`lenses` is not counted by a build from before the run was split).
  await page.waitForFunction(() => (window.__strataDebug!.lenses ?? 1) >= 1, null, { timeout: 900_000 });
  const loadMs = Date.now() - t0;
  const info = await page.getByTestId('model-info').innerText();
  const adapter = await page.getByTestId('gpu-status').innerText();
  const T = await page.getByTestId('token-count').innerText();
  console.error(`${model.name}: ${info} · ${T} · loaded and drawn in ${(loadMs / 1000).toFixed(1)} s`);

  // Keystroke → every view updated from the new run, step by step: the heatmaps of the layer, the
  // flow, the prediction; the atlas and the text view in their own tabs below.
  const cdp = values.profile ? await page.context().newCDPSession(page) : undefined;
  if (cdp) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
    await cdp.send('Profiler.start');
  }
  const heads = await keystrokes(page, keys, heatmaps, last.seq);
  let profile: { file: string; top: ReturnType<typeof topFunctions> } | undefined;
  if (cdp) {
    const { profile: p } = (await cdp.send('Profiler.stop')) as { profile: CpuProfile };
    const file = `${values.profile}/${model.name}-keys.cpuprofile`;
    await mkdir(values.profile!, { recursive: true });
    await writeFile(file, JSON.stringify(p));
    profile = { file, top: topFunctions(p, 15) };
    await cdp.detach();
  }
  const keystroke = heads.summaries;

  // Frames: the scrubber with the heads and the flow in view.
  await page.mouse.move(0, 0);
  await page.locator('body').click({ position: { x: 1, y: 1 } });
  const n = frames;
  const headsScrub = await framesOf(page, [...heatmaps, 'flow-canvas'], () =>
    page.evaluate(stepFrames, { n }),
  );
  // The flow panned: zoomed in about its middle, then dragged.
  const plot = page.getByTestId('flow-plot');
  const box = (await plot.boundingBox())!;
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let i = 0; i < 4; i++) await page.mouse.wheel(0, -300);
  await page.waitForTimeout(500);
  const flowPan = await framesOf(page, ['flow-canvas'], async () => {
    await page.mouse.down();
    for (let i = 0; i < n; i++)
      await page.mouse.move(
        box.x + box.width / 2 + 2 * (i % 40) - 40,
        box.y + box.height / 2 + (i % 20) - 10,
      );
    await page.mouse.up();
    await page.waitForTimeout(100);
  });
  // The atlas: scrubbed (its row highlight follows; the canvas is not redrawn), then its cursor.
  await page.getByRole('tab', { name: 'Atlas' }).click();
  await page.getByTestId('atlas-canvas').waitFor();
  await page.waitForFunction(
    () => Number.isFinite(window.__strataDebug?.canvases['atlas-canvas']?.done ?? NaN),
    null,
    {
      timeout: 600_000,
    },
  );
  await page.waitForTimeout(500);
  // Keystroke → the atlas (and the other views but the heatmaps, hidden behind its tab).
  const atlasKeys = await keystrokes(page, Math.max(1, Math.ceil(keys / 2)), ['atlas-canvas'], heads.last);
  await page.mouse.move(0, 0);
  await page.locator('body').click({ position: { x: 1, y: 1 } });
  const atlasScrub = await framesOf(page, ['atlas-canvas', 'flow-canvas'], () =>
    page.evaluate(stepFrames, { n }),
  );
  await page.locator('[data-testid="atlas"] button.thumb').first().focus();
  const atlasCursor = await framesOf(page, ['atlas-canvas'], () =>
    page.evaluate(stepFrames, {
      n,
      target: '[data-testid="atlas"]',
      keys: ['ArrowRight', 'ArrowDown', 'ArrowLeft', 'ArrowUp'],
    }),
  );
  // Keystroke → the text view (its tab open, the first token pointed at: its weights read back;
  // a build from before the run was split has no measure of it: skipped).
  const split = await page.evaluate(() => performance.getEntriesByName('strata:forward-gpu').length > 0);
  await page.getByRole('tab', { name: 'Text' }).click();
  await page.getByTestId('text-view-tokens').locator('button').first().focus();
  await page.waitForTimeout(500);
  const textKeys = split
    ? await keystrokes(page, Math.max(1, Math.ceil(keys / 2)), [], atlasKeys.last)
    : undefined;
  return {
    model: info.replace(/\s+/g, ' ').trim(),
    adapter: adapter.replace(/\s+/g, ' ').trim(),
    tokens: T,
    load_and_first_draw_ms: loadMs,
    keystroke_to_views: keystroke,
    keystroke_to_atlas: atlasKeys.summaries,
    ...(textKeys ? { keystroke_to_text_view: textKeys.summaries } : {}),
    scrub_heads_and_flow: headsScrub,
    flow_pan: flowPan,
    scrub_atlas_and_flow: atlasScrub,
    atlas_cursor: atlasCursor,
    ...(profile ? { profile } : {}),
  };
}

async function save(file: string, results: Record<string, unknown>, errors: string[]) {
  const out = { date: new Date().toISOString(), viewport: '1280x800', results, page_errors: errors };
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(out, null, 2) + '\n');
}

async function main() {
  const names = values.models!.split(',');
  for (const n of names) if (!models[n]) throw new Error(`unknown model ${n}: bundled, small or xl`);
  const bundled = existsSync('static/models/gpt2-brown-mini/config.json');
  const hub = await Hub.start();
  const fixture = bundled ? undefined : await Fixture.publish(hub);
  const port = Number(process.env.STRATA_SHOT_PORT ?? 4183);
  const server = await preview({
    preview: { host: '127.0.0.1', port, strictPort: false },
    ...(values.dist ? { build: { outDir: values.dist } } : {}),
    logLevel: 'warn',
  });
  const base = server.resolvedUrls?.local[0] ?? `http://127.0.0.1:${port}/`;
  const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
  const results: Record<string, unknown> = {};
  const errors: string[] = [];
  try {
    for (const name of names) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      page.on('pageerror', (e) => errors.push(`${name}: ${e.message}`));
      // tsx compiles the functions handed to the page with esbuild's keepNames helper: define it there.
      await page.addInitScript({ content: 'globalThis.__name = (f) => f;' });
      await page.addInitScript(countReadbacks);
      results[name] = await benchModel(page, base, models[name]!, hub, fixture);
      await page.close();
      // Written after each model: a long run stopped part-way keeps what it measured.
      if (values.out) await save(values.out, results, errors);
    }
  } finally {
    await browser.close();
    await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
    await hub.close();
  }
  printTable(results);
  for (const [name, r] of Object.entries(results) as [string, Record<string, { readbacks?: number }>][]) {
    for (const phase of ['scrub_heads_and_flow', 'flow_pan', 'scrub_atlas_and_flow', 'atlas_cursor']) {
      const readbacks = r[phase]?.readbacks ?? 0;
      if (readbacks !== 0) throw new Error(`${name}, ${phase}: ${readbacks} readbacks; there must be none`);
    }
  }
  if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
}

main().catch((e: unknown) => {
  console.error(`bench:ui failed: ${(e as Error).message}`);
  process.exitCode = 1;
});
