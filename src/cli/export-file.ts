// Writing an export to a file, safely: the bytes go to FILE.part, which is renamed to FILE only once
// everything is written and flushed. A full disk (or a file size limit), a failing capture, any
// error: FILE.part is removed and FILE is left as it was (absent, or the previous file).

import { open, rename, stat, unlink } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { ByteSink } from '../io/export/tensors';

function code(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
}

/**
 * Checks before any work that `path` can be written: its folder exists and is a folder, and the
 * path itself is not a folder. Throws an Error that names the problem.
 */
export async function checkOutPath(path: string): Promise<void> {
  const dir = dirname(resolve(path));
  const folder = await stat(dir).catch((e: unknown) => {
    if (code(e) === 'ENOENT') throw new Error(`cannot write ${path}: the folder ${dir} does not exist`);
    throw new Error(`cannot write ${path}: ${(e as Error).message}`);
  });
  if (!folder.isDirectory()) throw new Error(`cannot write ${path}: ${dir} is not a folder`);
  const existing = await stat(path).catch(() => undefined);
  if (existing?.isDirectory()) throw new Error(`cannot write ${path}: it is a folder`);
}

/** Why a write failed, in the user's words. */
function writeFailure(path: string, error: unknown, written: number): Error {
  const after = `after ${written} bytes`;
  const untouched = `${path} was not created or changed`;
  switch (code(error)) {
    case 'ENOSPC':
      return new Error(`cannot write ${path}: the disk is full (${after}); ${untouched}`);
    case 'EDQUOT':
      return new Error(`cannot write ${path}: the disk quota is exhausted (${after}); ${untouched}`);
    case 'EFBIG':
      return new Error(
        `cannot write ${path}: the file size limit was reached (${after}; see ulimit -f); ${untouched}`,
      );
    case 'EACCES':
    case 'EPERM':
      return new Error(`cannot write ${path}: permission denied; ${untouched}`);
    case 'ENOENT':
      return new Error(`cannot write ${path}: the folder ${dirname(resolve(path))} does not exist`);
    default:
      return new Error(`cannot write ${path}: ${(error as Error).message} (${after}); ${untouched}`);
  }
}

/**
 * Runs `write` with a sink into `path`.part, then renames it to `path`. Returns the bytes written.
 * On any failure (of the disk, or thrown by `write`) the partial file is removed; disk errors are
 * rethrown as messages that say what happened, errors of `write` as they are.
 */
export async function writeFileAtomically(
  path: string,
  write: (sink: ByteSink) => Promise<unknown>,
): Promise<number> {
  await checkOutPath(path);
  const part = `${path}.part`;
  const file = await open(part, 'w').catch((e: unknown) => {
    throw writeFailure(path, e, 0);
  });
  let written = 0;
  let diskError: Error | undefined;
  const sink: ByteSink = {
    async write(bytes) {
      let done = 0;
      while (done < bytes.byteLength) {
        try {
          // A file size limit shows as a short write first, then EFBIG on the next one.
          const { bytesWritten } = await file.write(bytes, done, bytes.byteLength - done);
          if (bytesWritten === 0) throw Object.assign(new Error('no progress'), { code: 'ENOSPC' });
          done += bytesWritten;
          written += bytesWritten;
        } catch (e) {
          diskError = writeFailure(path, e, written);
          throw diskError;
        }
      }
    },
  };
  try {
    await write(sink);
    await file.datasync().catch((e: unknown) => {
      throw (diskError = writeFailure(path, e, written));
    });
    await file.close().catch((e: unknown) => {
      throw (diskError = writeFailure(path, e, written));
    });
  } catch (e) {
    await file.close().catch(() => undefined);
    await unlink(part).catch(() => undefined);
    throw diskError ?? e;
  }
  await rename(part, path);
  return written;
}
