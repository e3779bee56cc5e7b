// The WGSL kernels read from shaders/ for Node entry points run by tsx (no Vite there).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { libraryFromPaths, type ShaderLibrary } from '../gpu/shader-library';

export function nodeShaders(): ShaderLibrary {
  const dir = fileURLToPath(new URL('../../shaders/', import.meta.url));
  const files: Record<string, string> = {};
  for (const f of readdirSync(dir, { recursive: true, encoding: 'utf8' }))
    if (f.endsWith('.wgsl')) files[f] = readFileSync(join(dir, f), 'utf8');
  return libraryFromPaths(files);
}
