// Downloads that go wrong on the wire, against a real HTTP server on 127.0.0.1 that states each
// file's size and SHA-256 as the hub does: a stall before and after the headers, a short
// Content-Length, a close-delimited body cut short, and bytes that do not hash to the stated
// SHA-256. None of them may hang, and none may leave a file marked complete that is not whole.

import { createHash } from 'node:crypto';
import { readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { NodeModelCache } from '../src/cli/node-cache';
import { download, MemorySink } from '../src/io/download';
import { headMetadata, listingMetadata, sha256OfEtag } from '../src/io/hub-metadata';
import { filesFromHub, hubUrl, type HubOptions } from '../src/io/sources';
import { rejection } from './support/rejection';
import type { Fault } from './support/fixture-server';
import { useLocalHub } from './support/local-hub';

const repo = 'acme/tiny-gpt2';
const size = 600_000;
const file = `/${repo}/resolve/main/model.safetensors`;

const local = useLocalHub(repo, size, 'strata-faults-');

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');
const checkpoint = () => local().served['model.safetensors'] as Uint8Array<ArrayBuffer>;
const cacheDir = () => join(local().root, 'cache');
const cache = () => new NodeModelCache(cacheDir());
const key = 'model.safetensors';

/** Hub options: fast retries, a 0.3 s stall limit, files keyed by name in one cache folder. */
function hub(extra: HubOptions = {}): HubOptions {
  return {
    endpoint: local().server.url,
    retryDelayMs: 5,
    stallTimeoutMs: 300,
    maxAttempts: 3,
    cache: cache(),
    keyOf: (url) => new URL(url).pathname.split('/').pop()!,
    verify: 'head',
    ...extra,
  };
}

const gets = () =>
  local()
    .server.requestsFor(file)
    .filter((r) => r.method === 'GET');

async function expectWholeCheckpoint(): Promise<void> {
  const files = await filesFromHub(repo, hub());
  expect(sha256(await files.checkpoint.read(0, files.checkpoint.size))).toBe(sha256(checkpoint()));
}

/** One answer cut short by `fault` after `at` bytes: the download asks for the rest, and the file is whole. */
async function expectResumedFrom(fault: Fault, at: number): Promise<void> {
  local().server.fail(file, fault, 1);
  await expectWholeCheckpoint();
  expect(gets().map((r) => r.range)).toEqual([undefined, `bytes=${at}-`]);
}

describe('what the hub states', () => {
  it('reads size and sha256 from HEAD without following a redirect, and from the model API', async () => {
    const head = headMetadata((name) => hubUrl(repo, name, { endpoint: local().server.url }));
    expect(await head('model.safetensors')).toEqual({ size, sha256: sha256(checkpoint()) });
    // A non-LFS file: its size, and its ETag is a git blob id, not a sha256.
    expect(await head('config.json')).toEqual({ size: (local().served['config.json'] as string).length });
    const listing = listingMetadata(local().server.url, repo, 'main');
    expect(await listing('model.safetensors')).toEqual({ size, sha256: sha256(checkpoint()) });
    expect(await listing('config.json')).toEqual({ size: (local().served['config.json'] as string).length });
    expect(await listingMetadata(local().server.url, 'acme/none', 'main')('config.json')).toBeUndefined();
  });

  it('reads them from the redirect of an LFS file, which only Node sees', async () => {
    local().server.redirectLfs = true;
    const head = headMetadata((name) => hubUrl(repo, name, { endpoint: local().server.url }));
    expect(await head('model.safetensors')).toEqual({ size, sha256: sha256(checkpoint()) });
    expect(local().server.requestsFor(file)).toEqual([
      { method: 'HEAD', path: file, range: undefined, status: 302 },
    ]);
    // The download follows the redirect; the CDN's answer has no X-Linked-*, the HEAD's statement is used.
    local().server.fail(`/cdn${file}`, { kind: 'corrupt' }, 1);
    const error = await rejection(filesFromHub(repo, hub({ verify: 'head' })));
    expect(error.message).toContain(`not the ${sha256(checkpoint())} the hub states`);
    await rm(cacheDir(), { recursive: true, force: true });
    await expectWholeCheckpoint();
    expect(local().server.requestsFor(`/cdn${file}`).at(-1)).toMatchObject({ method: 'GET', status: 200 });
  });

  it('takes a 64-hex ETag as a sha256 and a 40-hex one as a git id', () => {
    const sha = 'a'.repeat(64);
    expect(sha256OfEtag(`"${sha}"`)).toBe(sha);
    expect(sha256OfEtag(`W/"${sha.toUpperCase()}"`)).toBe(sha);
    expect(sha256OfEtag(`"${'b'.repeat(40)}"`)).toBeUndefined();
    expect(sha256OfEtag(null)).toBeUndefined();
  });
});

describe('faults on the wire', () => {
  it('drops a connection that stalls before its headers, and asks again', async () => {
    local().server.fail(file, { kind: 'stall-headers' }, 1);
    await expectWholeCheckpoint();
    expect(gets()).toHaveLength(2);
    expect(await cache().verified(key)).toBe(`sha256 ${sha256(checkpoint())}`);
  });

  it('resumes a connection that stalls after the headers from the bytes it sent', async () => {
    await expectResumedFrom({ kind: 'stall', afterBytes: 200_000 }, 200_000);
  });

  it('counts stalls as attempts: a server that never answers fails after the cap', async () => {
    local().server.fail(file, { kind: 'stall-headers' });
    const error = await rejection(filesFromHub(repo, hub()));
    expect(error.kind).toBe('network');
    expect(error.message).toContain('download failed 3 times, 0 of 600000 bytes arrived');
    expect(error.message).toContain('no data arrived for 0.3 s');
    expect(gets()).toHaveLength(3);
    expect(await cache().get(key)).toBeUndefined();
  });

  it('does not take a short Content-Length for the whole file', async () => {
    await expectResumedFrom({ kind: 'short-length', bytes: 250_000 }, 250_000);

    // Every answer short: nothing is marked complete, what arrived is kept to resume from.
    await rm(cacheDir(), { recursive: true });
    local().server.fail(file, { kind: 'short-length', bytes: 250_000 });
    const error = await rejection(filesFromHub(repo, hub()));
    expect(error.message).toContain('the body ended after 250000 of 600000 bytes');
    expect(await cache().get(key)).toBeUndefined();
    expect(await cache().partial(key)).toBe(250_000);
  });

  it('does not take a close-delimited body cut short for the whole file', async () => {
    await expectResumedFrom({ kind: 'close-cut', afterBytes: 100_000 }, 100_000);
  });

  it('refuses bytes that do not hash to the stated sha256 and keeps nothing of them', async () => {
    local().server.fail(file, { kind: 'corrupt' });
    for (const verify of ['head', 'listing'] as const) {
      const error = await rejection(filesFromHub(repo, hub({ verify })));
      expect(error.kind).toBe('corrupt');
      expect(error.message).toContain(`not the ${sha256(checkpoint())} the hub states`);
      expect(error.message).toContain('nothing of it was kept');
      expect(await cache().get(key)).toBeUndefined();
      expect(await cache().partial(key)).toBe(0);
    }
  });

  it('hashes a partial file of an earlier run once, then verifies the rest as it streams', async () => {
    await mkdir(cacheDir(), { recursive: true });
    await writeFile(join(cacheDir(), 'model.safetensors.part'), checkpoint().subarray(0, 300_000));
    await expectWholeCheckpoint();
    expect(gets().map((r) => r.range)).toEqual(['bytes=300000-']);
    // A damaged partial is caught at the end and nothing is kept.
    await rm(cacheDir(), { recursive: true });
    await mkdir(cacheDir(), { recursive: true });
    const damaged = checkpoint().slice(0, 300_000);
    damaged[10]! ^= 1;
    await writeFile(join(cacheDir(), 'model.safetensors.part'), damaged);
    const error = await rejection(filesFromHub(repo, hub()));
    expect(error.kind).toBe('corrupt');
    expect(await cache().partial(key)).toBe(0);
  });

  it('fetches again a cached file that does not verify, and does not re-hash one that did', async () => {
    await expectWholeCheckpoint();
    const record = await readFile(join(cacheDir(), '.verified', 'model.safetensors.verified'), 'utf8');
    expect(record.split('\n')[0]).toBe(`sha256 ${sha256(checkpoint())}`);
    expect(gets()).toHaveLength(1);
    await expectWholeCheckpoint(); // verified: served from the cache
    expect(gets()).toHaveLength(1);

    // Replaced on disk by a damaged copy (same size): the record no longer applies, the hash fails.
    const damaged = checkpoint().slice();
    damaged[5]! ^= 1;
    await writeFile(join(cacheDir(), 'model.safetensors'), damaged);
    await expectWholeCheckpoint();
    expect(gets()).toHaveLength(2);
  });

  it('verifies memory downloads too (no cache)', async () => {
    local().server.fail(file, { kind: 'short-length', bytes: 1000 }, 1);
    const sink = new MemorySink();
    await download(`${local().server.url}${file}`, sink, {
      retryDelayMs: 5,
      expected: { size, sha256: sha256(checkpoint()) },
    });
    expect(sha256(new Uint8Array(await sink.blob().arrayBuffer()))).toBe(sha256(checkpoint()));
  });
});
