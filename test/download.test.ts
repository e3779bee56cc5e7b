// Model sources against a real HTTP server on 127.0.0.1: hub downloads with progress, resumption,
// faults and the cache; a served folder; picked files; a Node directory.

import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileSource, filesFromDirectory } from '../src/cli/node-source';
import { defaultCacheDir, NodeModelCache } from '../src/cli/node-cache';
import type { ByteSource } from '../src/model/byte-source';
import type { DownloadProgress } from '../src/io/download';
import { ModelError } from '../src/model/errors';
import { cacheKey } from '../src/io/model-cache';
import {
  filesFromFolder,
  filesFromHub,
  filesFromPicked,
  hubUrl,
  isHubModelCached,
  resolveHubId,
  type HubOptions,
} from '../src/io/sources';
import { rejection } from './support/rejection';
import { FixtureServer, modelFiles, writeHubRepo } from './support/fixture-server';

const repo = 'acme/tiny-gpt2';
const checkpointBytes = 1_500_000;

let root: string;
let server: FixtureServer;
let served: Record<string, Uint8Array<ArrayBuffer> | string>;
let paths: Record<string, string>;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'strata-download-'));
  served = modelFiles(checkpointBytes);
  paths = await writeHubRepo(join(root, 'hub'), repo, served);
  server = await FixtureServer.start(join(root, 'hub'));
});

afterEach(async () => {
  await server.close();
  await rm(root, { recursive: true, force: true });
});

/** Options for the local hub: fast retries so fault tests take milliseconds. */
function hub(extra: HubOptions = {}): HubOptions {
  return { endpoint: server.url, retryDelayMs: 5, ...extra };
}

async function bytesOf(source: ByteSource): Promise<Uint8Array> {
  return source.read(0, source.size);
}

function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function servedCheckpoint(): Uint8Array<ArrayBuffer> {
  return served['model.safetensors'] as Uint8Array<ArrayBuffer>;
}

function checkpointPath(): string {
  return paths['model.safetensors'] ?? '';
}

describe('hub addresses', () => {
  it('builds resolve URLs from the id, file, endpoint and revision', () => {
    expect(hubUrl('openai-community/gpt2', 'config.json')).toBe(
      'https://huggingface.co/openai-community/gpt2/resolve/main/config.json',
    );
    expect(
      hubUrl('a/b', 'model.safetensors', { endpoint: 'http://mirror.test/', revision: 'refs/pr/1' }),
    ).toBe('http://mirror.test/a/b/resolve/refs%2Fpr%2F1/model.safetensors');
  });

  it('expands the GPT-2 family names and keeps owner/name ids', () => {
    expect(resolveHubId('gpt2')).toBe('openai-community/gpt2');
    expect(resolveHubId('gpt2-xl')).toBe('openai-community/gpt2-xl');
    expect(resolveHubId('distilgpt2')).toBe('distilbert/distilgpt2');
    expect(resolveHubId('someone/gpt2-finetuned.v2')).toBe('someone/gpt2-finetuned.v2');
  });

  it('rejects what is not a hub id, saying what would be', async () => {
    for (const id of ['llama', 'a/b/c', '../x', '']) {
      const error = await rejection(Promise.resolve().then(() => resolveHubId(id)));
      expect(error.kind).toBe('missing');
      expect(error.message).toContain(`${id}: not a hub model id: use owner/name`);
      expect(error.message).toContain('gpt2-medium');
    }
  });

  it('keys the cache by host, path and revision', () => {
    expect(cacheKey(hubUrl('a/b', 'config.json', { revision: 'v1' }))).toBe(
      'huggingface.co/a/b/resolve/v1/config.json',
    );
    expect(cacheKey('http://127.0.0.1:8080/a/b/resolve/main/x')).toBe('127.0.0.1_8080/a/b/resolve/main/x');
  });
});

