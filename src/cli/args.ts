// Command-line arguments shared by the CLIs (capture, probe, fetch-model): parseArgs with messages a
// user can act on, strict numbers and token ids, and the --model argument (a folder or a hub id).

import { stat } from 'node:fs/promises';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A bad command line: the CLI prints the message and its usage and exits with 2. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * parseArgs, with its errors as UsageErrors. A value that starts with a dash (`--ids -1`) is
 * refused by parseArgs as "ambiguous"; the message then says what to write instead.
 */
export function parseCommandLine<O extends Options>(args: string[], options: O, allowPositionals = false) {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (error) {
    const message = (error as Error).message;
    const ambiguous = /^Option '(--[\w-]+)(?:, -\w)?(?: <value>)?' argument is ambiguous/.exec(message);
    if (ambiguous) {
      const flag = ambiguous[1]!;
      const value = args[args.indexOf(flag) + 1] ?? '';
      throw new UsageError(
        `${flag} ${JSON.stringify(value)}: a value starting with "-" reads as an option; ` +
          `write ${flag}=${value} if you mean it`,
      );
    }
    throw new UsageError(message);
  }
}

/** A number option: `check` says whether the value is allowed; `what` describes what is. */
export function numberOption(
  flag: string,
  value: string | undefined,
  fallback: number,
  check: (x: number) => boolean,
  what: string,
): number {
  if (value === undefined) return fallback;
  const x = Number(value);
  if (value.trim() === '' || !check(x)) throw new UsageError(`${flag} must be ${what}, got "${value}"`);
  return x;
}

/**
 * Token ids, comma-separated, in plain decimal: `464,3139,286`. Each bad form gets its own message:
 * nothing, an empty entry (a stray comma), a sign, hex, an exponent or a fraction.
 */
export function parseTokenIds(text: string, flag = '--ids'): number[] {
  if (text.trim() === '') throw new UsageError(`${flag} is empty: give token ids, e.g. ${flag} 464,3139,286`);
  return text.split(',').map((raw, index, all) => {
    const entry = raw.trim();
    const where = all.length > 1 ? ` (entry ${index + 1} of "${text}")` : '';
    if (entry === '') {
      throw new UsageError(`${flag}: entry ${index + 1} of "${text}" is empty (a stray comma?)`);
    }
    if (/^-\d/.test(entry))
      throw new UsageError(`${flag}: "${entry}" is negative${where}: token ids start at 0`);
    if (/^[+-]?0[xob]/i.test(entry)) {
      throw new UsageError(`${flag}: "${entry}" is not decimal${where}: write token ids in decimal digits`);
    }
    if (/^\d+(\.\d*)?e/i.test(entry)) {
      throw new UsageError(
        `${flag}: "${entry}" has an exponent${where}: write the id in full (e.g. 1000, not 1e3)`,
      );
    }
    if (!/^\d+$/.test(entry)) {
      throw new UsageError(`${flag}: "${entry}" is not a token id${where}: ids are whole numbers 0, 1, 2, …`);
    }
    const id = Number(entry);
    if (!Number.isSafeInteger(id)) throw new UsageError(`${flag}: "${entry}" is too large to be a token id`);
    return id;
  });
}

/** How --model reads: an existing folder, a path that does not exist, or a hub id. */
export type ModelArgument =
  { readonly kind: 'folder'; readonly path: string } | { readonly kind: 'hub'; readonly id: string };

/**
 * An existing folder is a model folder; something that looks like a path (starts with `/`, `.` or
 * `~`, or has more than one `/`) but does not exist is "no such folder", not a bad hub id; a file is
 * not a model folder. Anything else is a hub id (checked by the hub code).
 */
export async function modelArgument(spec: string, flag = '--model'): Promise<ModelArgument> {
  const info = await stat(spec).catch(() => undefined);
  if (info?.isDirectory()) return { kind: 'folder', path: spec };
  if (info)
    throw new UsageError(`${flag} ${spec}: a file, not a model folder (give the folder that holds it)`);
  if (/^[/.~]|\\/.test(spec) || spec.split('/').length > 2) {
    throw new UsageError(`${flag} ${spec}: no such folder`);
  }
  return { kind: 'hub', id: spec };
}
