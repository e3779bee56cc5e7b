// The model cache for Node: one file per entry under a folder (default $STRATA_CACHE_DIR or
// ~/.cache/strata). An unfinished entry is `<file>.part`, appended to as bytes arrive and renamed
// when complete, so a file without the suffix is always whole.

import {
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
  type FileHandle,
} from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import type { ByteSource } from '../model/byte-source';
import { keyParts, type CacheEntry, type CacheWriter, type ModelCache } from '../io/model-cache';
import { fileSource, isNoEntry } from './node-source';

const partSuffix = '.part';
/**
 * What a complete file was verified against (ModelCache.verified) is kept under `recordsDir`
 * (default `<dir>/.verified/`), one `<key>.verified` per file, with the file's size and mtime: a
 * file replaced since is not taken as verified.
 */
const verifiedSuffix = '.verified';
const recordsFolder = '.verified';

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.STRATA_CACHE_DIR || join(homedir(), '.cache', 'strata');
}

/** Where fetch-model keeps the records of a model folder's files: outside it, so it holds only the model. */
export function folderRecordsDir(folder: string, env: NodeJS.ProcessEnv = process.env): string {
  const id = createHash('sha256').update(resolve(folder)).digest('hex').slice(0, 16);
  return join(defaultCacheDir(env), recordsFolder, 'folders', id);
}

export class NodeModelCache implements ModelCache {
  readonly #records: string;

  constructor(
    readonly dir: string = defaultCacheDir(),
    options: { recordsDir?: string } = {},
  ) {
    this.#records = options.recordsDir ?? join(dir, recordsFolder);
  }

  async get(key: string): Promise<ByteSource | undefined> {
    const path = this.#path(key);
    return (await sizeOrUndefined(path)) === undefined ? undefined : fileSource(path);
  }

  async partial(key: string): Promise<number> {
    return (await sizeOrUndefined(this.#path(key) + partSuffix)) ?? 0;
  }

  async append(key: string): Promise<CacheWriter> {
    const path = this.#path(key);
    await mkdir(dirname(path), { recursive: true });
    await rm(this.#record(key), { force: true }); // a new file is not verified yet
    const handle = await open(path + partSuffix, 'a');
    return new NodeCacheWriter(handle, path, (await handle.stat()).size);
  }

  async delete(key: string): Promise<void> {
    const path = this.#path(key);
    await rm(path, { force: true });
    await rm(path + partSuffix, { force: true });
    await rm(this.#record(key), { force: true });
  }

  async verified(key: string): Promise<string | undefined> {
    const info = await stat(this.#path(key)).catch(() => undefined);
    if (!info?.isFile()) return undefined;
    const text = await readFile(this.#record(key), 'utf8').catch((error: unknown) => {
      if (isNoEntry(error)) return undefined;
      throw error;
    });
    const [record, identity] = text?.split('\n') ?? [];
    return identity === `${info.size} ${info.mtimeMs}` ? record : undefined;
  }

  async markVerified(key: string, record: string): Promise<void> {
    const info = await stat(this.#path(key));
    await mkdir(dirname(this.#record(key)), { recursive: true });
    await writeFile(this.#record(key), `${record}\n${info.size} ${info.mtimeMs}`);
  }

  #record(key: string): string {
    return join(this.#records, ...keyParts(key)) + verifiedSuffix;
  }

  async list(): Promise<CacheEntry[]> {
    const found = await readdir(this.dir, { recursive: true, withFileTypes: true }).catch(
      (error: unknown) => {
        if (isNoEntry(error)) return [];
        throw error;
      },
    );
    const entries: CacheEntry[] = [];
    for (const dirent of found) {
      const path = join(dirent.parentPath, dirent.name);
      if (!dirent.isFile() || relative(this.dir, path).split(sep)[0] === recordsFolder) continue;
      const complete = !path.endsWith(partSuffix);
      const key = relative(this.dir, complete ? path : path.slice(0, -partSuffix.length))
        .split(sep)
        .join('/');
      entries.push({ key, size: (await stat(path)).size, complete });
    }
    return entries.sort((a, b) => a.key.localeCompare(b.key));
  }

  #path(key: string): string {
    return join(this.dir, ...keyParts(key));
  }
}

class NodeCacheWriter implements CacheWriter {
  readonly #handle: FileHandle;
  readonly #path: string;
  #size: number;

  constructor(handle: FileHandle, path: string, size: number) {
    this.#handle = handle;
    this.#path = path;
    this.#size = size;
  }

  get size(): number {
    return this.#size;
  }

  async write(chunk: Uint8Array): Promise<void> {
    await this.#handle.writeFile(chunk); // opened with 'a': every write lands at the end
    this.#size += chunk.byteLength;
  }

  async reset(): Promise<void> {
    await this.#handle.truncate(0);
    this.#size = 0;
  }

  async *readBack(): AsyncGenerator<Uint8Array> {
    const handle = await open(this.#path + partSuffix, 'r');
    try {
      const piece = new Uint8Array(8 * 2 ** 20);
      for (let at = 0; at < this.#size;) {
        const { bytesRead } = await handle.read(piece, 0, Math.min(piece.byteLength, this.#size - at), at);
        if (bytesRead === 0) return;
        yield piece.slice(0, bytesRead);
        at += bytesRead;
      }
    } finally {
      await handle.close();
    }
  }

  async close(): Promise<void> {
    await this.#handle.close();
    if (this.#size === 0) await rm(this.#path + partSuffix, { force: true });
  }

  async commit(): Promise<ByteSource> {
    await this.#handle.close();
    await rename(this.#path + partSuffix, this.#path);
    return fileSource(this.#path);
  }
}

async function sizeOrUndefined(path: string): Promise<number | undefined> {
  try {
    const info = await stat(path);
    return info.isFile() ? info.size : undefined;
  } catch (error) {
    if (isNoEntry(error)) return undefined;
    throw error;
  }
}
