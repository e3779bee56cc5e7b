// The studio under hostile or heavy use, in Chromium on the fixture model: markup and `javascript:`
// URLs in every URL parameter render as inert text (no dialog, no element made from them, no
// script run); 100 prompt edits leave the live GPU buffer and texture counts where they were; a
// lost device (GPUDevice.destroy() from the page, as a driver reset) is recovered from; a model
// saved without tokenizer files runs with the standard GPT-2 tokenizer and says so; a run whose
// stream overflows says so.
import type { Page } from '@playwright/test';
import { gpt2ConfigJson } from '../src/model/config';
import { checkpointOf, hubFiles, tinyWeights } from '../test/support/tiny-models';
import { config, expect, test, weights } from './fixture';

interface Debug {
  runs: number;
  live: { buffers: number; textures: number };
  loseDevice?: () => void;
}
/** The page's window with the studio's debug counters (and what a payload would set). */
type W = Window & { __strataDebug: Debug; __xss?: number };

// Fetches the payloads turn into (a hub URL made of markup) may be refused by the server.
test.use({ allowedErrors: [/^console: Failed to load resource/] });

const payloads = [
  '<img src=x onerror="window.__xss=1;alert(1)">',
  'javascript:window.__xss=1;alert(1)',
  '"><script>window.__xss=1;alert(1)</script>',
  '\'><svg onload="window.__xss=1;alert(1)"></svg>',
];
const parameters = [
  'model',
  'hub',
  'prompt',
  'bos',
  'compare',
  'bos_b',
  'kernels',
  'layer',
  'head',
  'colormap',
  'scale',
  'norm',
  'sink',
];

/** Fails on any dialog the page opens. */
function watchDialogs(page: Page): string[] {
  const dialogs: string[] = [];
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  return dialogs;
}

async function expectInert(page: Page, dialogs: readonly string[]): Promise<void> {
  const found = await page.evaluate(() => ({
    xss: (window as unknown as W).__xss,
    injected: document.querySelectorAll('img[src="x"], svg[onload], script:not([src]):not([type])').length,
    handlers: [...document.querySelectorAll('body *')].filter((el) =>
      [...el.attributes].some((a) => a.name.startsWith('on')),
    ).length,
  }));
  expect(found).toEqual({ xss: undefined, injected: 0, handlers: 0 });
  expect(dialogs).toEqual([]);
}

test('markup and javascript: in every URL parameter render inert', async ({ page, fixture }) => {
  const dialogs = watchDialogs(page);
  for (const payload of payloads) {
    const params = new URLSearchParams(parameters.map((name) => [name, payload]));
    await page.goto(`/?${params.toString()}`);
    await expect(page.getByTestId('gpu-status')).toHaveAttribute('data-state', 'ready');
    // The model parameter is nonsense: the load ends in an error, or the default model loads.
    await expect(page.getByTestId('prompt')).toBeVisible();
    await page.waitForTimeout(500);
    await expectInert(page, dialogs);
  }
  // A model that loads, with the payloads as prompts: they are tokenized and shown as tokens.
  for (const payload of payloads) {
    await page.goto(fixture.url(payload, { compare: payload }));
    await expect(page.getByTestId('next-tokens').first().locator('li')).toHaveCount(5);
    await expect(page.getByTestId('prompt')).toHaveValue(payload);
    await expectInert(page, dialogs);
  }
});

/** The live counts once they have stayed the same for a while (readbacks finish asynchronously). */
async function settledCounts(page: Page): Promise<{ buffers: number; textures: number }> {
  let last = '';
  for (let same = 0; same < 3;) {
    await page.waitForTimeout(150);
    const now = JSON.stringify(await page.evaluate(() => (window as unknown as W).__strataDebug.live));
    same = now === last ? same + 1 : 0;
    last = now;
  }
  return JSON.parse(last) as { buffers: number; textures: number };
}

test('100 prompt edits leave the live GPU buffers and textures as they were', async ({ page, fixture }) => {
  const prompts = [
    'The cat sat on the mat',
    'The dog',
    'A much longer prompt about the capital of France, which is Paris',
    'x',
    'When Mary and John went to the store, John gave a drink to',
  ];
  await page.goto(fixture.url(prompts[0]!));
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
  const edit = async (i: number) => {
    const before = await page.evaluate(() => (window as unknown as W).__strataDebug.runs);
    await page.getByTestId('prompt').fill(prompts[(i + 1) % prompts.length]!);
    await page.waitForFunction((n) => (window as unknown as W).__strataDebug.runs > n, before);
  };
  // The first edits make what every later one reuses (sessions grown to the longest prompt).
  for (let i = 0; i < 10; i++) await edit(i);
  const warm = await settledCounts(page);
  expect(warm.buffers).toBeGreaterThan(0);
  expect(warm.textures).toBeGreaterThan(0);
  for (let i = 10; i < 100; i++) await edit(i);
  expect(await settledCounts(page)).toEqual(warm);
});

test('a lost device is recovered from: the model reloads and the prompt runs again', async ({
  page,
  fixture,
}) => {
  await page.goto(fixture.url('The cat sat on the mat'));
  const next = page.getByTestId('next-tokens').locator('li');
  await expect(next).toHaveCount(5);
  const before = await next.allTextContents();
  const runs = await page.evaluate(() => (window as unknown as W).__strataDebug.runs);

  await page.evaluate(() => (window as unknown as W).__strataDebug.loseDevice!());
  await page.waitForFunction((n) => (window as unknown as W).__strataDebug.runs > n, runs);
  await expect(page.getByTestId('gpu-status')).toHaveAttribute('data-state', 'ready');
  await expect(next).toHaveCount(5);
  expect(await next.allTextContents()).toEqual(before);
  await expect(page.getByTestId('run-warning')).toHaveCount(0);
});

test('a model without tokenizer files gets the standard GPT-2 tokenizer, and the studio says so', async ({
  page,
  hub,
}) => {
  const bare = 'strata-test/no-tokenizer';
  await hub.publish(bare, {
    'config.json': gpt2ConfigJson(config),
    'model.safetensors': checkpointOf(weights),
  });
  await page.goto(hub.studioUrl(bare, 'The cat sat on the mat'));
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
  await expect(page.getByTestId('tokenizer-note')).toContainText(
    'the model has no tokenizer files: using the standard GPT-2 tokenizer',
  );
});

test.describe('a non-finite run', () => {
  // The charts (flow view, entropy) still draw the NaN numbers, and Chromium logs each NaN SVG
  // attribute; the banner is what says the numbers mean nothing.
  test.use({
    // One pattern: Playwright reads a two-element array option as [value, options].
    allowedErrors: [/^console: (Failed to load resource|Error: <\w+> attribute \w+: Expected \w+, "NaN")/],
  });

  test('a run whose stream overflows shows a banner naming where', async ({ page, hub }) => {
    // Finite weights, so they load; every MLP adds 3e38 and the stream passes f32's largest value.
    const huge = tinyWeights(config, 21, { attention: 14, wte: 20 });
    for (const block of huge.blocks) (block.mlpProj.bias.data as Float32Array).fill(3e38);
    const repo = 'strata-test/overflow';
    await hub.publish(repo, hubFiles(huge, 'tokenizer.json'));
    await page.goto(hub.studioUrl(repo, 'The cat sat on the mat'));
    await expect(page.getByTestId('run-warning')).toContainText(/Not finite: .* is not finite/);
  });
});
