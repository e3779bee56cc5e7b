// A real HTTP server for download tests: serves a folder on 127.0.0.1 (lay files out like the hub,
// `<root>/<owner>/<name>/resolve/main/<file>`, or like static/), with Content-Length, Accept-Ranges
// and Range → 206, logs every request, and misbehaves on demand, per path, like a real network does.
// As the hub does, it states each file's size and hash: `.safetensors` files are LFS files
// (X-Linked-Size, X-Linked-Etag and ETag: the sha256), others carry a git blob id as ETag; and
// `/api/models/<owner>/<name>/revision/<rev>?blobs=true` lists them (size, lfs.sha256).

import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
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
  | { kind: 'html' }
  /** Accept the request and never answer: a stall before the headers. */
  | { kind: 'stall-headers' }
  /** Send the headers and this many bytes of the body, then nothing, with the connection open. */
  | { kind: 'stall'; afterBytes: number }
  /** Announce and send only this many bytes with status 200: a body that looks whole but is short. */
  | { kind: 'short-length'; bytes: number }
  /** A close-delimited body (no Content-Length, no chunks) cut after this many bytes by a close. */
  | { kind: 'close-cut'; afterBytes: number }
  /** One byte of the body flipped in transit: what the hub states stays the true file's. */
  | { kind: 'corrupt' };

