// TensorFlow.js with its WebGPU backend for the Node host, from bench/peers/node_modules (required by
// path: the root install and `npm run check` do not have it), after the Node host has set
// navigator.gpu (the backend registers itself only where it is). The GPU bundle (bench/pack-gpu.ts)
// replaces this module with the same two imports, which esbuild bundles.

import { createRequire } from 'node:module';
import { join } from 'node:path';
import { peersDir } from './install';
import type { TfModule } from './peer-types';

export async function loadTf(): Promise<TfModule> {
  const require = createRequire(join(peersDir, 'package.json'));
  const tf = require('@tensorflow/tfjs-core') as TfModule;
  require('@tensorflow/tfjs-backend-webgpu'); // registers the 'webgpu' backend with tfjs-core
  return tf;
}
