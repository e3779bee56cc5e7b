import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig({
  plugins: [svelte()],
  // static/ is served at the site root: the bundled model lives in static/models/NAME/.
  publicDir: 'static',
  server: { port: 5173 },
  preview: { port: 4173 },
  build: { target: 'es2022', chunkSizeWarningLimit: 2048 },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // One core here: files run one at a time so GPU (SwiftShader) tests do not fight each other.
    fileParallelism: false,
  },
});
