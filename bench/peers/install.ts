// bench/peers/ is its own npm package (onnxruntime-web, TensorFlow.js, esbuild), kept out of the
// root install: installed from its lockfile the first time a script needs it.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const peersDir = fileURLToPath(new URL('.', import.meta.url));

/** Runs `npm ci` in bench/peers unless its node_modules already holds what package.json asks for. */
export function ensurePeers(): void {
  const manifest = JSON.parse(readFileSync(join(peersDir, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const installed = Object.entries(manifest.dependencies).every(([name, version]) => {
    const file = join(peersDir, 'node_modules', name, 'package.json');
    return (
      existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version === version
    );
  });
  if (installed) return;
  console.log('bench/peers: installing the peers (npm ci --prefix bench/peers) …');
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--prefix', peersDir], { stdio: 'inherit' });
}

/** The parts of esbuild's API the scripts use. */
export interface Esbuild {
  build(options: Record<string, unknown>): Promise<{ outputFiles?: { text: string }[] }>;
}

/** esbuild from bench/peers/node_modules (loaded by path: the root install does not have it). */
export async function peerEsbuild(): Promise<Esbuild> {
  ensurePeers();
  const main = join(peersDir, 'node_modules', 'esbuild', 'lib', 'main.js');
  const mod = (await import(pathToFileURL(main).href)) as { default?: Esbuild } & Esbuild;
  return mod.default ?? mod;
}
