// A local hub for the download tests, fresh for every test: a temporary folder holding a hub repo of
// modelFiles (test/support/fixture-server.ts) served on 127.0.0.1, closed and removed after the test.
// Kept apart from fixture-server.ts because this imports vitest, which the e2e specs must not load.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { FixtureServer, modelFiles, writeHubRepo } from './fixture-server';

export interface LocalHub {
  /** The test's folder: the hub's files under `hub/`, anything else the test writes beside them. */
  readonly root: string;
  readonly server: FixtureServer;
  /** The repo's files by name, as served. */
  readonly served: Record<string, Uint8Array<ArrayBuffer> | string>;
  /** Their URL paths by name (`/acme/tiny-gpt2/resolve/main/model.safetensors`). */
  readonly paths: Record<string, string>;
}

/**
 * `repo` with a checkpoint of `checkpointBytes` random bytes, served for each test of the file (or
 * describe block); call the returned function inside tests and hooks.
 */
export function useLocalHub(repo: string, checkpointBytes: number, prefix: string): () => LocalHub {
  let current: LocalHub | undefined;
  beforeEach(async () => {
    const root = await mkdtemp(join(tmpdir(), prefix));
    const served = modelFiles(checkpointBytes);
    const paths = await writeHubRepo(join(root, 'hub'), repo, served);
    current = { root, served, paths, server: await FixtureServer.start(join(root, 'hub')) };
  });
  afterEach(async () => {
    if (!current) return;
    const { root, server } = current;
    current = undefined;
    await server.close();
    await rm(root, { recursive: true, force: true });
  });
  return () => {
    if (!current) throw new Error('the local hub starts in beforeEach: use it inside tests and hooks');
    return current;
  };
}
