// `npm run fetch-model` as a child process against a local hub: it writes the model folder, shows
// progress, continues a partial file, is served from the folder on a second run, and fails clearly.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect, it } from 'vitest';
import { useLocalHub } from './support/local-hub';

const script = resolve('src/cli/fetch-model.ts');
const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
const repo = 'acme/tiny-gpt2';

const local = useLocalHub(repo, 800_000, 'strata-fetch-model-');
const checkpointPath = () => local().paths['model.safetensors']!;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in `cwd` without blocking this process, which serves its requests. */
function fetchModel(args: string[], cwd: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', tsx, script, ...args], {
      cwd,
      // Its records of verified files go under this test's folder, not the user's cache.
      env: { ...process.env, HF_ENDPOINT: '', STRATA_CACHE_DIR: join(local().root, 'strata-cache'), ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

async function expectModelFolder(dir: string): Promise<void> {
  expect((await readdir(dir)).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.json']);
  for (const [name, content] of Object.entries(local().served)) {
    expect(sha256(await readFile(join(dir, name))), name).toBe(sha256(content));
  }
}

it('downloads a model into a folder, then finds it there', async () => {
  const out = join(local().root, 'out');
  const first = await fetchModel([repo, '--out', out, '--endpoint', local().server.url], local().root);
  expect(first.stderr).toContain('model.safetensors: 800.0 kB of 800.0 kB (100.0%)');
  expect(first.stdout).toBe(
    `${repo} is in ${out}: config.json, tokenizer.json, model.safetensors (800.0 kB)\n`,
  );
  expect(first.code).toBe(0);
  await expectModelFolder(out);

  const requests = local().server.requests.length;
  const second = await fetchModel([repo, '--out', out], local().root, { HF_ENDPOINT: local().server.url });
  expect(second.code).toBe(0);
  expect(second.stderr).toContain('model.safetensors: already here (800.0 kB)');
  expect(local().server.requests).toHaveLength(requests);
});

it('continues a partial file left by an earlier run, into static/models/<name>', async () => {
  const out = join(local().root, 'static', 'models', 'tiny-gpt2');
  await mkdir(out, { recursive: true });
  const checkpoint = local().served['model.safetensors'] as Uint8Array;
  await writeFile(join(out, 'model.safetensors.part'), checkpoint.subarray(0, 300_000));

  const run = await fetchModel([repo, '--endpoint', local().server.url], local().root);
  expect(run.stderr).toContain('model.safetensors: 300.0 kB of 800.0 kB (37.5%)');
  expect(run.code).toBe(0);
  expect(local().server.requestsFor(checkpointPath())).toEqual([
    { method: 'GET', path: checkpointPath(), range: 'bytes=300000-', status: 206 },
  ]);
  await expectModelFolder(out);
});

it('fails with the reason and a non-zero exit code', async () => {
  const missing = await fetchModel(
    ['acme/none', '--out', join(local().root, 'none'), '--endpoint', local().server.url],
    local().root,
  );
  expect(missing.code).toBe(1);
  expect(missing.stderr).toBe(
    `fetch-model: ${local().server.url}/acme/none/resolve/main/config.json: HTTP 404 Not Found: no such model or file on the hub\n`,
  );

  const usage = await fetchModel([], local().root);
  expect(usage.code).toBe(2);
  expect(usage.stderr).toContain(
    'fetch-model: expected one hub id, got 0\nusage: npm run fetch-model -- <hub id>',
  );
});

it('drops a stalled connection after --timeout seconds and resumes it', async () => {
  const out = join(local().root, 'stalled');
  local().server.fail(checkpointPath(), { kind: 'stall', afterBytes: 200_000 }, 1);
  const run = await fetchModel(
    [repo, '--out', out, '--endpoint', local().server.url, '--timeout', '0.3'],
    local().root,
  );
  expect(run.code).toBe(0);
  expect(
    local()
      .server.requestsFor(checkpointPath())
      .map((r) => r.range),
  ).toEqual([undefined, 'bytes=200000-']);
  await expectModelFolder(out);

  // A server that never answers: capped attempts, the reason, and no file marked complete.
  const never = join(local().root, 'never');
  local().server.fail(checkpointPath(), { kind: 'stall-headers' });
  const failed = await fetchModel(
    [repo, '--out', never, '--endpoint', local().server.url, '--timeout', '0.2'],
    local().root,
  );
  expect(failed.code).toBe(1);
  expect(failed.stderr).toContain('download failed 5 times');
  expect(failed.stderr).toContain('no data arrived for 0.2 s');
  expect(await readdir(never)).not.toContain('model.safetensors');

  const bad = await fetchModel([repo, '--timeout', '0'], local().root);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('--timeout must be a positive number of seconds, got "0"');
});

it('never keeps a file that does not hash to what the hub states', async () => {
  const out = join(local().root, 'corrupt');
  local().server.fail(checkpointPath(), { kind: 'corrupt' });
  const run = await fetchModel([repo, '--out', out, '--endpoint', local().server.url], local().root);
  expect(run.code).toBe(1);
  expect(run.stderr).toContain('the file arrived damaged and nothing of it was kept');
  expect(await readdir(out)).not.toContain('model.safetensors');
  expect(await readdir(out)).not.toContain('model.safetensors.part');
});
