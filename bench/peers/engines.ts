// The engines `npm run bench:peers` compares, on one host (a Chromium page: page.ts; a Node process on
// Dawn: node-worker.ts): one random-weight GPT-2 checkpoint in the hub layout run by Strata's engine,
// by onnxruntime-web's WebGPU execution provider on an ONNX graph built here from that checkpoint
// (onnx-gpt2.ts), and by TensorFlow.js's WebGPU backend (tfjs-gpt2.ts). Every forward is timed from
// handing over the token ids to the last position's logits in a Float32Array on the CPU; compute
// dispatches and queue submissions are counted by wrapping the WebGPU prototypes every engine calls.

import type { AdapterSummary } from '../../src/gpu/device';
import type { GpuContext } from '../../src/gpu/device';
import { Engine } from '../../src/engine/engine';
import type { PromptSession } from '../../src/engine/session';
import { weightReaderFromMemory } from '../../src/engine/weights';
import { readBuffer } from '../../src/gpu/readback';
import type { ShaderLibrary } from '../../src/gpu/shader-library';
import type { Gpt2Weights } from '../../src/model/types';
import { gpt2Onnx } from './onnx-gpt2';
import type { OrtModule, OrtSession, TfModule } from './peer-types';
import { TfjsGpt2 } from './tfjs-gpt2';

export type EngineName = 'strata' | 'ort' | 'ort-fused' | 'tfjs';
/** Strata's runs: captures off (namesFilter [], the final lens only) or the studio's captures (the
 * default filter: every attention pattern and residual boundary). */
export type Mode = 'forward' | 'captures';

export interface RunReport {
  ms: number;
  dispatches: number;
  submits: number;
  logits?: number[];
  /** Uncaptured WebGPU errors on the engine's device during the run (first line of each, once). */
  gpuErrors?: string[];
}

export interface LoadReport {
  ms: number;
  info: Record<string, unknown>;
}

const counts = { dispatches: 0, submits: 0 };
let counting = false;

/** Wraps the WebGPU prototypes (global in a browser; Dawn's `globals` in Node) to count calls. */
function countDispatches(): void {
  if (counting) return;
  counting = true;
  const pass = GPUComputePassEncoder.prototype;
  const direct = pass.dispatchWorkgroups;
  const indirect = pass.dispatchWorkgroupsIndirect;
  pass.dispatchWorkgroups = function (this: GPUComputePassEncoder, ...a: Parameters<typeof direct>) {
    counts.dispatches++;
    return direct.apply(this, a);
  };
  pass.dispatchWorkgroupsIndirect = function (
    this: GPUComputePassEncoder,
    ...a: Parameters<typeof indirect>
  ) {
    counts.dispatches++;
    return indirect.apply(this, a);
  };
  const submit = GPUQueue.prototype.submit;
  GPUQueue.prototype.submit = function (this: GPUQueue, ...a: Parameters<typeof submit>) {
    counts.submits++;
    return submit.apply(this, a);
  };
}

// WebGPU errors nobody captured (a dispatch whose bind group is invalid does nothing, silently):
// each run reports those raised on its engine's device while it ran.
const gpuErrors: string[] = [];
const listening = new WeakSet<GPUDevice>();
function listen(device: GPUDevice): void {
  if (listening.has(device)) return;
  listening.add(device);
  device.addEventListener('uncapturederror', (e) => {
    gpuErrors.push((e as GPUUncapturedErrorEvent).error.message.split('\n')[0]!);
  });
}

/** What a host gives the engines: its GPU, the kernels, the checkpoints and the peers' modules. */
export interface PeerHost {
  gpu(): Promise<GpuContext>;
  shaders(): Promise<ShaderLibrary>;
  checkpoint(shape: string): Promise<Gpt2Weights>;
  /** onnxruntime-web's WebGPU build, its wasm paths set. */
  ort(): Promise<OrtModule>;
  /** TensorFlow.js with its WebGPU backend registered. */
  tf(): Promise<TfModule>;
}

interface Loaded {
  name: EngineName;
  /** The engine's device, whose uncaptured WebGPU errors the runs report. */
  device: GPUDevice;
  run(tokens: readonly number[], mode: Mode): Promise<Float32Array>;
  dispose(): Promise<void>;
}

export class PeerEngines {
  readonly #host: PeerHost;
  #shaders?: ShaderLibrary;
  #gpu?: GpuContext;
  #weights?: { shape: string; weights: Gpt2Weights };
  #loaded?: Loaded;

  constructor(host: PeerHost) {
    this.#host = host;
    countDispatches();
  }

  async adapter(): Promise<AdapterSummary> {
    return (await this.#strataGpu()).summary;
  }

  async #strataGpu(): Promise<GpuContext> {
    this.#gpu ??= await this.#host.gpu();
    return this.#gpu;
  }

  async #checkpoint(shape: string): Promise<Gpt2Weights> {
    if (this.#weights?.shape === shape) return this.#weights.weights;
    this.#weights = undefined;
    const weights = await this.#host.checkpoint(shape);
    this.#weights = { shape, weights };
    return weights;
  }

