// The Node host of `npm run bench:peers -- --runtime node` (and of the GPU bundle): the engines of
// engines.ts on Dawn (the `webgpu` package), which is how the peers can run where Chromium cannot
// go. onnxruntime-web and TensorFlow.js are browser libraries; two things make them run here, both
// shims of the platform, not of any engine:
// - `navigator.gpu` is Dawn's GPU object (Node 20 has no `navigator`);
// - Dawn's `GPUQueue.writeBuffer` rejects views of a SharedArrayBuffer ("Invalid argument"), which
//   is where ORT's threaded wasm build keeps its memory, so such views are copied to a plain buffer
//   first (Chromium takes them as they are). Only ORT passes such views: the token ids, its
//   uniforms, and the weights at load.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { nodeGpu, nodeGpuApi } from '../../src/cli/node-gpu';
import { nodeShaders } from '../../src/cli/node-shaders';
import { bytesSource } from '../../src/model/byte-source';
import { openGpt2Checkpoint } from '../../src/model/checkpoint';
import { parseGpt2Config } from '../../src/model/config';
import { openSafetensors } from '../../src/model/safetensors';
import type { PeerHost } from './engines';
import type { OrtModule, TfModule } from './peer-types';

export interface NodePeerPaths {
  /** Where the checkpoints are, one folder per shape (config.json, model.safetensors). */
  models: string;
  /** onnxruntime-web's dist folder (ort.webgpu.min.mjs and its wasm). */
  ortDist: string;
  /** TensorFlow.js with its WebGPU backend registered. */
  tf(): Promise<TfModule>;
}

async function installShims(): Promise<void> {
  const gpu = await nodeGpuApi(); // also puts Dawn's GPU* classes on globalThis
  if (!('navigator' in globalThis) || !globalThis.navigator?.gpu) {
    Object.defineProperty(globalThis, 'navigator', {
      value: { gpu, userAgent: `Node.js/${process.version}`, hardwareConcurrency: 1 },
      configurable: true,
    });
  }
  const queue = GPUQueue.prototype;
  const write = queue.writeBuffer;
  queue.writeBuffer = function (
    this: GPUQueue,
    buffer: GPUBuffer,
    offset: number,
    data: BufferSource | SharedArrayBuffer,
    dataOffset = 0,
    size?: number,
  ) {
    if (ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer) {
      // dataOffset and size count elements of a typed array, bytes of a DataView.
      const unit =
        'BYTES_PER_ELEMENT' in data
          ? (data as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT
          : 1;
      const start = data.byteOffset + dataOffset * unit;
      const bytes = size !== undefined ? size * unit : data.byteLength - dataOffset * unit;
      return write.call(this, buffer, offset, new Uint8Array(data.buffer, start, bytes).slice());
    }
    return size === undefined
      ? write.call(this, buffer, offset, data as BufferSource, dataOffset)
      : write.call(this, buffer, offset, data as BufferSource, dataOffset, size);
  } as typeof write;
}

export async function nodePeerHost(paths: NodePeerPaths): Promise<PeerHost> {
  await installShims();
  return {
    gpu: () => nodeGpu(),
    shaders: async () => nodeShaders(),
    async checkpoint(shape) {
      const dir = join(paths.models, shape);
      const config = parseGpt2Config(await readFile(join(dir, 'config.json'), 'utf8'));
      const bytes = new Uint8Array(await readFile(join(dir, 'model.safetensors')));
      const file = await openSafetensors(bytesSource('model.safetensors', bytes));
      return openGpt2Checkpoint(config, file).loadWeights();
    },
    async ort() {
      const url = pathToFileURL(join(paths.ortDist, 'ort.webgpu.min.mjs')).href;
      const ort = (await import(/* @vite-ignore */ url)) as OrtModule;
      ort.env.wasm.wasmPaths = paths.ortDist.endsWith('/') ? paths.ortDist : paths.ortDist + '/';
      return ort;
    },
    tf: () => paths.tf(),
  };
}
