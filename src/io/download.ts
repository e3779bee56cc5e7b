// HTTP downloads for model files: streamed progress, cancellation, and resumption with Range requests
// after a dropped connection. A GPT-2 checkpoint is 0.3 to 6.4 GB, so a connection that drops at 80%
// must not cost the first 80% again. A connection that delivers nothing for a while (a stall) is
// dropped and resumed the same way. A file is whole only when its size is the one stated (by the
// hub where it says, else by the response), and, where the hub states a SHA-256, when the bytes
// hash to it: hashed as they stream, never read a second time. Uses only fetch and streams: runs in
// the browser and in Node.

import { ModelError } from '../model/errors';
import { sleep, Stall, startHash } from './download-guards';
import type { ByteSink } from './download-sink';

export type { ByteSink } from './download-sink';

export interface DownloadProgress {
  /** The file's name, the last component of its URL (e.g. `model.safetensors`). */
  readonly file: string;
  /** Bytes held so far, including those kept from an earlier attempt or run. */
  readonly loaded: number;
  /** The file's size, from Content-Length or Content-Range; undefined when the server does not say. */
  readonly total: number | undefined;
  /** 100 · loaded / total, undefined with total. */
  readonly percent: number | undefined;
  /** True when the file came from the cache without a request. */
  readonly cached: boolean;
}

export interface DownloadOptions {
  signal?: AbortSignal;
  /** Called once the response starts and after every chunk received (throttle drawing, not here). */
  onProgress?: (progress: DownloadProgress) => void;
  /** Requests per file before giving up (default 5). */
  maxAttempts?: number;
  /** Wait before the first retry, doubled before each further one (default 500 ms). */
  retryDelayMs?: number;
  /**
   * A response that delivers no byte (headers or body) for this long is dropped and asked again
   * from where it stopped, as a dropped connection is; it counts as an attempt (default 30 s).
   */
  stallTimeoutMs?: number;
}

/** What the hub states about a file before it is downloaded (src/io/hub-metadata.ts). */
export interface ExpectedFile {
  /** Bytes of the whole file. */
  readonly size?: number;
  /** SHA-256 of the whole file, 64 lowercase hex digits (LFS files). */
  readonly sha256?: string;
}

export const defaultStallTimeoutMs = 30_000;

/** Who answers, for messages: 'the hub' or 'the server'. */
export type Site = 'the hub' | 'the server';

/** The server answered with an error status. `reason` is the message without the URL in front. */
export class HttpStatusError extends ModelError {
  readonly reason: string;
  constructor(
    readonly url: string,
    readonly status: number,
    statusText: string,
    site: Site,
  ) {
    const reason = `HTTP ${status}${statusText ? ` ${statusText}` : ''}: ${explainStatus(status, site)}`;
    super('network', url, reason);
    this.reason = reason;
  }

  /** Server failures and rate limits pass; a missing file or a refusal does not. */
  get retryable(): boolean {
    return this.status >= 500 || this.status === 408 || this.status === 429;
  }
}

export function isNotFound(error: unknown): error is HttpStatusError {
  return error instanceof HttpStatusError && error.status === 404;
}

function explainStatus(status: number, site: Site): string {
  if (status === 404) return `no such model or file on ${site}`;
  if (status === 401 || status === 403) {
    return `${site} refused access (a private or gated model, or no such model)`;
  }
  if (status === 429) return `too many requests to ${site}; try again later`;
  if (status >= 500) return `${site} failed; try again later`;
  return `unexpected answer from ${site}`;
}

/** The last component of a URL's path, as the user knows the file. */
export function fileNameOf(url: string): string {
  return decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
}

/**
 * Downloads `url` into `sink`, continuing after the bytes the sink already holds. A dropped connection,
 * a stall or a body shorter than stated is retried with `Range: bytes=<held>-`; a server that answers
 * the Range with the whole file (200) restarts the sink. The size (`expected.size`, else the one the
 * server announces) and, with `expected.sha256`, the SHA-256 are verified before it resolves; a
 * mismatching hash empties the sink and rejects with a 'corrupt' ModelError.
 */
