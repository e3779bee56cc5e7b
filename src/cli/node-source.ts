// Model files on a Node file system: a checkpoint read in ranges (GPT-2 XL is 6.4 GB, more than one
// Buffer may hold) and a model directory as ModelFiles.

import { open, readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkRange, type ByteSource } from '../model/byte-source';
import { ModelError } from '../model/errors';
import { chooseModelFiles, type ModelFiles, type TokenizerFiles } from '../io/sources';

// One read() call moves at most ~2 GiB on Linux; larger ranges take several.
const maxReadBytes = 2 ** 30;

/**
 * The file at `path` as a ByteSource. Each read opens the file: a ByteSource has no close(), so a
 * descriptor held for its lifetime would leak, and reads are tensor-sized, so an open costs nothing
 * next to the copy.
 */
export async function fileSource(path: string): Promise<ByteSource> {
  const info = await stat(path).catch((error: unknown) => {
    throw isNoEntry(error) ? new ModelError('missing', path, 'no such file', { cause: error }) : error;
  });
  if (!info.isFile()) throw new ModelError('missing', path, 'not a file');
  const size = info.size;
  return {
    name: path,
    size,
    async read(offset, length) {
      checkRange(path, size, offset, length);
      const bytes = new Uint8Array(length);
      const handle = await open(path, 'r');
      try {
        for (let done = 0; done < length;) {
          const chunk = Math.min(length - done, maxReadBytes);
          const { bytesRead } = await handle.read(bytes, done, chunk, offset + done);
          if (bytesRead === 0) {
            throw new ModelError(
              'truncated',
              path,
              `the file shrank below ${offset + done + chunk} bytes while open`,
            );
          }
          done += bytesRead;
        }
      } finally {
        await handle.close();
      }
      return bytes;
    },
  };
}

/** A model directory (e.g. static/models/gpt2/, or a transformers save_pretrained folder). */
export async function filesFromDirectory(
  dir: string,
  options: { tokenizerOptional?: boolean } = {},
): Promise<ModelFiles> {
  const names = await readdir(dir).catch((error: unknown) => {
    throw isNoEntry(error) ? new ModelError('missing', dir, 'no such directory', { cause: error }) : error;
  });
  const chosen = chooseModelFiles(names, (name) => name, dir, options);
  const text = (name: string | undefined): Promise<string> | undefined =>
    name === undefined ? undefined : readFile(join(dir, name), 'utf8');
  return {
    name: basename(resolve(dir)),
    config: await readFile(join(dir, chosen.config), 'utf8'),
    checkpoint: await fileSource(join(dir, chosen.checkpoint)),
    tokenizer: {
      tokenizerJson: await text(chosen.tokenizerJson),
      vocabJson: await text(chosen.vocabJson),
      mergesTxt: await text(chosen.mergesTxt),
    },
  };
}

const bundledModelDir = fileURLToPath(new URL('../../static/models/gpt2-brown-mini/', import.meta.url));

/** GPT-2's standard tokenizer: the bundled model's vocab.json and merges.txt (the full GPT-2 ones). */
export async function standardTokenizerFiles(): Promise<TokenizerFiles> {
  return {
    vocabJson: await readFile(join(bundledModelDir, 'vocab.json'), 'utf8'),
    mergesTxt: await readFile(join(bundledModelDir, 'merges.txt'), 'utf8'),
  };
}

/** ENOENT, or ENOTDIR when a part of the path is a file. */
export function isNoEntry(error: unknown): boolean {
  return error instanceof Error && 'code' in error && (error.code === 'ENOENT' || error.code === 'ENOTDIR');
}
