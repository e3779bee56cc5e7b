// Bundles bench/gpu-entry.ts (and through it src/cli/bench.ts, the engine and every WGSL kernel)
// into one ES module for the GPU bundle: no node_modules needed beside it but `webgpu` (Dawn).
//   npx tsx bench/pack-gpu.ts OUT.mjs
// Called by bench/pack-gpu.sh. esbuild is the one tsx and Vite bring (loaded by name at run time).

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Esbuild {
  build(options: Record<string, unknown>): Promise<{ warnings: unknown[] }>;
}

const out = process.argv[2];
if (!out) throw new Error('usage: npx tsx bench/pack-gpu.ts OUT.mjs');
const root = fileURLToPath(new URL('..', import.meta.url));
const shaderDir = join(root, 'shaders');
const shaders: Record<string, string> = {};
for (const f of readdirSync(shaderDir, { recursive: true, encoding: 'utf8' }))
  if (f.endsWith('.wgsl')) shaders[f] = readFileSync(join(shaderDir, f), 'utf8');

const esbuild = (await import('esbuild' as string)) as Esbuild;
await esbuild.build({
  entryPoints: [join(root, 'bench', 'gpu-entry.ts')],
  outfile: out,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  external: ['webgpu'],
  // The CLI modules' "am I the main module" checks compare import.meta.url with argv[1]: in one
  // bundle every module would pass, so give them a URL that is never argv[1].
  define: { 'import.meta.url': JSON.stringify('file:///strata-gpu-bundle/module.js') },
  logLevel: 'warning',
  plugins: [
    {
      name: 'embedded-shaders',
      setup(build: { onLoad(o: { filter: RegExp }, f: () => { contents: string; loader: string }): void }) {
        // node-shaders.ts reads shaders/ beside the sources; the bundle carries them instead.
        build.onLoad({ filter: /src[\\/]cli[\\/]node-shaders\.ts$/ }, () => ({
          contents:
            `import { libraryFromPaths } from '../gpu/shader-library';\n` +
            `const files = ${JSON.stringify(shaders)};\n` +
            `export function nodeShaders() { return libraryFromPaths(files); }\n`,
          loader: 'ts',
        }));
      },
    },
  ],
});
console.log(`bundled ${out} (${Object.keys(shaders).length} WGSL kernels embedded)`);
