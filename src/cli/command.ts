// What the script CLIs (capture, patch, probe) do the same way around their own work: the command
// line (usage on -h, required options, bad arguments as exit 2 with the usage), the --model
// argument opened (a folder, or a hub id downloaded into the cache), the result written to --out
// or stdout, and a failure reported as "<name> failed: …" with exit 1.

import { writeFile } from 'node:fs/promises';
import { filesFromHub, resolveHubId } from '../io/sources';
import { openModel, standardTokenizerNote, type OpenedModel } from '../model/load';
import { modelArgument, parseCommandLine, UsageError } from './args';
import { NodeModelCache } from './node-cache';
import { filesFromDirectory, standardTokenizerFiles } from './node-source';

type Options = Parameters<typeof parseCommandLine>[1];
type Values<O extends Options> = ReturnType<typeof parseCommandLine<O>>['values'];

type TextOption = { readonly type: 'string' };

/** Options that take a value, by name: `--name value` (undefined when not given). */
export function textOptions<K extends string>(...names: K[]): Record<K, TextOption> {
  const text: TextOption = { type: 'string' };
  return Object.fromEntries(names.map((n) => [n, text])) as Record<K, TextOption>;
}

/** An option without a value, false unless given. */
export const flagOption = { type: 'boolean', default: false } as const;

/** The options of every script CLI: --model (a folder or a hub id), --out (stdout without it), -h/--help. */
export const scriptOptions = {
  ...textOptions('model', 'out'),
  help: { type: 'boolean', short: 'h' },
} as const;

/** Prints a bad command line's message and the usage; the exit code 2. */
export function usageFailure(error: unknown, usage: string): 2 {
  console.error(`${(error as Error).message}\n\n${usage}`);
  return 2;
}

/**
 * The parsed options, or the exit code: 0 after printing the usage for -h/--help, 2 for a bad
 * command line or a missing required option (named: "--model and --dataset are required").
 */
export function commandLine<O extends Options>(
  args: string[],
  options: O,
  usage: string,
  required: readonly string[],
): Values<O> | number {
  let values: Values<O>;
  try {
    ({ values } = parseCommandLine(args, options));
  } catch (e) {
    return usageFailure(e, usage);
  }
  if ((values as Record<string, unknown>)['help']) {
    console.log(usage);
    return 0;
  }
  const missing = required.filter((k) => !(values as Record<string, unknown>)[k]);
  if (missing.length > 0) {
    const names = missing.map((m) => `--${m}`).join(' and ');
    console.error(`${names} ${missing.length > 1 ? 'are' : 'is'} required\n\n${usage}`);
    return 2;
  }
  return values;
}

/** Runs the command's work; an error is "<name> failed: …" on stderr and exit code 1. */
export async function runCommand(name: string, work: () => Promise<number>): Promise<number> {
  try {
    return await work();
  } catch (e) {
    console.error(`${name} failed: ${(e as Error).message}`);
    return 1;
  }
}

/** `text` into the file `out` ("wrote OUT: summary" on stderr), or on stdout without one. */
export async function writeResult(
  out: string | undefined,
  text: string,
  summary: () => string,
): Promise<void> {
  if (out) {
    await writeFile(out, text);
    console.error(`wrote ${out}: ${summary()}`);
  } else {
    process.stdout.write(text + '\n');
  }
}

/**
 * A model folder, or a hub id downloaded once into the cache (progress on stderr; verified against
 * the size and SHA-256 the hub states). A model without tokenizer files but GPT-2's vocabulary gets
 * the standard GPT-2 tokenizer, and stderr says so.
 */
export async function resolveModel(spec: string, env: NodeJS.ProcessEnv): Promise<OpenedModel> {
  const where = await modelArgument(spec);
  const options = { standardTokenizer: standardTokenizerFiles };
  let model: OpenedModel;
  if (where.kind === 'folder') {
    model = await openModel(await filesFromDirectory(where.path, { tokenizerOptional: true }), options);
  } else {
    try {
      resolveHubId(where.id);
    } catch (error) {
      throw new UsageError(
        `--model ${spec}: no such folder, and ${(error as Error).message.replace(/^[^:]*: /, '')}`,
      );
    }
    const files = await filesFromHub(where.id, {
      endpoint: env.HF_ENDPOINT,
      cache: new NodeModelCache(),
      verify: 'listing+head',
      tokenizerOptional: true,
      onProgress: (p) => {
        if (!p.cached && p.percent !== undefined)
          process.stderr.write(`\r${p.file}: ${p.percent.toFixed(0)}%   `);
      },
    });
    model = await openModel(files, options);
  }
  if (model.tokenizerSource === 'standard-gpt2')
    process.stderr.write(`${model.name}: ${standardTokenizerNote}\n`);
  return model;
}
