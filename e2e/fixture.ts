// The e2e specs' Playwright fixtures and the studio's fixture model. Every test gets:
// - `consoleErrors` (automatic): the console errors and uncaught exceptions of every page of the
//   test's browser context; the test fails if there are any once it ends, but for those a spec
//   expects and names with test.use({ allowedErrors: [...] });
// - `hub` (one per worker): a local HTTP server that stands in for the Hugging Face hub (CORS and
//   Range like the hub); specs publish their models into it in test.beforeAll;
// - `fixture` (one per worker): the studio's fixture model published in that hub, and the numbers
//   of the CPU reference forward for it (reference() below). A random-weight GPT-2 with the real
//   GPT-2 tokenizer; its attention is sharpened (q and k scaled) so patterns are not flat, and its
//   token embeddings scaled so the logit lens has clear winners (no near-ties between a layer's top
//   tokens).
import { test as base, expect, type Locator, type Page } from '@playwright/test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gpt2Config } from '../src/model/fixtures';
import { referenceForward, unembed, type ReferenceResult } from '../src/model/reference';
import { FixtureServer, writeHubRepo } from '../test/support/fixture-server';
import { gpt2Tokenizer, hubFiles, tinyWeights } from '../test/support/tiny-models';

export const tokenizer = gpt2Tokenizer();
export const config = gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 32, nCtx: 32, vocabSize: 50257 });
export const weights = tinyWeights(config, 21, { attention: 14, wte: 20 });
export const repo = 'strata-test/tiny-gpt2-studio';

/** A local stand-in for the hub: a FixtureServer over a temporary folder of repos. */
export class Hub {
  readonly server: FixtureServer;
  readonly #root: string;
  private constructor(root: string, server: FixtureServer) {
    this.#root = root;
    this.server = server;
  }

  static async start(): Promise<Hub> {
    const root = mkdtempSync(join(tmpdir(), 'strata-hub-'));
    return new Hub(root, await FixtureServer.start(root));
  }