  /** Loads `name` on the checkpoint of `shape` (after unloading the engine loaded before). */
  async load(name: EngineName, shape: string): Promise<LoadReport> {
    await this.unload();
    const c0 = performance.now();
    const weights = await this.#checkpoint(shape);
    const t0 = performance.now();
    let info: Record<string, unknown> = {};
    if (name === 'strata') [this.#loaded, info] = await this.#loadStrata(weights);
    else if (name === 'tfjs') [this.#loaded, info] = await this.#loadTfjs(weights);
    else [this.#loaded, info] = await this.#loadOrt(name, weights);
    listen(this.#loaded.device);
    return { ms: performance.now() - t0, info: { ...info, checkpoint_s: (t0 - c0) / 1000 } };
  }

  async run(tokens: number[], mode: Mode, wantLogits: boolean): Promise<RunReport> {
    const loaded = this.#loaded;
    if (!loaded) throw new Error('no engine is loaded');
    const [d0, s0, e0] = [counts.dispatches, counts.submits, gpuErrors.length];
    const t0 = performance.now();
    const logits = await loaded.run(tokens, mode);
    const ms = performance.now() - t0;
    const errors = [...new Set(gpuErrors.slice(e0))];
    return {
      ms,
      dispatches: counts.dispatches - d0,
      submits: counts.submits - s0,
      ...(wantLogits ? { logits: [...logits] } : {}),
      ...(errors.length ? { gpuErrors: errors } : {}),
    };
  }

  async unload(): Promise<void> {
    const loaded = this.#loaded;
    this.#loaded = undefined;
    await loaded?.dispose();
  }

  async #loadStrata(weights: Gpt2Weights): Promise<[Loaded, Record<string, unknown>]> {
    const gpu = await this.#strataGpu();
    this.#shaders ??= await this.#host.shaders();
    const engine = await Engine.load(gpu, this.#shaders, weightReaderFromMemory(weights), {
      weightFormat: 'f32',
    });
    // As `npm run bench` chooses: the final lens only on a CPU adapter, every layer's otherwise.
    const lens = gpu.summary.fallback ? 'final' : 'layers';
    const sessions = new Map<string, PromptSession>();
    const session = (T: number, mode: Mode) => {
      const key = `${mode}:${T}`;
      let s = sessions.get(key);
      if (!s) {
        s =
          mode === 'forward'
            ? engine.createSession({ capacity: T, lens: 'final', namesFilter: [] })
            : engine.createSession({ capacity: T, lens });
        sessions.set(key, s);
      }
      return s;
    };
    const loaded: Loaded = {
      name: 'strata',
      device: gpu.device,
      async run(tokens, mode) {
        const s = session(tokens.length, mode);
        await s.run(tokens);
        return new Float32Array(await readBuffer(gpu.device, s.capture('logits_last')));
      },
      async dispose() {
        for (const s of sessions.values()) s.destroy();
        engine.dispose();
      },
    };
    const info = {
      weights: engine.weights.format,
      kernels: engine.fallbackKernels ? 'barrier-free' : 'tiled',
      lens_with_captures: lens,
    };
    return [loaded, info];
  }

  async #loadTfjs(weights: Gpt2Weights): Promise<[Loaded, Record<string, unknown>]> {
    const tf = await this.#host.tf();
    if (!(await tf.setBackend('webgpu'))) throw new Error('TensorFlow.js could not start its WebGPU backend');
    await tf.ready();
    const model = new TfjsGpt2(tf, weights);
    const device = tf.engine().backend.device;
    if (!device) throw new Error("TensorFlow.js's WebGPU backend has no device");
    const loaded: Loaded = {
      name: 'tfjs',
      device,
      async run(tokens) {
        const last = model.forward(tokens);
        try {
          return await last.data();
        } finally {
          last.dispose();
        }
      },
      async dispose() {
        model.dispose();
      },
    };
    return [loaded, { version: tf.version_core, backend: tf.getBackend() }];
  }

  async #loadOrt(
    name: 'ort' | 'ort-fused',
    weights: Gpt2Weights,
  ): Promise<[Loaded, Record<string, unknown>]> {
    const ort = await this.#host.ort();
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = 'verbose';
    const onnx = gpt2Onnx(weights, { fused: name === 'ort-fused' });
    const bytes = new Uint8Array(onnx.bytes);
    let offset = 0;
    for (const c of onnx.chunks) {
      bytes.set(c, offset);
      offset += c.byteLength;
    }
    console.log(
      `[peers] ${name}: ONNX graph ${(onnx.bytes / 2 ** 20).toFixed(1)} MiB, ops ${JSON.stringify(onnx.ops)}`,
    );
    // Default graph optimisation; logits stay on the GPU, where only the last row is copied out.
    const session: OrtSession = await ort.InferenceSession.create(bytes, {
      executionProviders: ['webgpu'],
      preferredOutputLocation: { logits: 'gpu-buffer' },
      logSeverityLevel: 0,
      logVerbosityLevel: 0,
    });
    const device = await ort.env.webgpu.device;
    const V = weights.config.vocabSize;
    const loaded: Loaded = {
      name,
      device,
      async run(tokens) {
        const ids = new ort.Tensor('int64', BigInt64Array.from(tokens, BigInt), [tokens.length]);
        const out = await session.run({ input_ids: ids });
        const logits = out.logits!;
        try {
          const row = V * 4;
          return new Float32Array(await readBuffer(device, logits.gpuBuffer, row, (tokens.length - 1) * row));
        } finally {
          logits.dispose();
          ids.dispose();
        }
      },
      async dispose() {
        await session.release();
      },
    };
    return [loaded, { version: ort.env.versions.web ?? ort.env.versions.common, ops: onnx.ops }];
  }
}
