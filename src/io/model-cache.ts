// Model files kept between visits, so that a second load needs no network. Entries are written in
// chunks as they arrive and an unfinished one is kept, so a download resumes where an earlier run
// stopped. The browser implementation (origin private file system) lives here; the Node one, a cache
// folder, in src/cli/node-cache.ts. No Node APIs in this file.

import { blobSource, type ByteSource } from '../model/byte-source';
import {
  download,
  fileNameOf,
  type ByteSink,
  type DownloadOptions,
  type ExpectedFile,
  type Site,
} from './download';
import { createSHA256 } from 'hash-wasm';

export interface CacheEntry {
  readonly key: string;
  /** Bytes stored: the whole file when complete, what has arrived so far when not. */
  readonly size: number;
  readonly complete: boolean;
}

/** Appends to an unfinished entry; one per download attempt. */
export interface CacheWriter extends ByteSink {
  /** Keeps what was written as an unfinished entry (removed if empty) and releases the writer. */
  close(): Promise<void>;
  /** Marks the entry complete and returns it. */
  commit(): Promise<ByteSource>;
}

export interface ModelCache {
  /** The complete entry, or undefined. */
  get(key: string): Promise<ByteSource | undefined>;
  /** Bytes of an unfinished entry kept from an earlier attempt or run; 0 when there is none. */
  partial(key: string): Promise<number>;
  /** Opens the unfinished entry for appending, creating it if there is none. */
  append(key: string): Promise<CacheWriter>;
  /** Removes the entry, complete or not. */
  delete(key: string): Promise<void>;
  /**
   * What a complete entry was verified against (`sha256 <hex>` or `size <bytes>`), recorded by
   * markVerified; undefined when it never was. Lets a load skip re-hashing gigabytes.
   */
  verified(key: string): Promise<string | undefined>;
  markVerified(key: string, record: string): Promise<void>;
  list(): Promise<CacheEntry[]>;
}

/**
 * The cache key of a URL: host and path, e.g.
 * `huggingface.co/openai-community/gpt2/resolve/main/model.safetensors`. The revision is part of the
 * path, so two revisions of a model are two entries. Keys are `/`-separated names safe as file names.
 */
export function cacheKey(url: string): string {
  const { host, pathname } = new URL(url);
  return [host.replace(':', '_'), ...pathname.split('/').filter((part) => part !== '')].join('/');
}

/** The parts of a key, checked so that no implementation writes outside its folder. */
export function keyParts(key: string): string[] {
  const parts = key.split('/');
  if (parts.some((part) => part === '' || part === '.' || part === '..' || part.includes('\\'))) {
    throw new RangeError(`cache key ${JSON.stringify(key)}: empty, '.' or '..' parts are not allowed`);
  }
  return parts;
}

/**
 * Returns the cached entry for `key`, or downloads `url` into the cache first (resuming an unfinished
 * entry). What arrived stays in the cache when the download fails or is cancelled. With `expected`
 * (what the hub states, asked only when needed), the download is verified, and so is a complete
 * entry that never was: one whose size or SHA-256 disagrees is fetched again, not loaded.
 */
export async function fetchCached(
  url: string,
  key: string,
  cache: ModelCache,
  options: DownloadOptions & { site?: Site; expected?: () => Promise<ExpectedFile | undefined> } = {},
): Promise<ByteSource> {
  const hit = await cache.get(key);
  if (hit) {
    const good = !options.expected || (await checkEntry(cache, key, hit, options.expected));
    if (good) {
      options.onProgress?.({
        file: fileNameOf(url),
        loaded: hit.size,
        total: hit.size,
        percent: 100,
        cached: true,
      });
      return hit;
    }
    await cache.delete(key);
  }
  const expected = await options.expected?.();
  const writer = await cache.append(key);
  try {
    await download(url, writer, { ...options, expected });
  } catch (error) {
    await writer.close();
    throw error;
  }
  const source = await writer.commit();
  const record = verificationRecord(expected);
  if (record) await cache.markVerified(key, record);
  return source;
}

function verificationRecord(expected: ExpectedFile | undefined): string | undefined {
  if (expected?.sha256 !== undefined) return `sha256 ${expected.sha256}`;
  return expected?.size === undefined ? undefined : `size ${expected.size}`;
}

/**
 * A complete entry against what the hub states: true when it matches (recorded, so the next load
 * skips this) or when the hub says nothing; false when it is not the file the hub has.
 */
