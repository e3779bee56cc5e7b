// The text view's state (CircuitsVis-style token hover): for the token under the pointer or the
// keyboard, one attention row (what it attends to: p[token, s] for every key s) and one column (who
// attends to it: p[t, token] for every query t) of every head of a layer, gathered from the
// capture texture on the GPU (src/instruments/token-attention.ts) and read back: 2·H·T floats, off
// the render path, made only when the token, the layer or the run changes; at most one in flight,
// the latest request wins. Drawing never waits for it.

import type { CaptureFormat } from '../gpu/kernels';
import { viteShaders } from '../gpu/shaders-vite';
import { TokenAttentionKernel } from '../instruments/token-attention';
import { studioGpu, withRunCaptures } from './gpu/access';
import { measure } from './debug';
import type { Studio } from './studio.svelte';
import type { PromptRun } from './prompt-run.svelte';
import { LatestRequest } from './latest';

/** One token's attention in every head of one layer, as captured. */
export interface TokenWeights {
  readonly layer: number;
  readonly token: number;
  /** T of the run read. */
  readonly rows: number;
  /** The run's result counter (PromptRun), to tell one run's reading from the next. */
  readonly seq: number;
  /** The capture format the weights were decoded from (its precision bounds theirs). */
  readonly format: CaptureFormat;
  /** Per head: p[token, s] for s = 0 … T−1 (0 past the token: masked keys). */
  readonly row: readonly Float32Array[];
  /** Per head: p[t, token] for t = 0 … T−1 (0 before the token: those queries cannot see it). */
  readonly column: readonly Float32Array[];
}

export interface TokenRequest {
  readonly layer: number;
  readonly token: number;
}

const intervalMs = 40;

export class TokenAttention {
  /** The latest reading; undefined before one, or when the prompt has no run. */
  current = $state.raw<TokenWeights | undefined>(undefined);
  error = $state.raw<string | undefined>(undefined);
  /** How many readings were made (for tests and the report; each is one small copy). */
  reads = 0;
  readonly #studio: Studio;
  readonly #run: PromptRun;
  #kernel: TokenAttentionKernel | undefined;
  readonly #requests = new LatestRequest<TokenRequest>(
    intervalMs,
    (request) => this.#serve(request),
    () => this.#disposed,
  );
  #disposed = false;

  constructor(studio: Studio, run: PromptRun) {
    this.#studio = studio;
    this.#run = run;
  }

  /** Asks for `request` (undefined: nothing). Call it again after a new run to refresh. */
  want(request: TokenRequest | undefined): void {
    if (this.#disposed) return;
    this.#requests.want(request);
    if (!request) this.current = undefined;
  }

  async #serve(request: TokenRequest): Promise<void> {
    try {
      const started = performance.now();
      const read = await this.#read(request);
      if (this.#disposed) return;
      this.current = read;
      if (read) measure('text-view', started, performance.now(), read.seq);
      this.error = undefined;
    } catch (e) {
      if (this.#disposed) return;
      this.error = (e as Error).message ?? String(e);
    }
  }

  #read(request: TokenRequest): Promise<TokenWeights | undefined> {
    return withRunCaptures(this.#run, async (captures) => {
      const device = studioGpu(this.#studio).device();
      if (!captures || !device) return undefined;
      const T = captures.result.tokens.length;
      const { layer, token } = request;
      if (!(token >= 0 && token < T)) return undefined;
      const texture = captures.session.capture({ kind: 'pattern', layer });
      if (this.#kernel?.device !== device) {
        this.#kernel?.dispose();
        this.#kernel = new TokenAttentionKernel(device, viteShaders);
      }
      const { row, column } = await this.#kernel.read(texture, token, T);
      this.reads++;
      const format = texture.format as CaptureFormat;
      return { layer, token, rows: T, seq: captures.seq, format, row, column };
    });
  }

  dispose(): void {
    this.#disposed = true;
    this.#requests.want(undefined);
    // A read in flight holds the run's lock; its kernel goes once it settles.
    const kernel = this.#kernel;
    this.#kernel = undefined;
    void withRunCaptures(this.#run, async () => kernel?.dispose()).catch(() => undefined);
  }
}

/** The `n` largest weights of `weights` (index and value), largest first. */
export function topWeights(weights: ArrayLike<number>, n: number): { index: number; weight: number }[] {
  const all = Array.from({ length: weights.length }, (_, index) => ({ index, weight: weights[index]! }));
  return all.sort((a, b) => b.weight - a.weight || a.index - b.index).slice(0, n);
}