/** Faults of a GET: a HEAD request neither sees nor uses them up. */
const bodyFaults = new Set<Fault['kind']>(['stall-headers', 'stall', 'short-length', 'close-cut', 'corrupt']);

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
  /**
   * As the hub does for LFS files: `/…/resolve/…/*.safetensors` answers 302 to `/cdn/…` with
   * X-Linked-Size and X-Linked-Etag on the redirect only; `/cdn/…` serves the bytes.
   */
  redirectLfs = false;
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
    const faults = this.#take(path, method);
    const log = (status: number): void => {
      this.requests.push({ method, path, range, status });
    };
    const fault = <K extends Fault['kind']>(kind: K): Extract<Fault, { kind: K }> | undefined =>
      faults.find((f): f is Extract<Fault, { kind: K }> => f.kind === kind);

    // As the hub does: any page may fetch the files, read their sizes and ask for ranges.
    response.setHeader('Access-Control-Allow-Origin', '*');
    response.setHeader(
      'Access-Control-Expose-Headers',
      'Content-Length, Content-Range, Accept-Ranges, ETag, X-Linked-Size, X-Linked-Etag',
    );
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
    if (fault('stall-headers')) {
      log(0);
      await new Promise((closed) => response.on('close', closed));
      return;
    }
    const api = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(path);
    if (api) return this.#listing(api[1]!, api[2]!, response, log);
    if (
      this.redirectLfs &&
      path.startsWith('/cdn/') === false &&
      path.includes('/resolve/') &&
      path.endsWith('.safetensors')
    ) {
      const target = resolve(this.#root, `.${path}`);
      const bytes = await readFile(target).catch(() => undefined);
      if (!bytes) return empty(404);
      return empty(302, { Location: `/cdn${path}`, ...hashHeaders(path, bytes) });
    }
    const cdn = path.startsWith('/cdn/');
    const file = resolve(this.#root, `.${cdn ? path.slice(4) : path}`);
    const isFile = file.startsWith(this.#root + sep) && (await stat(file).catch(() => undefined))?.isFile();
    if (!isFile) return empty(404);

    const bytes = await readFile(file);
    const size = bytes.byteLength;
    const extension = path.split('.').pop() ?? '';
    const headers: Record<string, string> = {
      'Accept-Ranges': 'bytes',
      'Content-Type': contentTypes[extension] ?? 'application/octet-stream',
      ...(cdn ? {} : hashHeaders(path, bytes)),
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
    let body: Uint8Array = bytes.subarray(start);
    const short = fault('short-length');
    if (short) {
      statusCode = 200;
      delete headers['Content-Range'];
      body = bytes.subarray(0, short.bytes);
    }
    if (fault('corrupt') && body.byteLength > 0) {
      body = Uint8Array.from(body);
      body[body.byteLength >> 1]! ^= 0xff;
    }
    const cut = fault('close-cut');
    if (cut && method === 'GET') {
      // Written by hand: Node's server would add chunked encoding or a length.
      log(200);
      const socket = response.socket!;
      socket.write(
        `HTTP/1.1 200 OK\r\nContent-Type: ${headers['Content-Type']}\r\nConnection: close\r\n` +
          `Access-Control-Allow-Origin: *\r\n\r\n`,
      );
      socket.end(bytes.subarray(0, cut.afterBytes));
      return;
    }
    if (!fault('no-length')) headers['Content-Length'] = String(body.byteLength);
    log(statusCode);
    response.writeHead(statusCode, headers);
    if (method === 'HEAD') {
      response.end();
      return;
    }

    const drop = fault('drop');
    const slow = fault('slow');
    const stall = fault('stall');
    const end = drop
      ? Math.min(drop.afterBytes, body.byteLength)
      : stall
        ? Math.min(stall.afterBytes, body.byteLength)
        : body.byteLength;
    const step = slow?.chunkBytes ?? 64 * 1024;
    for (let at = 0; at < end && !response.destroyed; at += step) {
      await new Promise((written) => response.write(body.subarray(at, Math.min(at + step, end)), written));
      if (slow) await new Promise((resume) => setTimeout(resume, slow.delayMs));
    }
    if (stall) await new Promise((closed) => response.on('close', closed));
    else if (drop) response.socket?.destroy();
    else if (!response.destroyed) response.end();
  }

  /** The hub's model API listing of one repository's files at a revision. */
  async #listing(
    repo: string,
    revision: string,
    response: ServerResponse,
    log: (status: number) => void,
  ): Promise<void> {
    const dir = join(this.#root, repo, 'resolve', revision);
    const names = await readdir(dir).catch(() => undefined);
    if (!names) {
      log(404);
      response.writeHead(404).end();
      return;
    }
    const siblings = [];
    for (const name of names.sort()) {
      const bytes = await readFile(join(dir, name));
      const lfs = name.endsWith('.safetensors');
      siblings.push({
        rfilename: name,
        size: bytes.byteLength,
        blobId: gitBlobId(bytes),
        ...(lfs ? { lfs: { sha256: sha256Hex(bytes), size: bytes.byteLength, pointerSize: 134 } } : {}),
      });
    }
    log(200);
    response
      .writeHead(200, { 'Content-Type': 'application/json' })
      .end(JSON.stringify({ id: repo, siblings }));
  }

  /** The faults that apply to this request, each used up once. */
  #take(path: string, method: string): Fault[] {
    const active = (this.#faults.get(path) ?? []).filter(
      (entry) => entry.remaining > 0 && !(method === 'HEAD' && bodyFaults.has(entry.fault.kind)),
    );
    for (const entry of active) entry.remaining--;
    return active.map((entry) => entry.fault);
  }
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Git's id of a blob: SHA-1 of `blob <size>\0` and the bytes (40 hex), what the hub sends as ETag. */
function gitBlobId(bytes: Uint8Array): string {
  return createHash('sha1').update(`blob ${bytes.byteLength}\0`).update(bytes).digest('hex');
}

/** The hub's statement of a file: LFS files (`.safetensors`) by sha256, others by git blob id. */
function hashHeaders(path: string, bytes: Uint8Array): Record<string, string> {
  if (!path.endsWith('.safetensors')) return { ETag: `"${gitBlobId(bytes)}"` };
  const sha = sha256Hex(bytes);
  return { ETag: `"${sha}"`, 'X-Linked-Size': String(bytes.byteLength), 'X-Linked-Etag': `"${sha}"` };
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
