// Loading models in the browser, for real: a local HTTP server stands in for the Hugging Face hub
// (CORS and Range like the hub), the studio downloads a random-weight GPT-2 in the hub layout into
// the browser's cache (OPFS), runs it with the WGSL engine in Chromium, and the next-token
// prediction it shows is checked against the CPU reference forward computed here in Node.
import type { Page } from '@playwright/test';
import { gpt2Config } from '../src/model/fixtures';
import { referenceForward } from '../src/model/reference';
import { checkpointOf, gpt2Tokenizer, hubFiles, tinyWeights } from '../test/support/tiny-models';
import { expect, missingTokenizerJson, test } from './fixture';

const tokenizer = gpt2Tokenizer();
const config = gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 32, nCtx: 32, vocabSize: 50257 });
// Sharper logits than GPT-2's init so the top-5 is not a near-tie.
const weights = tinyWeights(config, 3, { wte: 20 });
const repo = 'strata-test/tiny-gpt2';
/** The same model for the tiled-kernels test (repo's download count stays its first test's). */
const tiledRepo = 'strata-test/tiny-gpt2-tiled';

test.beforeAll(async ({ hub }) => {
  const files = hubFiles(weights, 'vocab.json');
  await hub.publish(repo, files);
  const checkpoint = checkpointOf(weights);
  const truncated = checkpoint.slice(0, checkpoint.byteLength - 1000);
  await hub.publish('strata-test/truncated', { ...files, 'model.safetensors': truncated });
  await hub.publish(tiledRepo, files);
});
test.use({ allowedErrors: [missingTokenizerJson] });

/** The next-token list the page shows, read from its data attributes. */
async function shownPrediction(page: Page): Promise<{ id: number; p: number }[]> {
  const items = page.getByTestId('next-tokens').locator('li');
  return items.evaluateAll((lis) =>
    lis.map((li) => ({ id: Number(li.getAttribute('data-token-id')), p: Number(li.getAttribute('data-p')) })),
  );
}

function expectMatchesReference(shown: { id: number; p: number }[], prompt: string) {
  const tokens = tokenizer.encode(prompt);
  const T = tokens.length;
  const V = config.vocabSize;
  const logits = referenceForward(weights, tokens).logits.subarray((T - 1) * V, T * V);
  const m = Math.max(...logits);
  let z = 0;
  for (const l of logits) z += Math.exp(l - m);
  const order = [...logits.keys()].sort((a, b) => logits[b]! - logits[a]!).slice(0, 5);
  expect(shown.map((s) => s.id)).toEqual(order);
  shown.forEach((s, i) =>
    expect(Math.abs(s.p - Math.exp(logits[order[i]!]! - m) / z)).toBeLessThanOrEqual(1e-4),
  );
}

test('a hub model downloads, runs in Chromium, matches the reference, and loads from the cache next time', async ({
  page,
  hub,
}) => {
  const prompt = 'Hello world, this is Strata';
  await page.goto(hub.studioUrl(repo, prompt));
  await expect(page.getByTestId('model-info')).toContainText('2 layers · 2 heads · d_model 32 · context 32');
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
  expectMatchesReference(await shownPrediction(page), prompt);
  await expect(page.getByTestId('tokens').locator('li')).toHaveCount(tokenizer.encode(prompt).length);
  const checkpointPath = `/${repo}/resolve/main/model.safetensors`;
  expect(hub.server.requestsFor(checkpointPath).filter((r) => r.method === 'GET')).toHaveLength(1);

  // Next visit: from the browser's cache, no request for the checkpoint.
  await page.reload();
  await expect(page.getByTestId('cached-badge')).toBeVisible();
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
  expect(hub.server.requestsFor(checkpointPath).filter((r) => r.method === 'GET')).toHaveLength(1);
  expectMatchesReference(await shownPrediction(page), prompt);
});

test('a corrupt model shows why and the previous model keeps working', async ({ page, hub }) => {
  await page.goto(hub.studioUrl(repo, 'The'));
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
  await page.getByTestId('model-drawer-toggle').click(); // the model panel opens in a drawer
  await page.getByTestId('hub-id').fill('strata-test/truncated');
  await page.getByRole('button', { name: 'Load' }).click();
  await expect(page.getByTestId('load-error')).toContainText('Could not load strata-test/truncated');
  await expect(page.getByTestId('load-error')).toContainText('model.safetensors');
  await expect(page.getByTestId('load-error')).toContainText(`still using ${repo}`);
  // The previous model still runs: a new prompt gets a new, correct prediction.
  const prompt = 'The cat sat on the mat';
  await page.getByTestId('prompt').fill(prompt);
  await expect(page.getByTestId('token-count')).toContainText(`${tokenizer.encode(prompt).length} tokens`);
  await expect(async () => expectMatchesReference(await shownPrediction(page), prompt)).toPass({
    timeout: 60_000,
  });
});

// The kernels a real GPU runs (tiled through workgroup memory: matmuls, the attention rows, the
// logit lens), forced on Chromium's software adapter with ?kernels=tiled: the same prediction.
test('the kernels made for GPUs give the reference prediction in Chromium too', async ({ page, hub }) => {
  const prompt = 'Hello world, this is Strata';
  await page.goto(hub.studioUrl(tiledRepo, prompt, { kernels: 'tiled' }));
  await expect(page.getByTestId('kernel-set')).toHaveText('tiled kernels');
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
  expectMatchesReference(await shownPrediction(page), prompt);
  // The default on this adapter is the other set.
  await page.goto(hub.studioUrl(tiledRepo, prompt));
  await expect(page.getByTestId('kernel-set')).toHaveText('barrier-free kernels');
});
