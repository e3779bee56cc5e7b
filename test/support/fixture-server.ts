// A real HTTP server for download tests: serves a folder on 127.0.0.1 (lay files out like the hub,
// `<root>/<owner>/<name>/resolve/main/<file>`, or like static/), with Content-Length, Accept-Ranges
// and Range → 206, logs every request, and misbehaves on demand, per path, like a real network does.

import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve, sep } from 'node:path';

export type Fault =
  /** Answer with this status and no file. */
  | { kind: 'status'; status: number }
  /** Send this many bytes of the body, then destroy the socket. */
  | { kind: 'drop'; afterBytes: number }
  /** Answer a Range request with 200 and the whole file. */
  | { kind: 'ignore-range' }
  /** Answer a Range request with a 206 that starts at byte 0, not where asked. */
  | { kind: 'wrong-range' }
  /** Send the body in chunks with a pause after each. */
  | { kind: 'slow'; chunkBytes: number; delayMs: number }
  /** Send no Content-Length (chunked transfer encoding). */
  | { kind: 'no-length' }
  /** Answer 200 with an HTML page, as a single-page-app dev server does for a missing file. */
  | { kind: 'html' };

export interface LoggedRequest {
  readonly method: string;
  readonly path: string;
  readonly range: string | undefined;
  readonly status: number;
}

interface ActiveFault {
  readonly fault: Fault;
  remaining: number;
}

const contentTypes: Record<string, string> = { json: 'application/json', txt: 'text/plain; charset=utf-8' };

export class FixtureServer {
  readonly requests: LoggedRequest[] = [];
  readonly #server: Server;
  readonly #root: string;
  readonly #faults = new Map<string, ActiveFault[]>();

  private constructor(server: Server, root: string) {
    this.#server = server;
    this.#root = root;
  }

  static async start(root: string): Promise<FixtureServer> {
    const server = createServer();
    const fixture = new FixtureServer(server, resolve(root));
    server.on('request', (request: IncomingMessage, response: ServerResponse) => {
      fixture.#handle(request, response).catch((error: unknown) => {
        response.destroy(error instanceof Error ? error : new Error(String(error)));
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    return fixture;
  }

  /** http://127.0.0.1:<port>, no trailing slash. */
  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Applies `fault` to the next `times` requests for `path` (every one by default). */
  fail(path: string, fault: Fault, times = Infinity): void {
    const faults = this.#faults.get(path) ?? [];
    faults.push({ fault, remaining: times });
    this.#faults.set(path, faults);
  }

  /** Requests for `path`, in order. */
  requestsFor(path: string): LoggedRequest[] {
    return this.requests.filter((request) => request.path === path);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((done, fail) => this.#server.close((error) => (error ? fail(error) : done())));
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    const method = request.method ?? 'GET';
    const range = request.headers.range;
    const faults = this.#take(path);
    const log = (status: number): void => {
      this.requests.push({ method, path, range, status });
    };
    const fault = <K extends Fault['kind']>(kind: K): Extract<Fault, { kind: K }> | undefined =>
      faults.find((f): f is Extract<Fault, { kind: K }> => f.kind === kind);

    // As the hub does: any page may fetch the files, read their sizes and ask for ranges.
    response.setHeader('Access-Control-Allow-Origin', '*');
    response.setHeader('Access-Control-Expose-Headers', 'Content-Length, Content-Range, Accept-Ranges');
    const empty = (status: number, headers: Record<string, string> = {}): void => {
      log(status);
      response.writeHead(status, headers).end();
    };
    if (method === 'OPTIONS') {
      return empty(204, {
        'Access-Control-Allow-Headers': 'Range',
        'Access-Control-Allow-Methods': 'GET, HEAD',
      });
    }
    const status = fault('status');
    if (status) return empty(status.status);
    if (fault('html')) {
      log(200);
      response.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>app</title>');
      return;
    }
    if (method !== 'GET' && method !== 'HEAD') return empty(405);
    const file = resolve(this.#root, `.${path}`);
    const isFile = file.startsWith(this.#root + sep) && (await stat(file).catch(() => undefined))?.isFile();
    if (!isFile) return empty(404);

    const bytes = await readFile(file);
    const size = bytes.byteLength;
    const extension = path.split('.').pop() ?? '';
    const headers: Record<string, string> = {
      'Accept-Ranges': 'bytes',
      'Content-Type': contentTypes[extension] ?? 'application/octet-stream',
    };
    let start = 0;
    let statusCode = 200;
    const ranged = range === undefined || fault('ignore-range') ? undefined : /^bytes=(\d+)-$/.exec(range);
    if (ranged) {
      start = Number(ranged[1]);
      if (start >= size) return empty(416, { 'Content-Range': `bytes */${size}` });
      if (fault('wrong-range')) start = 0;
      statusCode = 206;
      headers['Content-Range'] = `bytes ${start}-${size - 1}/${size}`;
    }
    const body = bytes.subarray(start);
    if (!fault('no-length')) headers['Content-Length'] = String(body.byteLength);
    log(statusCode);
    response.writeHead(statusCode, headers);
    if (method === 'HEAD') {
      response.end();
      return;
    }

    const drop = fault('drop');
    const slow = fault('slow');
    const end = drop ? Math.min(drop.afterBytes, body.byteLength) : body.byteLength;
    const step = slow?.chunkBytes ?? 64 * 1024;
    for (let at = 0; at < end && !response.destroyed; at += step) {
      await new Promise((written) => response.write(body.subarray(at, Math.min(at + step, end)), written));
      if (slow) await new Promise((resume) => setTimeout(resume, slow.delayMs));
    }
    if (drop) response.socket?.destroy();
    else if (!response.destroyed) response.end();
  }

  /** The faults that apply to this request, each used up once. */
  #take(path: string): Fault[] {
    const active = (this.#faults.get(path) ?? []).filter((entry) => entry.remaining > 0);
    for (const entry of active) entry.remaining--;
    return active.map((entry) => entry.fault);
  }
}

/** Writes `files` as the hub would serve them for `repo` at revision main; returns the URL paths. */
export async function writeHubRepo(
  root: string,
  repo: string,
  files: Record<string, Uint8Array | string>,
): Promise<Record<string, string>> {
  const paths: Record<string, string> = {};
  for (const [name, content] of Object.entries(files)) {
    const path = `/${repo}/resolve/main/${name}`;
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), content);
    paths[name] = path;
  }
  return paths;
}

/** A small model's files: the contents are arbitrary, the tests compare bytes. */
export function modelFiles(checkpointBytes: number): Record<string, Uint8Array<ArrayBuffer> | string> {
  return {
    'config.json': JSON.stringify({ model_type: 'gpt2', n_layer: 2, n_head: 2, n_embd: 8 }),
    'tokenizer.json': JSON.stringify({ model: { type: 'BPE', vocab: { a: 0 }, merges: [] } }),
    'model.safetensors': new Uint8Array(randomBytes(checkpointBytes)),
  };
}
