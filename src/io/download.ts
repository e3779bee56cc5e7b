// HTTP downloads for model files: streamed progress, cancellation, and resumption with Range requests
// after a dropped connection. A GPT-2 checkpoint is 0.3 to 6.4 GB, so a connection that drops at 80%
// must not cost the first 80% again. Uses only fetch and streams: runs in the browser and in Node.

import { ModelError } from '../model/errors';

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
}

/** Where a download's bytes go: memory, or a cache entry that may hold the start of the file already. */
export interface ByteSink {
  /** Bytes held so far: the download asks for the rest. */
  readonly size: number;
  write(chunk: Uint8Array<ArrayBuffer>): Promise<void>;
  /** Drops everything held: the server is sending the file again from its first byte. */
  reset(): Promise<void>;
}

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
 * Downloads `url` into `sink`, continuing after the bytes the sink already holds. A dropped connection
 * or a body shorter than announced is retried with `Range: bytes=<held>-`; a server that answers the
 * Range with the whole file (200) restarts the sink. The size announced by the server is verified.
 */
export async function download(
  url: string,
  sink: ByteSink,
  options: DownloadOptions & { site?: Site } = {},
): Promise<void> {
  const { signal, onProgress, maxAttempts = 5, retryDelayMs = 500, site = 'the server' } = options;
  const file = fileNameOf(url);
  let total: number | undefined;

  const report = (): void => {
    const percent = total === undefined ? undefined : total === 0 ? 100 : (100 * sink.size) / total;
    onProgress?.({ file, loaded: sink.size, total, percent, cached: false });
  };

  const attempt = async (): Promise<void> => {
    const from = sink.size;
    const response = await fetch(url, { signal, headers: from > 0 ? { Range: `bytes=${from}-` } : {} });
    if (response.status === 416 && from > 0) {
      // The range starts at the end: an earlier run received every byte but stopped before the
      // entry was marked complete.
      await response.body?.cancel();
      const size = parseContentRange(response.headers.get('content-range'))?.size;
      if (size === from) {
        total = size;
        report();
        return;
      }
      await sink.reset();
      throw new Interrupted(`the server has ${size ?? 'an unknown number of'} bytes, fewer than held`);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new HttpStatusError(url, response.status, response.statusText, site);
    }
    rejectHtmlFallback(url, response, site);
    const length = contentLength(response);
    if (response.status === 206) {
      // Content-Range may be hidden by CORS; then trust the 206 and the length of the rest.
      const range = parseContentRange(response.headers.get('content-range'));
      if (range && range.start !== from) {
        await response.body?.cancel();
        await sink.reset();
        throw new Interrupted(`asked for bytes from ${from}, the server sent bytes from ${range.start}`);
      }
      total = range?.size ?? (length === undefined ? undefined : from + length);
    } else {
      if (from > 0) await sink.reset(); // 200 to a Range request: the whole file follows
      total = length;
    }
    report();
    if (response.body) {
      const reader = response.body.getReader();
      try {
        for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
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
    try {
      if (signal?.aborted) throw signal.reason;
      await attempt();
      return;
    } catch (error) {
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

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
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

  blob(): Blob {
    return new Blob(this.#chunks);
  }
}

/** True when a HEAD request for `url` succeeds: used to tell which files a repository has. */
export async function exists(url: string, signal?: AbortSignal): Promise<boolean> {
  const response = await fetch(url, { method: 'HEAD', signal });
  return response.ok && !(response.headers.get('content-type') ?? '').startsWith('text/html');
}
