// The GPU bench bundle (bench/pack-gpu.sh, bench/gpu.sh): packed here, unpacked into a temporary
// folder with nothing of the repo beside it, and run with a bare environment (PATH only: no npm, no
// node_modules but the bundle's Dawn). On this machine Dawn finds SwiftShader, so gpu.sh must refuse
// it without --allow-software, and with it write one JSON with the forward (no captures, the
// studio's, every hook), the causal patching case, and bench:peers run in Node from the bundle's own
// files (Strata, onnxruntime-web and TensorFlow.js, each checked against the CPU reference). Slow
// (minutes): packing (it installs bench/peers), the bench's own matmul run and the peers' first runs.

import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const exec = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'strata-gpu-'));
const bundle = join(dir, 'strata-gpu.tar.xz');
const gpuSh = join(dir, 'strata-gpu', 'gpu.sh');
const bare = { PATH: '/usr/bin:/bin', HOME: dir };

function runGpu(args: string[]) {
  return exec(gpuSh, args, { cwd: dir, env: bare, maxBuffer: 1 << 24 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

describe('the GPU bench bundle', () => {
  beforeAll(async () => {
    // xz -0: the fastest level, for the test; the default (-6) only packs tighter.
    await exec('bash', ['bench/pack-gpu.sh', bundle], { env: { ...process.env, XZ_LEVEL: '0' } });
    await exec('tar', ['-C', dir, '-xJf', bundle]);
  }, 600_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is at most 64 MiB and holds Node, Dawn, the Vulkan loader and one bench file', () => {
    expect(statSync(bundle).size).toBeLessThanOrEqual(64 * 2 ** 20);
    const root = join(dir, 'strata-gpu');
    const files = ['bin/node', 'bench.mjs', 'peers-worker.mjs', 'gpu.sh', 'lib/libvulkan.so.1'];
    files.push('node_modules/webgpu/index.js', 'peers/ort/ort.webgpu.min.mjs');
    for (const f of files) expect(existsSync(join(root, f)), f).toBe(true);
    expect(existsSync(join(root, 'node_modules/webgpu/dist/linux-x64/dawn.node'))).toBe(true);
    expect(readdirSync(join(root, 'node_modules'))).toEqual(['webgpu']);
  });

  it('refuses a software adapter unless --allow-software', async () => {
    const r = await runGpu(['--out', 'refused.json']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/refusing to bench: .*(fallback|software)/);
    expect(existsSync(join(dir, 'refused.json'))).toBe(false);
  });

  it('with --allow-software writes one JSON of the forward, captures, patching and peers numbers', async () => {
    const r = await runGpu([
      '--allow-software',
      ...['--shape', 'tiny', '--T', '16', '--reps', '1', '--causal-shape', '2,2,64,64,512'],
      ...['--peers', '--shapes tiny --T-tiny 16 --reps 1', '--out', 'gpu.json'],
    ]);
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(readFileSync(join(dir, 'gpu.json'), 'utf8'));
    expect(json.adapter_info.architecture).toBe('swiftshader');
    expect(json.bundle).toMatchObject({ allow_software: true, node: process.version });
    expect(json.bundle.software_adapter).toMatch(/fallback|software/);
    expect(json.forward.map((f: { captures: string }) => f.captures)).toEqual(['none', 'studio', 'every']);
    for (const f of json.forward) {
      expect(f).toMatchObject({ shape: 'tiny', T: 16 });
      expect(f.median_ms).toBeGreaterThan(0);
      expect(f.dispatches).toBeGreaterThan(0);
    }
    expect(json.causal).toHaveLength(1);
    expect(json.causal[0].median_ms).toBeGreaterThan(0);
    expect(json.matmul.length).toBeGreaterThan(0);
    // bench:peers in Node on the same adapter: every engine agreed with the reference and was timed.
    expect(json.peers.adapter).toMatchObject({ architecture: 'swiftshader', runtime: 'Node (Dawn)' });
    const timed = json.peers.rows.filter((row: { status: string }) => row.status === 'ok');
    expect(timed.map((row: { engine: string; mode: string }) => `${row.engine} ${row.mode}`).sort()).toEqual([
      'ort forward',
      'ort-fused forward',
      'strata captures',
      'strata forward',
      'tfjs forward',
    ]);
    for (const row of timed) expect(row.max_err).toBeLessThanOrEqual(row.tol);
    expect(existsSync(join(dir, 'strata-gpu', 'peers', 'models'))).toBe(false);
  }, 900_000);
});
