// The WGSL kernels bundled by Vite (browser build, vitest). Node scripts use src/cli/node-shaders.ts.
import { libraryFromPaths } from './shader-library';

export const viteShaders = libraryFromPaths(
  import.meta.glob<string>('../../shaders/**/*.wgsl', { query: '?raw', import: 'default', eager: true }),
);
