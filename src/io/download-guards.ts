// The guards of one download (src/io/download.ts): the stall watch that drops a connection which
// delivers nothing for a while, the streaming SHA-256 that survives resumes, and the retry wait.

import { createSHA256, type IHasher } from 'hash-wasm';
import type { ByteSink } from './download-sink';

/**
 * A SHA-256 of what the sink holds so far: hash-wasm keeps its state between chunks (WebCrypto
 * cannot hash a stream). An earlier run's partial file is read back and hashed once; a sink that
 * cannot read back is restarted.
 */
export async function startHash(sink: ByteSink): Promise<IHasher> {
  const hash = await createSHA256();
  hash.init();
  if (sink.size === 0) return hash;
  if (!sink.readBack) {
    await sink.reset();
    return hash;
  }
  let read = 0;
  for await (const chunk of sink.readBack()) {
    hash.update(chunk);
    read += chunk.byteLength;
  }
  if (read !== sink.size) {
    await sink.reset();
    hash.init();
  }
  return hash;
}

/**
 * The stall watch of one attempt: its signal aborts the request when no byte arrived for `ms`
 * (or when the caller's signal aborts). `progress()` restarts the clock.
 */
export class Stall {
  readonly #controller = new AbortController();
  readonly #ms: number;
  readonly #outer: AbortSignal | undefined;
  readonly #onAbort = (): void => this.#controller.abort(this.#outer?.reason);
  #timer: ReturnType<typeof setTimeout> | undefined;
  stalled = false;

  constructor(ms: number, outer: AbortSignal | undefined) {
    this.#ms = ms;
    this.#outer = outer;
    outer?.addEventListener('abort', this.#onAbort, { once: true });
    this.progress();
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  progress(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.stalled = true;
      this.#controller.abort(new Error(`no data arrived for ${this.#ms / 1000} s`));
    }, this.#ms);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#outer?.removeEventListener('abort', this.#onAbort);
  }
}

export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