async function checkEntry(
  cache: ModelCache,
  key: string,
  entry: ByteSource,
  expectedOf: () => Promise<ExpectedFile | undefined>,
): Promise<boolean> {
  if ((await cache.verified(key)) !== undefined) return true;
  const expected = await expectedOf();
  const record = verificationRecord(expected);
  if (!record) return true;
  if (expected?.size !== undefined && entry.size !== expected.size) return false;
  if (expected?.sha256 !== undefined && (await sha256Of(entry)) !== expected.sha256) return false;
  await cache.markVerified(key, record);
  return true;
}

/** SHA-256 of a source read in 16 MiB pieces: one piece in memory at a time. */
export async function sha256Of(source: ByteSource): Promise<string> {
  const hash = await createSHA256();
  hash.init();
  const piece = 16 * 2 ** 20;
  for (let at = 0; at < source.size; at += piece) {
    hash.update(await source.read(at, Math.min(piece, source.size - at)));
  }
  return hash.digest('hex');
}

/**
 * The origin private file system cache, or undefined where the browser lacks it (or lacks
 * createWritable, as Safari before 26 outside workers): models then load without a cache.
 */
export async function openBrowserCache(folder = 'strata-models'): Promise<ModelCache | undefined> {
  if (typeof navigator === 'undefined' || !navigator.storage?.getDirectory) return undefined;
  if (typeof FileSystemFileHandle === 'undefined' || !('createWritable' in FileSystemFileHandle.prototype)) {
    return undefined;
  }
  const root = await navigator.storage.getDirectory();
  return new OpfsModelCache(await root.getDirectoryHandle(folder, { create: true }));
}

// Each entry is a directory of segment files `part-000000`, `part-000001`, ... and, once complete, an
// empty `complete` file. Segments, not one growing file, because a FileSystemWritableFileStream only
// lands on disk when closed and reopening one with keepExistingData copies the whole file: closing a
// fresh segment every 64 MiB bounds what a closed tab loses, and reading back joins the segments'
// Files into one Blob without copying them.
const segmentBytes = 64 * 2 ** 20;
const completeMarker = 'complete';
const verifiedMarker = 'verified';
const segmentPattern = /^part-\d{6}$/;

function segmentName(index: number): string {
  return `part-${String(index).padStart(6, '0')}`;
}

export class OpfsModelCache implements ModelCache {
  readonly #root: FileSystemDirectoryHandle;

  constructor(root: FileSystemDirectoryHandle) {
    this.#root = root;
  }

  async get(key: string): Promise<ByteSource | undefined> {
    const entry = await this.#entry(key, false);
    if (!entry || !(await hasFile(entry, completeMarker))) return undefined;
    return blobSource(key, new Blob(await segmentFiles(entry)));
  }

  async partial(key: string): Promise<number> {
    const entry = await this.#entry(key, false);
    if (!entry || (await hasFile(entry, completeMarker))) return 0;
    return sizeOf(await segmentFiles(entry));
  }

  async append(key: string): Promise<CacheWriter> {
    let entry = await this.#entry(key, true);
    if (await hasFile(entry, completeMarker)) {
      await this.delete(key); // appending to a complete entry would corrupt it: start a new one
      entry = await this.#entry(key, true);
    }
    const segments = await segmentFiles(entry);
    return new OpfsWriter(entry, segments.length, sizeOf(segments), key, () => this.delete(key));
  }

  async delete(key: string): Promise<void> {
    const parts = keyParts(key);
    const parent = await this.#directory(parts.slice(0, -1), false);
    await ignoreNotFound(parent?.removeEntry(parts.at(-1) ?? '', { recursive: true }));
  }

  async verified(key: string): Promise<string | undefined> {
    const entry = await this.#entry(key, false);
    const handle = entry && (await ignoreNotFound(entry.getFileHandle(verifiedMarker)));
    return handle ? (await handle.getFile()).text() : undefined;
  }

  async markVerified(key: string, record: string): Promise<void> {
    const entry = await this.#entry(key, true);
    const writable = await (await entry.getFileHandle(verifiedMarker, { create: true })).createWritable();
    await writable.write(record);
    await writable.close();
  }