export async function download(
  url: string,
  sink: ByteSink,
  options: DownloadOptions & { site?: Site; expected?: ExpectedFile } = {},
): Promise<void> {
  const { signal, onProgress, maxAttempts = 5, retryDelayMs = 500, site = 'the server' } = options;
  const { stallTimeoutMs = defaultStallTimeoutMs, expected = {} } = options;
  const file = fileNameOf(url);
  let total: number | undefined = expected.size;
  const hash = expected.sha256 === undefined ? undefined : await startHash(sink);

  const report = (): void => {
    const percent = total === undefined ? undefined : total === 0 ? 100 : (100 * sink.size) / total;
    onProgress?.({ file, loaded: sink.size, total, percent, cached: false });
  };
  const reset = async (): Promise<void> => {
    await sink.reset();
    hash?.init();
  };

  const attempt = async (stall: Stall): Promise<void> => {
    const from = sink.size;
    const response = await fetch(url, {
      signal: stall.signal,
      headers: from > 0 ? { Range: `bytes=${from}-` } : {},
    });
    stall.progress();
    if (response.status === 416 && from > 0) {
      // The range starts at the end: an earlier run received every byte but stopped before the
      // entry was marked complete.
      await response.body?.cancel();
      const size = parseContentRange(response.headers.get('content-range'))?.size;
      if (size === from && (expected.size === undefined || expected.size === from)) {
        total = size;
        report();
        return;
      }
      await reset();
      throw new Interrupted(`the server has ${size ?? 'an unknown number of'} bytes, fewer than held`);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new HttpStatusError(url, response.status, response.statusText, site);
    }
    rejectHtmlFallback(url, response, site);
    const length = contentLength(response);
    let announced: number | undefined;
    if (response.status === 206) {
      // Content-Range may be hidden by CORS; then trust the 206 and the length of the rest.
      const range = parseContentRange(response.headers.get('content-range'));
      if (range && range.start !== from) {
        await response.body?.cancel();
        await reset();
        throw new Interrupted(`asked for bytes from ${from}, the server sent bytes from ${range.start}`);
      }
      announced = range?.size ?? (length === undefined ? undefined : from + length);
    } else {
      if (from > 0) await reset(); // 200 to a Range request: the whole file follows
      announced = length;
    }
    // The hub's statement wins over the response's: a short Content-Length is not a whole file.
    total = expected.size ?? announced;
    report();
    if (response.body) {
      const reader = response.body.getReader();
      try {
        for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
          stall.progress();
          if (expected.size !== undefined && sink.size + chunk.value.byteLength > expected.size) {
            await reset();
            throw new ModelError(
              'corrupt',
              url,
              `${site} sent more than the ${expected.size} bytes it states for ${file}; nothing was kept`,
            );
          }
          hash?.update(chunk.value);
          await sink.write(chunk.value);
          report();
        }
      } catch (error) {
        await reader.cancel().catch(() => undefined);
        throw error;
      }
    }
    if (total !== undefined && sink.size !== total) {
      throw new Interrupted(`the body ended after ${sink.size} of ${total} bytes`);
    }
  };

  for (let attempts = 1; ; attempts++) {
    const stall = new Stall(stallTimeoutMs, signal);
    try {
      if (signal?.aborted) throw signal.reason;
      await attempt(stall);
      break;
    } catch (caught) {
      const error = stall.stalled
        ? new Interrupted(`no data arrived for ${stallTimeoutMs / 1000} s`)
        : caught;
      if (signal?.aborted) throw cancelled(url, sink.size, total, error);
      if (!isRetryable(error)) throw error;
      if (attempts >= maxAttempts) {
        throw new ModelError(
          'network',
          url,
          `download failed ${attempts} times, ${sink.size} of ${total ?? 'an unknown number of'} bytes arrived ` +
            `(last: ${reasonOf(error)})`,
          { cause: error },
        );
      }
      try {
        await sleep(retryDelayMs * 2 ** (attempts - 1), signal);
      } catch (reason) {
        throw cancelled(url, sink.size, total, reason);
      }
    } finally {
      stall.stop();
    }
  }
  if (hash && expected.sha256 !== undefined) {
    const digest = hash.digest('hex');
    if (digest !== expected.sha256) {
      await sink.reset();
      throw new ModelError(
        'corrupt',
        url,
        `the bytes received hash to SHA-256 ${digest}, not the ${expected.sha256} ` +
          `${site} states: the file arrived damaged and nothing of it was kept`,
      );
    }
  }
}

