// The repo's CLIs run as child processes, as a user runs them (`npx tsx src/cli/<name>.ts …`).
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Gpt2Weights } from '../../src/model/types';
import { writeModelFolder } from './tiny-models';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const run = promisify(execFile);

/** Runs `npx tsx <script> ...args`; a non-zero exit resolves too, with its code and output. */
export function runCli(script: string, args: string[], maxBuffer: number): Promise<CliResult> {
  return run('npx', ['tsx', script, ...args], { maxBuffer }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: CliResult) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

/**
 * A temporary folder holding `weights` as a model folder (tiny-gpt2/, F32, no prefix, no lm_head,
 * no attention masks: the hub layout), for a CLI test file; the caller removes `dir` after its tests.
 */
export function cliModelFolder(prefix: string, weights: Gpt2Weights): { dir: string; model: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const model = writeModelFolder(join(dir, 'tiny-gpt2'), weights, {
    dtype: 'F32',
    prefix: false,
    lmHead: false,
    attnBias: false,
  });
  return { dir, model };
}
