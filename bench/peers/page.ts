// The Chromium host of `npm run bench:peers` (bundled by server.ts with esbuild): the engines of
// engines.ts on the page's WebGPU, with the checkpoints, the kernels and onnxruntime-web's files
// fetched from the bench's server, and TensorFlow.js from its UMD scripts (they set window.tf).

import { acquireGpu } from '../../src/gpu/device';
import type { ShaderLibrary } from '../../src/gpu/shader-library';
import { bytesSource } from '../../src/model/byte-source';
import { openGpt2Checkpoint } from '../../src/model/checkpoint';
import { parseGpt2Config } from '../../src/model/config';
import { openSafetensors } from '../../src/model/safetensors';
import { PeerEngines } from './engines';
import type { OrtModule, TfModule } from './peer-types';

declare global {
  interface Window {
    tf?: TfModule;
    peerBench: PeerEngines;
  }
}

window.peerBench = new PeerEngines({
  gpu: () => acquireGpu(navigator.gpu, { environment: 'Chromium' }),
  shaders: async () => (await (await fetch('/shaders.json')).json()) as ShaderLibrary,
  async checkpoint(shape) {
    const base = `/models/${shape}/`;
    const config = parseGpt2Config(await (await fetch(base + 'config.json')).text());
    const bytes = new Uint8Array(await (await fetch(base + 'model.safetensors')).arrayBuffer());
    const file = await openSafetensors(bytesSource('model.safetensors', bytes));
    return openGpt2Checkpoint(config, file).loadWeights();
  },
  async ort() {
    const ort = (await import(/* @vite-ignore */ '/ort/ort.webgpu.min.mjs' as string)) as OrtModule;
    ort.env.wasm.wasmPaths = '/ort/';
    return ort;
  },
  async tf() {
    const tf = window.tf;
    if (!tf) throw new Error('TensorFlow.js did not load (its scripts set window.tf)');
    return tf;
  },
});