/** A response that ended or started where it should not: worth asking again. */
class Interrupted extends Error {}

/** Network failures (fetch rejects with TypeError), cut-off bodies and server-side HTTP errors pass. */
function isRetryable(error: unknown): boolean {
  if (error instanceof HttpStatusError) return error.retryable;
  return error instanceof Interrupted || error instanceof TypeError;
}

function reasonOf(error: unknown): string {
  if (error instanceof HttpStatusError) return error.reason;
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message;
}

function cancelled(url: string, loaded: number, total: number | undefined, cause: unknown): ModelError {
  const of = total === undefined ? '' : ` of ${total}`;
  return new ModelError('aborted', url, `download cancelled after ${loaded}${of} bytes`, { cause });
}

/** Content-Length, unless a Content-Encoding makes it the compressed size while the body is decoded. */
function contentLength(response: Response): number | undefined {
  const encoding = response.headers.get('content-encoding');
  if (encoding && encoding !== 'identity') return undefined;
  const header = response.headers.get('content-length');
  return header && /^\d+$/.test(header) ? Number(header) : undefined;
}

// `bytes 100-199/1000` → {start: 100, size: 1000}; `bytes */1000` (with a 416) → {size: 1000}.
function parseContentRange(
  header: string | null,
): { start: number | undefined; size: number | undefined } | undefined {
  const match = header?.match(/^bytes (?:(\d+)-\d+|\*)\/(\d+|\*)$/);
  if (!match) return undefined;
  const [, start, size] = match;
  return {
    start: start === undefined ? undefined : Number(start),
    size: size === undefined || size === '*' ? undefined : Number(size),
  };
}

/**
 * A development server with a single-page-app fallback (Vite's) answers a missing file with its
 * index.html and status 200. Model files are never HTML, so that answer means "not found".
 */
function rejectHtmlFallback(url: string, response: Response, site: Site): void {
  const type = response.headers.get('content-type') ?? '';
  if (type.startsWith('text/html') && !/\.html?$/.test(new URL(url).pathname)) {
    void response.body?.cancel();
    throw new HttpStatusError(url, 404, 'Not Found (an HTML page came instead of the file)', site);
  }
}

/** Chunks kept in memory, handed out as a Blob: no single buffer as large as the file is needed. */
export class MemorySink implements ByteSink {
  #chunks: Uint8Array<ArrayBuffer>[] = [];
  #size = 0;

  get size(): number {
    return this.#size;
  }

  write(chunk: Uint8Array<ArrayBuffer>): Promise<void> {
    this.#chunks.push(chunk);
    this.#size += chunk.byteLength;
    return Promise.resolve();
  }

  reset(): Promise<void> {
    this.#chunks = [];
    this.#size = 0;
    return Promise.resolve();
  }

  async *readBack(): AsyncGenerator<Uint8Array> {
    yield* this.#chunks;
  }

  blob(): Blob {
    return new Blob(this.#chunks);
  }
}

/** True when a HEAD request for `url` succeeds: used to tell which files a repository has. */
export async function exists(
  url: string,
  signal?: AbortSignal,
  timeoutMs = defaultStallTimeoutMs,
): Promise<boolean> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const response = await fetch(url, {
    method: 'HEAD',
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  });
  return response.ok && !(response.headers.get('content-type') ?? '').startsWith('text/html');
}