describe('hub downloads', () => {
  it('downloads every file with progress rising to 100%', async () => {
    const progress: DownloadProgress[] = [];
    const files = await filesFromHub(repo, hub({ onProgress: (p) => progress.push(p) }));

    expect(files.name).toBe(repo);
    expect(files.config).toBe(served['config.json']);
    expect(files.tokenizer).toEqual({ tokenizerJson: served['tokenizer.json'] });
    expect(sha256(await bytesOf(files.checkpoint))).toBe(sha256(servedCheckpoint()));

    const checkpoint = progress.filter((p) => p.file === 'model.safetensors');
    expect(checkpoint.length).toBeGreaterThan(2);
    for (let i = 1; i < checkpoint.length; i++) {
      expect(checkpoint[i]!.loaded).toBeGreaterThanOrEqual(checkpoint[i - 1]!.loaded);
    }
    expect(checkpoint[0]).toMatchObject({ loaded: 0, percent: 0, cached: false });
    expect(checkpoint.at(-1)).toEqual({
      file: 'model.safetensors',
      loaded: checkpointBytes,
      total: checkpointBytes,
      percent: 100,
      cached: false,
    });
    expect(progress.filter((p) => p.file === 'config.json').at(-1)?.percent).toBe(100);
    expect(server.requests.map((r) => [r.path, r.range])).toEqual([
      [paths['config.json'], undefined],
      [paths['tokenizer.json'], undefined],
      [checkpointPath(), undefined],
    ]);
  });

  it('asks for gpt2 under its current id', async () => {
    await writeHubRepo(join(root, 'hub'), 'openai-community/gpt2', served);
    const files = await filesFromHub('gpt2', hub());
    expect(files.name).toBe('openai-community/gpt2');
    expect(server.requests.map((r) => r.path)).toContain(
      '/openai-community/gpt2/resolve/main/model.safetensors',
    );
  });

  it('resumes with a Range request after the connection drops', async () => {
    server.fail(checkpointPath(), { kind: 'drop', afterBytes: 300_000 }, 1);
    const files = await filesFromHub(repo, hub());

    expect(sha256(await bytesOf(files.checkpoint))).toBe(sha256(servedCheckpoint()));
    const [first, second, ...rest] = server.requestsFor(checkpointPath());
    expect(rest).toEqual([]);
    expect(first?.range).toBeUndefined();
    const resumedAt = Number(/^bytes=(\d+)-$/.exec(second?.range ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(resumedAt).toBeLessThanOrEqual(300_000);
    expect(second?.status).toBe(206);
  });

  it('starts over when the server answers a Range request with the whole file', async () => {
    server.fail(checkpointPath(), { kind: 'drop', afterBytes: 300_000 }, 1);
    server.fail(checkpointPath(), { kind: 'ignore-range' });
    const progress: DownloadProgress[] = [];
    const files = await filesFromHub(repo, hub({ onProgress: (p) => progress.push(p) }));

    expect(sha256(await bytesOf(files.checkpoint))).toBe(sha256(servedCheckpoint()));
    const requests = server.requestsFor(checkpointPath());
    expect(requests.map((r) => r.status)).toEqual([200, 200]);
    expect(requests[1]?.range).toMatch(/^bytes=\d+-$/);
    expect(progress.filter((p) => p.file === 'model.safetensors').at(-1)?.loaded).toBe(checkpointBytes);
  });

  it('starts over when a 206 does not start where asked', async () => {
    server.fail(checkpointPath(), { kind: 'drop', afterBytes: 300_000 }, 1);
    server.fail(checkpointPath(), { kind: 'wrong-range' }, 2);
    const files = await filesFromHub(repo, hub());

    expect(sha256(await bytesOf(files.checkpoint))).toBe(sha256(servedCheckpoint()));
    const requests = server.requestsFor(checkpointPath());
    expect(requests.map((r) => [r.status, r.range === undefined])).toEqual([
      [200, true],
      [206, false],
      [200, true],
    ]);
  });

  it('gives up after the set number of attempts, saying how much arrived', async () => {
    server.fail(checkpointPath(), { kind: 'drop', afterBytes: 100_000 });
    const error = await rejection(filesFromHub(repo, hub({ maxAttempts: 3 })));

    expect(error.kind).toBe('network');
    expect(error.message).toContain(`${server.url}${checkpointPath()}: download failed 3 times, `);
    const arrived = Number(/failed 3 times, (\d+) of (\d+) bytes arrived/.exec(error.message)?.[1]);
    expect(error.message).toContain(`of ${checkpointBytes} bytes arrived`);
    expect(arrived).toBeGreaterThan(0);
    expect(arrived).toBeLessThanOrEqual(300_000);
    expect(server.requestsFor(checkpointPath())).toHaveLength(3);
  });

  it('names the URL and status of a missing model without retrying', async () => {
    const error = await rejection(filesFromHub('nobody/nothing', hub()));
    const url = `${server.url}/nobody/nothing/resolve/main/config.json`;
    expect(error.kind).toBe('network');
    expect(error.file).toBe(url);
    expect(error.message).toBe(`${url}: HTTP 404 Not Found: no such model or file on the hub`);
    expect(server.requests).toHaveLength(1);
  });

  it('retries a server error, and reports its status when it persists', async () => {
    server.fail(paths['config.json'] ?? '', { kind: 'status', status: 500 }, 1);
    await filesFromHub(repo, hub());
    expect(server.requestsFor(paths['config.json'] ?? '').map((r) => r.status)).toEqual([500, 200]);

    server.fail(paths['config.json'] ?? '', { kind: 'status', status: 503 });
    const error = await rejection(filesFromHub(repo, hub({ maxAttempts: 2 })));
    expect(error.kind).toBe('network');
    expect(error.message).toContain('config.json: download failed 2 times, 0 of an unknown number of bytes');
    expect(error.message).toContain('HTTP 503 Service Unavailable: the hub failed; try again later');
  });

  it('refuses a repository with only a PyTorch checkpoint, saying how to convert it', async () => {
    await writeHubRepo(join(root, 'hub'), 'acme/old', {
      'config.json': '{}',
      'tokenizer.json': '{}',
      'pytorch_model.bin': 'not read',
    });
    const error = await rejection(filesFromHub('acme/old', hub()));
    expect(error.kind).toBe('unsupported');
    expect(error.message).toContain('pytorch_model.bin: acme/old has a PyTorch checkpoint only');
    expect(error.message).toContain('safetensors checkpoints only');
    expect(error.message).toContain('save_pretrained(out, safe_serialization=True)');
    expect(server.requests.at(-1)).toMatchObject({ method: 'HEAD', status: 200 });
  });

  it('takes vocab.json + merges.txt when there is no tokenizer.json', async () => {
    await writeHubRepo(join(root, 'hub'), 'acme/pair', {
      'config.json': '{"n_layer": 1}',
      'vocab.json': '{"a": 0}',
      'merges.txt': '#version: 0.2\n',
      'model.safetensors': servedCheckpoint(),
    });
    const files = await filesFromHub('acme/pair', hub());
    expect(files.tokenizer).toEqual({ vocabJson: '{"a": 0}', mergesTxt: '#version: 0.2\n' });

    await rm(join(root, 'hub', 'acme/pair/resolve/main/merges.txt'));
    const error = await rejection(filesFromHub('acme/pair', hub()));
    expect(error.kind).toBe('missing');
    expect(error.message).toContain(
      'tokenizer.json: no tokenizer: neither tokenizer.json nor vocab.json + merges.txt exists',
    );
  });

  it('downloads a file served without Content-Length', async () => {
    server.fail(checkpointPath(), { kind: 'no-length' });
    const progress: DownloadProgress[] = [];
    const files = await filesFromHub(repo, hub({ onProgress: (p) => progress.push(p) }));
    expect(sha256(await bytesOf(files.checkpoint))).toBe(sha256(servedCheckpoint()));
    expect(progress.filter((p) => p.file === 'model.safetensors').at(-1)).toMatchObject({
      loaded: checkpointBytes,
      total: undefined,
      percent: undefined,
    });
  });

  it('stops when cancelled', async () => {
    server.fail(checkpointPath(), { kind: 'slow', chunkBytes: 16_384, delayMs: 20 });
    const controller = new AbortController();
    const onProgress = (p: DownloadProgress): void => {
      if (p.file === 'model.safetensors' && p.loaded > 0) controller.abort();
    };
    const error = await rejection(filesFromHub(repo, hub({ signal: controller.signal, onProgress })));
    expect(error.kind).toBe('aborted');
    expect(error.message).toMatch(/model\.safetensors: download cancelled after \d+ of 1500000 bytes$/);
    expect(server.requestsFor(checkpointPath())).toHaveLength(1);

    const before = server.requests.length;
    const cancelled = await rejection(filesFromHub(repo, hub({ signal: AbortSignal.abort() })));
    expect(cancelled.kind).toBe('aborted');
    expect(server.requests).toHaveLength(before);
  });
});

describe('cache', () => {
  it('loads a cached model with no request', async () => {
    const cache = new NodeModelCache(join(root, 'cache'));
    expect(await isHubModelCached(repo, cache, hub())).toBe(false);
    await filesFromHub(repo, hub({ cache }));
    expect(await isHubModelCached(repo, cache, hub())).toBe(true);
    expect(await isHubModelCached(repo, cache, { endpoint: server.url, revision: 'v2' })).toBe(false);

    const before = server.requests.length;
    const progress: DownloadProgress[] = [];
    const files = await filesFromHub(repo, hub({ cache, onProgress: (p) => progress.push(p) }));
    expect(server.requests).toHaveLength(before);
    expect(sha256(await bytesOf(files.checkpoint))).toBe(sha256(servedCheckpoint()));
    expect(files.tokenizer.tokenizerJson).toBe(served['tokenizer.json']);
    expect(progress.map((p) => [p.file, p.cached, p.percent])).toEqual([
      ['config.json', true, 100],
      ['tokenizer.json', true, 100],
      ['model.safetensors', true, 100],
    ]);

    const host = new URL(server.url).host.replace(':', '_');
    expect(await cache.list()).toEqual(
      ['config.json', 'model.safetensors', 'tokenizer.json'].map((file) => ({
        key: `${host}/${repo}/resolve/main/${file}`,
        size: Buffer.byteLength(served[file] ?? ''),
        complete: true,
      })),
    );
  });

  it('resumes an unfinished download in a later run', async () => {
    const cache = new NodeModelCache(join(root, 'cache'));
    const key = cacheKey(`${server.url}${checkpointPath()}`);
    server.fail(checkpointPath(), { kind: 'drop', afterBytes: 400_000 }, 1);
    const error = await rejection(filesFromHub(repo, hub({ cache, maxAttempts: 1 })));
    expect(error.kind).toBe('network');

    const kept = await cache.partial(key);
    expect(kept).toBeGreaterThan(0);
    expect(await cache.get(key)).toBeUndefined();
    expect(await isHubModelCached(repo, cache, hub())).toBe(false);

    const files = await filesFromHub(repo, hub({ cache }));
    expect(server.requestsFor(checkpointPath()).at(-1)).toMatchObject({
      range: `bytes=${kept}-`,
      status: 206,
    });
    expect(sha256(await bytesOf(files.checkpoint))).toBe(sha256(servedCheckpoint()));
    expect(await cache.partial(key)).toBe(0);
  });

  it('completes an entry whose every byte arrived before the run stopped', async () => {
    const cache = new NodeModelCache(join(root, 'cache'));
    const key = cacheKey(`${server.url}${checkpointPath()}`);
    const writer = await cache.append(key);
    await writer.write(new Uint8Array(servedCheckpoint()));
    await writer.close();

    const files = await filesFromHub(repo, hub({ cache }));
    expect(server.requestsFor(checkpointPath())).toEqual([
      { method: 'GET', path: checkpointPath(), range: `bytes=${checkpointBytes}-`, status: 416 },
    ]);
    expect(sha256(await bytesOf(files.checkpoint))).toBe(sha256(servedCheckpoint()));
  });

  it('deletes entries, drops empty unfinished ones and refuses keys that leave its folder', async () => {
    const cache = new NodeModelCache(join(root, 'cache'));
    const empty = await cache.append('host/a/empty');
    await empty.close();
    const writer = await cache.append('host/a/file');
    await writer.write(new Uint8Array([1, 2, 3]));
    await writer.reset();
    await writer.write(new Uint8Array([4, 5]));
    const source = await writer.commit();
    expect(await bytesOf(source)).toEqual(new Uint8Array([4, 5]));
    expect(await cache.list()).toEqual([{ key: 'host/a/file', size: 2, complete: true }]);

    await cache.delete('host/a/file');
    expect(await cache.list()).toEqual([]);
    await expect(cache.get('host/../../etc/passwd')).rejects.toThrow(RangeError);
    expect(defaultCacheDir({ STRATA_CACHE_DIR: '/srv/models' })).toBe('/srv/models');
    expect(defaultCacheDir({})).toMatch(/\.cache\/strata$/);
  });
});

describe('a folder served with the app', () => {
  beforeEach(async () => {
    const folder = join(root, 'hub', 'models', 'tiny');
    await mkdir(folder, { recursive: true });
    for (const [name, content] of Object.entries(served)) await writeFile(join(folder, name), content);
  });

  it('loads config, tokenizer and checkpoint relative to the base URL', async () => {
    const files = await filesFromFolder(`${server.url}/models/tiny`);
    expect(files.name).toBe('tiny');
    expect(files.config).toBe(served['config.json']);
    expect(files.tokenizer.tokenizerJson).toBe(served['tokenizer.json']);
    expect(sha256(await bytesOf(files.checkpoint))).toBe(sha256(servedCheckpoint()));
    expect(server.requests.map((r) => r.path)).toEqual([
      '/models/tiny/config.json',
      '/models/tiny/tokenizer.json',
      '/models/tiny/model.safetensors',
    ]);
  });

  it('treats an HTML page in place of a file as missing', async () => {
    server.fail('/models/tiny/tokenizer.json', { kind: 'html' });
    server.fail('/models/tiny/vocab.json', { kind: 'html' });
    const error = await rejection(filesFromFolder(`${server.url}/models/tiny/`));
    expect(error.kind).toBe('missing');
    expect(error.message).toBe(
      `${server.url}/models/tiny/tokenizer.json: no tokenizer: neither tokenizer.json nor vocab.json + merges.txt exists`,
    );
    expect(error.cause).toBeInstanceOf(ModelError);
    expect((error.cause as ModelError).message).toContain(
      'vocab.json: HTTP 404 Not Found (an HTML page came instead of the file): no such model or file on the server',
    );
  });
});

describe('picked files', () => {
  const picked = (names: string[]): File[] => names.map((name) => new File([served[name] ?? name], name));

  it('finds the model files by name', async () => {
    const files = await filesFromPicked(
      picked(['notes.txt', 'model.safetensors', 'tokenizer.json', 'config.json']),
    );
    expect(files.name).toBe('model.safetensors');
    expect(files.config).toBe(served['config.json']);
    expect(files.tokenizer.tokenizerJson).toBe(served['tokenizer.json']);
    expect(sha256(await bytesOf(files.checkpoint))).toBe(sha256(servedCheckpoint()));
  });

  it('lists what was picked and what is missing', async () => {
    const error = await rejection(filesFromPicked(picked(['model.safetensors', 'vocab.json'])));
    expect(error.kind).toBe('missing');
    expect(error.message).toBe(
      'config.json, tokenizer.json (or vocab.json + merges.txt): not among the picked files ' +
        '(model.safetensors, vocab.json); a GPT-2 model needs config.json, a .safetensors checkpoint ' +
        'and tokenizer.json (or vocab.json + merges.txt)',
    );
  });

  it('refuses PyTorch checkpoints and ambiguous picks', async () => {
    const pytorch = await rejection(filesFromPicked(picked(['config.json', 'pytorch_model.bin'])));
    expect(pytorch.kind).toBe('unsupported');
    expect(pytorch.message).toContain('pytorch_model.bin: the model has a PyTorch checkpoint only');

    const several = await rejection(
      filesFromPicked(picked(['config.json', 'a.safetensors', 'b.safetensors', 'tokenizer.json'])),
    );
    expect(several.kind).toBe('unsupported');
    expect(several.message).toContain(
      'a.safetensors, b.safetensors: several checkpoints among the picked files',
    );
  });
});

describe('Node files', () => {
  it('reads ranges of a file and refuses ranges outside it', async () => {
    const path = join(root, 'blob.bin');
    const bytes = servedCheckpoint();
    await writeFile(path, bytes);
    const source = await fileSource(path);
    expect(source.size).toBe(checkpointBytes);
    expect(await source.read(1000, 5000)).toEqual(bytes.subarray(1000, 6000));
    expect(await source.read(checkpointBytes, 0)).toEqual(new Uint8Array(0));
    await expect(source.read(checkpointBytes - 1, 2)).rejects.toThrow(
      `${path}: read of 2 bytes at 1499999 is outside the file (1500000 bytes)`,
    );
    const missing = await rejection(fileSource(join(root, 'nope.bin')));
    expect(missing.message).toBe(`${join(root, 'nope.bin')}: no such file`);
  });

  it('loads a model directory, and names what it lacks', async () => {
    const dir = join(root, 'gpt2-local');
    await mkdir(dir);
    for (const [name, content] of Object.entries(served)) await writeFile(join(dir, name), content);
    const files = await filesFromDirectory(dir);
    expect(files.name).toBe('gpt2-local');
    expect(files.config).toBe(served['config.json']);
    expect(sha256(await bytesOf(files.checkpoint))).toBe(sha256(servedCheckpoint()));

    await rm(join(dir, 'config.json'));
    const error = await rejection(filesFromDirectory(dir));
    expect(error.kind).toBe('missing');
    expect(error.message).toContain(`config.json: not among ${dir} (`);

    const absent = await rejection(filesFromDirectory(join(root, 'absent')));
    expect(absent.message).toBe(`${join(root, 'absent')}: no such directory`);
  });
});
