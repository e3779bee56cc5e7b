// The repo's CLIs run as child processes, as a user runs them (`npx tsx src/cli/<name>.ts …`).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

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
