// npm run fetch-model -- <hub id> [--out DIR] [--endpoint URL] [--revision REV] [--timeout SECONDS]
//
// Downloads a hub model into static/models/<name>/ so the app can load it offline. The folder is
// the cache: a file still downloading is `<file>.part`, so running the command again continues it,
// and files already there are not fetched again. Each file is checked against the size and SHA-256
// the hub states (its model API listing, else a HEAD of the file's resolve URL); a connection silent for --timeout seconds is dropped
// and resumed. Progress goes to stderr, the result to stdout.

import { join } from 'node:path';
import { defaultStallTimeoutMs, HttpStatusError, type DownloadProgress } from '../io/download';
import { ModelError } from '../model/errors';
import { filesFromHub, resolveHubId } from '../io/sources';
import { numberOption, parseCommandLine } from './args';
import { folderRecordsDir, NodeModelCache } from './node-cache';

const usage = `usage: npm run fetch-model -- <hub id> [--out DIR] [--endpoint URL] [--revision REV] [--timeout SECONDS]

  <hub id>          owner/name (e.g. openai-community/gpt2) or gpt2, gpt2-medium, gpt2-large, gpt2-xl, distilgpt2
  --out DIR         where to put the files (default static/models/<last part of the id>)
  --endpoint URL    the hub or a mirror (default $HF_ENDPOINT, else https://huggingface.co)
  --revision REV    branch, tag or commit (default main)
  --timeout SECONDS a connection that sends nothing for this long is dropped and resumed
                    (default ${defaultStallTimeoutMs / 1000}; fractions allowed)`;

async function main(args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  let parsed;
  let timeout: number;
  try {
    parsed = parseCommandLine(
      args,
      {
        out: { type: 'string' },
        endpoint: { type: 'string' },
        revision: { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      true,
    );
    timeout = numberOption(
      '--timeout',
      parsed.values.timeout,
      defaultStallTimeoutMs / 1000,
      (x) => Number.isFinite(x) && x > 0,
      'a positive number of seconds',
    );
  } catch (error) {
    process.stderr.write(`fetch-model: ${(error as Error).message}\n${usage}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const [id, ...extra] = positionals;
  if (id === undefined || extra.length > 0) {
    process.stderr.write(`fetch-model: expected one hub id, got ${positionals.length}\n${usage}\n`);
    return 2;
  }

  // Ctrl-C cancels cleanly: what arrived stays in `<file>.part` for the next run.
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  let out = values.out;
  try {
    const repo = resolveHubId(id);
    out ??= join('static', 'models', repo.split('/').pop() ?? repo);
    const files = await filesFromHub(repo, {
      endpoint: values.endpoint ?? (env.HF_ENDPOINT || undefined),
      revision: values.revision,
      cache: new NodeModelCache(out, { recordsDir: folderRecordsDir(out, env) }),
      keyOf: (url) => new URL(url).pathname.split('/').pop() ?? url,
      verify: 'listing+head',
      stallTimeoutMs: timeout * 1000,
      tokenizerOptional: true,
      signal: controller.signal,
      onProgress: progressPrinter(process.stderr),
    });
    const tokenizer =
      files.tokenizer.tokenizerJson !== undefined
        ? 'tokenizer.json'
        : files.tokenizer.vocabJson !== undefined
          ? 'vocab.json, merges.txt'
          : 'no tokenizer files (a GPT-2 vocabulary gets the standard GPT-2 tokenizer)';
    process.stdout.write(
      `${files.name} is in ${out}: config.json, ${tokenizer}, model.safetensors (${formatBytes(files.checkpoint.size)})\n`,
    );
    return 0;
  } catch (error) {
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[K'); // clear a progress line left open
    if (!(error instanceof ModelError)) {
      // File system failures (no space, no permission) need their message, not a stack trace.
      if (!(error instanceof Error && 'code' in error)) throw error;
      process.stderr.write(`fetch-model: ${error.message}\n`);
      return 1;
    }
    // A dropped connection or a cancel is worth running again; a missing file or a refusal is not.
    const interrupted =
      error.kind === 'aborted' || (error.kind === 'network' && !(error instanceof HttpStatusError));
    const hint = interrupted
      ? `\nwhat arrived is kept in ${out}: run the same command again to continue`
      : '';
    process.stderr.write(`fetch-model: ${error.message}${hint}\n`);
    return error.kind === 'aborted' ? 130 : 1;
  }
}

/**
 * One line per file and state. On a terminal the line is rewritten in place ten times a second;
 * in a log a line is written once a second, so CI output stays short.
 */
function progressPrinter(stream: NodeJS.WriteStream): (progress: DownloadProgress) => void {
  const interactive = stream.isTTY;
  const interval = interactive ? 100 : 1000;
  let file = '';
  let lastWrite = 0;
  return (progress) => {
    if (progress.cached) {
      stream.write(`${progress.file}: already here (${formatBytes(progress.loaded)})\n`);
      return;
    }
    const done = progress.total !== undefined && progress.loaded >= progress.total;
    const now = Date.now();
    if (progress.file === file && !done && now - lastWrite < interval) return;
    const of = progress.total === undefined ? '' : ` of ${formatBytes(progress.total)}`;
    const percent = progress.percent === undefined ? '' : ` (${progress.percent.toFixed(1)}%)`;
    const line = `${progress.file}: ${formatBytes(progress.loaded)}${of}${percent}`;
    if (interactive) stream.write(`\r${line}\x1b[K${done ? '\n' : ''}`);
    else stream.write(`${line}\n`);
    file = progress.file;
    lastWrite = now;
  };
}

function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

process.exitCode = await main(process.argv.slice(2), process.env);
