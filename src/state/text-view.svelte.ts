// The text view's state (CircuitsVis-style token hover): for the token under the pointer or the
// keyboard, one attention row (what it attends to: p[token, s] for every key s) and one column (who
// attends to it: p[t, token] for every query t) of every head of a layer, read back from the
// capture texture. A small copy off the render path, made only when the token, the layer or the
// run changes: at most one in flight, the latest request wins. Drawing never waits for it.
//
//   row:    copyTextureToBuffer of texels (0 … ⌈T/4⌉−1, token) of every array layer (head): [H, T]
//   column: texel ⌊token/4⌋ of rows token … T−1 of every head (256 bytes a row): [H, T − token]

import { captureBytesPerValue, decodeCapture, type CaptureFormat } from '../gpu/kernels';
import { f16ToF32 } from '../model/dtype';
import { studioGpu, withRunCaptures } from './gpu/access';
import type { PromptRun, Studio } from './studio.svelte';

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
  #wanted: TokenRequest | undefined;
  #busy = false;
  #disposed = false;

  constructor(studio: Studio, run: PromptRun) {
    this.#studio = studio;
    this.#run = run;
  }

  /** Asks for `request` (undefined: nothing). Call it again after a new run to refresh. */
  want(request: TokenRequest | undefined): void {
    if (this.#disposed) return;
    this.#wanted = request;
    if (!request) {
      this.current = undefined;
      return;
    }
    if (!this.#busy) void this.#loop();
  }

  async #loop(): Promise<void> {
    this.#busy = true;
    try {
      for (let r = this.#wanted; r && !this.#disposed; r = this.#wanted) {
        this.#wanted = undefined;
        const started = performance.now();
        try {
          const read = await this.#read(r);
          if (this.#disposed) return;
          this.current = read;
          this.error = undefined;
        } catch (e) {
          if (this.#disposed) return;
          this.error = (e as Error).message ?? String(e);
        }
        const wait = intervalMs - (performance.now() - started);
        if (this.#wanted && wait > 0) await new Promise((resume) => setTimeout(resume, wait));
      }
    } finally {
      this.#busy = false;
    }
  }

  #read(request: TokenRequest): Promise<TokenWeights | undefined> {
    return withRunCaptures(this.#run, async (captures) => {
      const device = studioGpu(this.#studio).device();
      if (!captures || !device) return undefined;
      const T = captures.result.tokens.length;
      const { layer, token } = request;
      if (!(token >= 0 && token < T)) return undefined;
      const texture = captures.session.patternTexture(layer);
      const format = texture.format as CaptureFormat;
      const bytes = captureBytesPerValue[format];
      const H = texture.depthOrArrayLayers;
      const texels = Math.ceil(T / 4);
      const rowBytes = Math.ceil((texels * 4 * bytes) / 256) * 256;
      const below = T - token; // queries token … T−1
      const columnAt = rowBytes * H;
      const staging = device.createBuffer({
        label: `${texture.label}.token_readback`,
        size: columnAt + 256 * below * H,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      try {
        const encoder = device.createCommandEncoder({ label: 'text-view.readback' });
        encoder.copyTextureToBuffer(
          { texture, origin: [0, token, 0] },
          { buffer: staging, bytesPerRow: rowBytes, rowsPerImage: 1 },
          [texels, 1, H],
        );
        encoder.copyTextureToBuffer(
          { texture, origin: [Math.floor(token / 4), token, 0] },
          { buffer: staging, offset: columnAt, bytesPerRow: 256, rowsPerImage: below },
          [1, below, H],
        );
        device.queue.submit([encoder.finish()]);
        await staging.mapAsync(GPUMapMode.READ);
        this.reads++;
        const raw = staging.getMappedRange();
        const value = (at: number) => {
          const stored =
            format === 'rgba32float'
              ? new Float32Array(raw, at, 1)[0]!
              : format === 'rgba16float'
                ? f16ToF32(new Uint16Array(raw, at, 1)[0]!)
                : new Uint8Array(raw, at, 1)[0]! / 255;
          return decodeCapture(format, stored);
        };
        const row: Float32Array[] = [];
        const column: Float32Array[] = [];
        for (let h = 0; h < H; h++) {
          const r = new Float32Array(T);
          for (let s = 0; s <= token; s++) r[s] = value(h * rowBytes + s * bytes);
          row.push(r);
          const c = new Float32Array(T);
          const component = (token % 4) * bytes;
          for (let t = token; t < T; t++)
            c[t] = value(columnAt + (h * below + (t - token)) * 256 + component);
          column.push(c);
        }
        return { layer, token, rows: T, seq: captures.seq, format, row, column };
      } finally {
        staging.destroy();
      }
    });
  }

  dispose(): void {
    this.#disposed = true;
    this.#wanted = undefined;
  }
}

/** The `n` largest weights of `weights` (index and value), largest first. */
export function topWeights(weights: ArrayLike<number>, n: number): { index: number; weight: number }[] {
  const all = Array.from({ length: weights.length }, (_, index) => ({ index, weight: weights[index]! }));
  return all.sort((a, b) => b.weight - a.weight || a.index - b.index).slice(0, n);
}
