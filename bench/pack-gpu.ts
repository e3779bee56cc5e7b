// Bundles the GPU bundle's two programs into ES modules that need no node_modules beside them but
// `webgpu` (Dawn):
// - bench.mjs: bench/gpu-entry.ts, and through it src/cli/bench.ts, the engine, every WGSL kernel
//   and bench:peers' driver (bench/peers/bench.ts, Node runtime only);
// - peers-worker.mjs: bench:peers' Node host (bench/peers/node-worker.ts) with TensorFlow.js;
//   onnxruntime-web's WebGPU build is copied beside it as files (peers/ort/), as it loads its wasm.
//   npx tsx bench/pack-gpu.ts DIR
// Called by bench/pack-gpu.sh. esbuild is the one tsx and Vite bring (loaded by name at run time);
// the peers come from bench/peers/node_modules (installed first, as bench:peers does).

import { copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensurePeers, peersDir } from './peers/install';

interface OnLoadResult {
  contents: string;
  loader: string;
  resolveDir?: string;
}
interface Plugin {
  name: string;
  setup(build: { onLoad(o: { filter: RegExp }, f: () => OnLoadResult): void }): void;
}
interface Esbuild {
  build(options: Record<string, unknown>): Promise<{ warnings: unknown[] }>;
}

const dir = process.argv[2];
if (!dir) throw new Error('usage: npx tsx bench/pack-gpu.ts DIR');
const root = fileURLToPath(new URL('..', import.meta.url));
const shaderDir = join(root, 'shaders');
const shaders: Record<string, string> = {};
for (const f of readdirSync(shaderDir, { recursive: true, encoding: 'utf8' }))
  if (f.endsWith('.wgsl')) shaders[f] = readFileSync(join(shaderDir, f), 'utf8');

/** Replaces the module at `filter` with `contents` (what the source tree reads from disk). */
const replace = (name: string, filter: RegExp, contents: string, resolveDir?: string): Plugin => ({
  name,
  setup(build) {
    build.onLoad({ filter }, () => ({ contents, loader: 'ts', ...(resolveDir ? { resolveDir } : {}) }));
  },
});

const plugins: Plugin[] = [
  // node-shaders.ts reads shaders/ beside the sources; the bundle carries them instead.
  replace(
    'embedded-shaders',
    /src[\\/]cli[\\/]node-shaders\.ts$/,
    `import { libraryFromPaths } from '../gpu/shader-library';\n` +
      `const files = ${JSON.stringify(shaders)};\n` +
      `export function nodeShaders() { return libraryFromPaths(files); }\n`,
  ),
  // tf-node.ts requires TensorFlow.js by path at run time; the bundle carries it.
  replace(
    'bundled-tfjs',
    /bench[\\/]peers[\\/]tf-node\.ts$/,
    // Imported when called, as tf-node.ts requires them: the backend registers itself only if
    // navigator.gpu is there, which the Node host sets first.
    `export async function loadTf() {\n` +
      `  const tf = await import('@tensorflow/tfjs-core');\n` +
      `  await import('@tensorflow/tfjs-backend-webgpu');\n` +
      `  return tf;\n}\n`,
    peersDir,
  ),
  // The bundle has no Chromium: bench:peers runs there with --runtime node only.
  replace(
    'no-chromium',
    /bench[\\/]peers[\\/]driver-chromium\.ts$/,
    `export async function chromiumDriver(): Promise<never> {\n` +
      `  throw new Error('the GPU bundle has no Chromium: bench:peers runs with --runtime node');\n}\n`,
  ),
];

ensurePeers();
const esbuild = (await import('esbuild' as string)) as Esbuild;
const bundle = (entry: string, out: string) =>
  esbuild.build({
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['webgpu'],
    // The CLI modules' "am I the main module" checks compare import.meta.url with argv[1]: in one
    // bundle every module would pass, so give them a URL that is never argv[1].
    define: { 'import.meta.url': JSON.stringify('file:///strata-gpu-bundle/module.js') },
    // CommonJS modules bundled into ESM (TensorFlow.js's node build) call require for Node's own.
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(process.argv[1]);",
    },
    logLevel: 'warning',
    plugins,
  });
await bundle(join(root, 'bench', 'gpu-entry.ts'), join(dir, 'bench.mjs'));
await bundle(join(root, 'bench', 'peers', 'node-worker.ts'), join(dir, 'peers-worker.mjs'));
const ort = join(peersDir, 'node_modules', 'onnxruntime-web', 'dist');
mkdirSync(join(dir, 'peers', 'ort'), { recursive: true });
for (const f of [
  'ort.webgpu.min.mjs',
  'ort-wasm-simd-threaded.asyncify.mjs',
  'ort-wasm-simd-threaded.asyncify.wasm',
])
  copyFileSync(join(ort, f), join(dir, 'peers', 'ort', f));
console.log(
  `bundled ${dir}/bench.mjs and peers-worker.mjs (${Object.keys(shaders).length} WGSL kernels embedded)`,
);