  /** Serves `files` as the hub serves `repo` at revision main (tiny-models' hubFiles gives a model's). */
  async publish(repo: string, files: Record<string, Uint8Array | string>): Promise<void> {
    await writeHubRepo(this.#root, repo, files);
  }

  /** The studio's URL for `prompt` on `repo` of this hub, plus extra query parameters. */
  studioUrl(repo: string, prompt: string, extra: Record<string, string> = {}): string {
    const params = new URLSearchParams({ hub: this.server.url, model: repo, prompt, ...extra });
    return `/?${params.toString()}`;
  }

  async close(): Promise<void> {
    await this.server.close();
    rmSync(this.#root, { recursive: true, force: true });
  }
}

/** The fixture model, published in a hub. */
export class Fixture {
  readonly hub: Hub;
  private constructor(hub: Hub) {
    this.hub = hub;
  }

  /** Publishes the fixture model in `hub` (as the hub's GPT-2 repos have it: with tokenizer.json). */
  static async publish(hub: Hub): Promise<Fixture> {
    await hub.publish(repo, hubFiles(weights, 'tokenizer.json'));
    return new Fixture(hub);
  }

  /** The fixture model in a hub of its own, for scripts (e2e/bench-ui.ts); close() stops that hub. */
  static async start(): Promise<Fixture> {
    return Fixture.publish(await Hub.start());
  }

  /** The studio's URL for `prompt` on the fixture model, plus extra query parameters. */
  url(prompt: string, extra: Record<string, string> = {}): string {
    return this.hub.studioUrl(repo, prompt, extra);
  }

  async close(): Promise<void> {
    await this.hub.close();
  }
}

/**
 * Chromium's console error for a hub repo without tokenizer.json: the studio asks for it first and
 * falls back to vocab.json + merges.txt (older GPT-2 repos), so specs serving those allow this one.
 */
export const missingTokenizerJson =
  /^console: Failed to load resource: the server responded with a status of 404 \(Not Found\) http:\/\/127\.0\.0\.1:\d+\/[^ ]+\/resolve\/main\/tokenizer\.json$/;

interface TestFixtures {
  /** Console errors and uncaught exceptions so far, as `console: …` and `pageerror: …` lines. */
  consoleErrors: readonly string[];
  /** Those the spec expects: matched, they do not fail the test. */
  allowedErrors: readonly RegExp[];
}

export const test = base.extend<TestFixtures, { hub: Hub; fixture: Fixture }>({
  allowedErrors: [[], { option: true }],
  consoleErrors: [
    async ({ context, allowedErrors }, use) => {
      const errors: string[] = [];
      context.on('weberror', (e) => errors.push(`pageerror: ${e.error().message}`));
      context.on('console', (m) => {
        if (m.type() === 'error') errors.push(`console: ${m.text()} ${m.location().url}`);
      });
      await use(errors);
      const unexpected = errors.filter((e) => !allowedErrors.some((allowed) => allowed.test(e)));
      expect(unexpected, 'console errors and uncaught exceptions').toEqual([]);
    },
    { auto: true },
  ],
  hub: [
    // eslint-disable-next-line no-empty-pattern -- Playwright reads a fixture's dependencies from this pattern
    async ({}, use) => {
      const hub = await Hub.start();
      await use(hub);
      await hub.close();
    },
    { scope: 'worker' },
  ],
  fixture: [async ({ hub }, use) => use(await Fixture.publish(hub)), { scope: 'worker' }],
});
export { expect };

export interface Reference {
  readonly tokens: number[];
  readonly T: number;
  readonly ref: ReferenceResult;
  /** Per depth (resid_pre 0 … L−1, resid_post): (T, D) the stream. */
  readonly depths: Float32Array[];
  /** Per depth: the lens's softmax (T, V). */
  readonly lens: Float32Array[];
}

export function reference(prompt: string): Reference {
  const tokens = tokenizer.encode(prompt);
  const T = tokens.length;
  const ref = referenceForward(weights, tokens);
  const depths = [...ref.residPre, ref.residPost];
  const V = config.vocabSize;
  const lens = depths.map((resid) => {
    const logits = unembed(weights, resid, T);
    const out = new Float32Array(logits.length);
    for (let t = 0; t < T; t++) {
      const row = logits.subarray(t * V, (t + 1) * V);
      const m = Math.max(...row);
      let z = 0;
      for (const l of row) z += Math.exp(l - m);
      for (let v = 0; v < V; v++) out[t * V + v] = Math.exp(row[v]! - m) / z;
    }
    return out;
  });
  return { tokens, T, ref, depths, lens };
}

/** ‖row t‖ of a (T, D) array. */
export function rowNorm(x: Float32Array, t: number, D = config.nEmbd): number {
  let s = 0;
  for (let d = t * D; d < (t + 1) * D; d++) s += x[d]! ** 2;
  return Math.sqrt(s);
}

/** The top-2 of row t of a (T, V) array: [id, p] each. */
export function top2(p: Float32Array, t: number): [[number, number], [number, number]] {
  const V = config.vocabSize;
  let a = -1;
  let b = -1;
  for (let v = 0; v < V; v++) {
    const x = p[t * V + v]!;
    if (a < 0 || x > p[t * V + a]!) [a, b] = [v, a];
    else if (b < 0 || x > p[t * V + b]!) b = v;
  }
  return [
    [a, p[t * V + a]!],
    [b, p[t * V + b]!],
  ];
}

/** Scrubs the studio's layer slider to `layer` with the keys; returns the attention panel's button of head `head` there. */
export async function headButton(page: Page, layer: number, head: number): Promise<Locator> {
  const slider = page.getByRole('slider', { name: /layer/i }).first();
  await slider.focus();
  await page.keyboard.press('Home');
  for (let l = 0; l < layer; l++) await page.keyboard.press('ArrowRight');
  return page
    .getByTestId('attention-panel')
    .getByRole('button', { name: `Head L${layer}.H${head}`, exact: true });
}