  async list(): Promise<CacheEntry[]> {
    const entries: CacheEntry[] = [];
    const walk = async (directory: FileSystemDirectoryHandle, path: string[]): Promise<void> => {
      const names: string[] = [];
      for await (const handle of directory.values()) {
        if (handle.kind === 'directory')
          await walk(handle as FileSystemDirectoryHandle, [...path, handle.name]);
        else names.push(handle.name);
      }
      if (names.some((name) => segmentPattern.test(name) || name === completeMarker)) {
        const complete = names.includes(completeMarker);
        entries.push({ key: path.join('/'), size: sizeOf(await segmentFiles(directory)), complete });
      }
    };
    await walk(this.#root, []);
    return entries;
  }

  #entry(key: string, create: true): Promise<FileSystemDirectoryHandle>;
  #entry(key: string, create: false): Promise<FileSystemDirectoryHandle | undefined>;
  #entry(key: string, create: boolean): Promise<FileSystemDirectoryHandle | undefined> {
    return this.#directory(keyParts(key), create);
  }

  async #directory(parts: string[], create: boolean): Promise<FileSystemDirectoryHandle | undefined> {
    let directory: FileSystemDirectoryHandle | undefined = this.#root;
    for (const part of parts) {
      directory = await ignoreNotFound(directory.getDirectoryHandle(part, { create }));
      if (!directory) return undefined;
    }
    return directory;
  }
}

class OpfsWriter implements CacheWriter {
  readonly #entry: FileSystemDirectoryHandle;
  readonly #key: string;
  readonly #remove: () => Promise<void>;
  #nextSegment: number;
  #size: number;
  #open: { stream: FileSystemWritableFileStream; bytes: number } | undefined;

  constructor(
    entry: FileSystemDirectoryHandle,
    segments: number,
    size: number,
    key: string,
    remove: () => Promise<void>,
  ) {
    this.#entry = entry;
    this.#nextSegment = segments;
    this.#size = size;
    this.#key = key;
    this.#remove = remove;
  }

  get size(): number {
    return this.#size;
  }

  async write(chunk: Uint8Array<ArrayBuffer>): Promise<void> {
    if (!this.#open) {
      const handle = await this.#entry.getFileHandle(segmentName(this.#nextSegment++), { create: true });
      this.#open = { stream: await handle.createWritable(), bytes: 0 };
    }
    await this.#open.stream.write(chunk);
    this.#open.bytes += chunk.byteLength;
    this.#size += chunk.byteLength;
    if (this.#open.bytes >= segmentBytes) await this.#closeSegment();
  }

  async reset(): Promise<void> {
    await this.#open?.stream.abort();
    this.#open = undefined;
    for (let index = 0; index < this.#nextSegment; index++) {
      await ignoreNotFound(this.#entry.removeEntry(segmentName(index)));
    }
    this.#nextSegment = 0;
    this.#size = 0;
  }

  async *readBack(): AsyncGenerator<Uint8Array> {
    await this.#closeSegment();
    for (const file of await segmentFiles(this.#entry)) {
      const reader = file.stream().getReader();
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) yield chunk.value;
    }
  }

  async close(): Promise<void> {
    await this.#closeSegment();
    if (this.#size === 0) await this.#remove();
  }

  async commit(): Promise<ByteSource> {
    await this.#closeSegment();
    await this.#entry.getFileHandle(completeMarker, { create: true });
    return blobSource(this.#key, new Blob(await segmentFiles(this.#entry)));
  }

  async #closeSegment(): Promise<void> {
    await this.#open?.stream.close();
    this.#open = undefined;
  }
}

/** The entry's segments in order; a segment created by a tab closed before writing it is empty. */
async function segmentFiles(entry: FileSystemDirectoryHandle): Promise<File[]> {
  const files: File[] = [];
  for (let index = 0; ; index++) {
    const handle = await ignoreNotFound(entry.getFileHandle(segmentName(index)));
    if (!handle) return files;
    files.push(await handle.getFile());
  }
}

function sizeOf(files: readonly File[]): number {
  return files.reduce((sum, file) => sum + file.size, 0);
}

async function hasFile(directory: FileSystemDirectoryHandle, name: string): Promise<boolean> {
  return (await ignoreNotFound(directory.getFileHandle(name))) !== undefined;
}

async function ignoreNotFound<T>(promise: Promise<T> | undefined): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    if (error instanceof DOMException && error.name === 'NotFoundError') return undefined;
    throw error;
  }
}
