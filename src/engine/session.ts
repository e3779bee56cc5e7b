// One prompt's activations and captures on the GPU, and the forward pass that fills them.
// Buffers and bind groups are created once per capacity (grown in steps when a longer prompt
// comes); a run writes the tokens and a few uniforms, encodes the prebuilt steps into one command
// buffer, submits once, and reads back only the logit lens's top-k (a few KB).
//
// Captures (TransformerLens names as labels):
//   blocks.{l}.hook_resid_pre, blocks.{l}.hook_resid_mid, blocks.{L-1}.hook_resid_post:
//       one (capacity, D) f32 buffer each, rows [0, T) valid
//   blocks.{l}.attn.hook_pattern: a texture_2d_array per layer, (ceil(capacity/4), capacity) × H,
//       texel (s/4, t) of layer h = keys s..s+3 of query t; rows/columns ≥ T are stale

import { hookName, residualBoundaries, type HookPoint } from '../model/hooks';
import type { Gpt2Config } from '../model/types';
import {
  captureBytesPerValue,
  type CaptureFormat,
  type Kernel,
  type KernelName,
  type KernelRegistry,
  type PipelineVariant,
} from '../gpu/kernels';
import { captureBudgetBytes, chooseCaptureFormat } from './cost';
import type { GpuWeights } from './weights';

/** Logit-lens settings shared by every session of an engine. */
export const lensTopK = 5;
/** Vocabulary entries per thread in the lens kernel (wte parts are multiples of it). */
export const lensChunk = 1024;
/** Tokens of capacity added at a time when a prompt outgrows a session. */
const capacityStep = 64;

/**
 * Where the logit lens reads the stream: every resid_pre and the final resid_post ('layers'), or
 * only the final resid_post ('final': the model's own next-token prediction). The lens over all
 * layers costs (L+1)·T·2·D·V FLOPs — more than the rest of the forward for GPT-2 small.
 */
export type LensPoints = 'layers' | 'final';

export interface SessionOptions {
  /** 'auto': the finest format whose captures at the session's capacity fit `captureBudget`. */
  readonly captureFormat: CaptureFormat | 'auto';
  /** Bytes the attention captures may take (default captureBudgetBytes). */
  readonly captureBudget?: number;
  readonly lens: LensPoints;
  /** Initial capacity in tokens (grown on demand up to n_ctx). */
  readonly capacity?: number;
}

/** Top-k of the logit lens at each of the session's lens points, in depth order. */
export interface LensTopK {
  readonly points: readonly HookPoint[];
  readonly k: number;
  /** (points, T, k) token ids, best first. */
  readonly ids: Uint32Array;
  /** (points, T, k) probabilities. */
  readonly probs: Float32Array;
}

export interface RunResult {
  readonly tokens: readonly number[];
  readonly lens: LensTopK;
  /** Compute dispatches encoded for this forward. */
  readonly dispatches: number;
  /** Bytes copied back to the CPU for this forward. */
  readonly readbackBytes: number;
}

interface Step {
  readonly label: string;
  readonly kernel: Kernel;
  readonly bindGroup: GPUBindGroup;
  readonly workgroups: (T: number) => readonly [number, number, number];
}

/** The GPU context a session needs from its engine. */
export interface EngineParts {
  readonly device: GPUDevice;
  readonly kernels: KernelRegistry;
  readonly weights: GpuWeights;
  /** Barrier-free kernels for CPU fallback adapters, shared-memory tiling on real GPUs. */
  readonly fallback: boolean;
}

const ceilDiv = (a: number, b: number) => Math.ceil(a / b);
const uniformStride = 256; // minUniformBufferOffsetAlignment

export class PromptSession {
  readonly #parts: EngineParts;
  readonly #config: Gpt2Config;
  readonly #formatOption: CaptureFormat | 'auto';
  readonly #captureBudget: number;
  #captureFormat: CaptureFormat = 'rgba32float';
  readonly lensPoints: readonly HookPoint[];
  #capacity = 0;
  #buffers: GPUBuffer[] = [];
  #textures: GPUTexture[] = [];
  #resid: GPUBuffer[] = []; // 2L+1 residual boundaries, residualBoundaries() order
  #tokens!: GPUBuffer;
  #params!: GPUBuffer;
  #lensOut!: GPUBuffer;
  #logits!: GPUBuffer;
  #staging!: GPUBuffer;
  #lensCopies: { from: GPUBuffer; to: GPUBuffer }[] = [];
  #blockSteps: Step[] = [];
  #lensSteps: Step[] = [];
  #destroyed = false;

  constructor(parts: EngineParts, options: SessionOptions) {
    this.#parts = parts;
    this.#config = parts.weights.config;
    this.#formatOption = options.captureFormat;
    this.#captureBudget = options.captureBudget ?? captureBudgetBytes;
    const L = this.#config.nLayer;
    const final: HookPoint = { kind: 'resid_post', layer: L - 1 };
    this.lensPoints =
      options.lens === 'final'
        ? [final]
        : [...Array.from({ length: L }, (_, layer): HookPoint => ({ kind: 'resid_pre', layer })), final];
    this.#allocate(Math.min(this.#config.nCtx, options.capacity ?? capacityStep));
  }

  get capacity(): number {
    return this.#capacity;
  }

  /** The format of the attention captures now (with 'auto', it can coarsen as the capacity grows). */
  get captureFormat(): CaptureFormat {
    return this.#captureFormat;
  }

  /** GPU bytes of this session's activations and captures at its current capacity. */
  get bytes(): number {
    return (
      this.#buffers.reduce((n, b) => n + b.size, 0) +
      this.#textures.reduce(
        (n, t) =>
          n + t.width * t.height * t.depthOrArrayLayers * 4 * captureBytesPerValue[t.format as CaptureFormat],
        0,
      )
    );
  }

  /** The attention-pattern capture of one layer (see the file comment for its layout). */
  patternTexture(layer: number): GPUTexture {
    const t = this.#textures[layer];
    if (!t) throw new RangeError(`no layer ${layer}: the model has ${this.#config.nLayer}`);
    return t;
  }

  /** The residual-stream capture at a boundary (resid_pre, resid_mid or the final resid_post). */
  residual(point: HookPoint): GPUBuffer {
    const i = residualBoundaries(this.#config.nLayer).findIndex(
      (p) => p.kind === point.kind && 'layer' in p && 'layer' in point && p.layer === point.layer,
    );
    const b = this.#resid[i];
    if (!b) throw new RangeError(`${hookName(point)} is not a residual boundary that is captured`);
    return b;
  }

  /** The final position's next-token logits (V) f32, written by every run. */
  get logitsLast(): GPUBuffer {
    return this.#logits;
  }

  /**
   * Runs the forward pass on `tokens`: one queue submission; resolves once the lens top-k is back.
   * Runs of one session must not overlap (await each); two sessions may run at once.
   */
  async run(tokens: readonly number[]): Promise<RunResult> {
    if (this.#destroyed) throw new Error('this prompt session was destroyed');
    const T = tokens.length;
    const { nCtx, vocabSize } = this.#config;
    if (T === 0) throw new RangeError('the prompt is empty: type at least one token');
    if (T > nCtx) throw new RangeError(`the prompt has ${T} tokens but the model's context is ${nCtx}`);
    for (const id of tokens) {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize)
        throw new RangeError(`token id ${id} is outside the vocabulary (0…${vocabSize - 1})`);
    }
    if (T > this.#capacity) this.#allocate(Math.min(nCtx, ceilDiv(T, capacityStep) * capacityStep));

    const { device } = this.#parts;
    const nLens = this.lensPoints.length;
    device.queue.writeBuffer(this.#tokens, 0, new Uint32Array(tokens));
    const params = new Uint32Array((3 * uniformStride) / 4);
    params[0] = T; // per-position kernels
    params[uniformStride / 4] = nLens * T; // lens rows
    params[(2 * uniformStride) / 4] = nLens * T - 1; // the last position of the final stream
    device.queue.writeBuffer(this.#params, 0, params);

    const encoder = device.createCommandEncoder({ label: 'forward' });
    let dispatches = this.#encode(encoder, 'blocks', this.#blockSteps, T);
    // The lens points' rows, stacked for the lens kernels: copies, not dispatches.
    const rowBytes = this.#config.nEmbd * 4;
    this.#lensCopies.forEach(({ from, to }, i) =>
      encoder.copyBufferToBuffer(from, 0, to, i * T * rowBytes, T * rowBytes),
    );
    dispatches += this.#encode(encoder, 'logit lens', this.#lensSteps, T);
    const readbackBytes = nLens * T * lensTopK * 8;
    encoder.copyBufferToBuffer(this.#lensOut, 0, this.#staging, 0, readbackBytes);
    device.queue.submit([encoder.finish()]);

    await this.#staging.mapAsync(GPUMapMode.READ, 0, readbackBytes);
    const raw = new Uint32Array(this.#staging.getMappedRange(0, readbackBytes).slice(0));
    this.#staging.unmap();
    const ids = new Uint32Array(raw.length / 2);
    const probs = new Float32Array(raw.length / 2);
    const rawF = new Float32Array(raw.buffer);
    for (let i = 0; i < ids.length; i++) {
      ids[i] = raw[2 * i]!;
      probs[i] = rawF[2 * i + 1]!;
    }
    return {
      tokens: [...tokens],
      lens: { points: this.lensPoints, k: lensTopK, ids, probs },
      dispatches,
      readbackBytes,
    };
  }

  #encode(encoder: GPUCommandEncoder, label: string, steps: readonly Step[], T: number): number {
    const pass = encoder.beginComputePass({ label });
    for (const step of steps) {
      pass.setPipeline(step.kernel.pipeline);
      pass.setBindGroup(0, step.bindGroup);
      pass.dispatchWorkgroups(...step.workgroups(T));
    }
    pass.end();
    return steps.length;
  }

  destroy(): void {
    this.#destroyed = true;
    this.#release();
  }

  #release(): void {
    for (const b of this.#buffers) b.destroy();
    for (const t of this.#textures) t.destroy();
    this.#buffers = [];
    this.#textures = [];
  }

  /** (Re)creates every buffer, texture and bind group for `capacity` tokens. */
  #allocate(capacity: number): void {
    this.#release();
    this.#capacity = capacity;
    this.#captureFormat =
      this.#formatOption === 'auto'
        ? chooseCaptureFormat(this.#config, capacity, this.#captureBudget)
        : this.#formatOption;
    const { device, kernels, weights, fallback } = this.#parts;
    const {
      nLayer: L,
      nHead: H,
      nEmbd: D,
      nInner: F,
      headDim: HD,
      vocabSize: V,
      layerNormEpsilon,
    } = this.#config;
    const C = capacity;
    const nLens = this.lensPoints.length;
    const nChunks = ceilDiv(V, lensChunk);
    const wf = { weightFormat: weights.format } as const;

    const buffer = (label: string, bytes: number, usage = 0): GPUBuffer => {
      const b = device.createBuffer({
        label,
        size: Math.max(4, Math.ceil(bytes / 4) * 4),
        usage: GPUBufferUsage.STORAGE | usage,
      });
      this.#buffers.push(b);
      return b;
    };
    const f32 = 4;
    this.#tokens = buffer('tokens', C * 4, GPUBufferUsage.COPY_DST);
    this.#params = device.createBuffer({
      label: 'params',
      size: 3 * uniformStride,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.#buffers.push(this.#params);
    this.#resid = residualBoundaries(L).map((p) => buffer(hookName(p), C * D * f32, GPUBufferUsage.COPY_SRC));
    const ln = buffer('ln', C * D * f32); // (C, D) ln_1 / ln_2 output
    const qkv = buffer('qkv', C * 3 * D * f32); // (C, 3D)
    const att = buffer('att', H * C * C * f32); // (H, C, C) pattern scratch
    const z = buffer('z', C * D * f32); // (C, D) heads' outputs
    const fc = buffer('mlp.hidden', C * F * f32); // (C, F) after gelu
    const lensRaw = buffer('lens.stack', nLens * C * D * f32, GPUBufferUsage.COPY_DST); // (nLens·C, D)
    const lensX = buffer('lens.ln_f', nLens * C * D * f32); // (nLens·C, D)
    const partial = buffer('lens.partial', nLens * C * nChunks * (2 + 2 * lensTopK) * f32);
    this.#lensOut = buffer('lens.topk', nLens * C * lensTopK * 8, GPUBufferUsage.COPY_SRC); // (nLens·C, k, 2)
    this.#logits = buffer('logits_last', V * f32, GPUBufferUsage.COPY_SRC); // (V)
    this.#staging = device.createBuffer({
      label: 'lens.readback',
      size: nLens * C * lensTopK * 8,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    this.#buffers.push(this.#staging);
    this.#textures = Array.from({ length: L }, (_, layer) => {
      const t = device.createTexture({
        label: hookName({ kind: 'pattern', layer }),
        size: [ceilDiv(C, 4), C, H],
        format: this.#captureFormat,
        dimension: '2d',
        usage: GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_SRC,
      });
      return t;
    });
    this.#lensCopies = this.lensPoints.map((p) => ({ from: this.residual(p), to: lensRaw }));

    const uniform = (entry: number): GPUBindingResource => ({
      buffer: this.#params,
      offset: entry * uniformStride,
      size: 16,
    });
    let steps: Step[] = [];
    this.#blockSteps = steps;
    const step = (
      label: string,
      name: KernelName,
      variant: PipelineVariant,
      resources: GPUBindingResource[],
      workgroups: Step['workgroups'],
    ) => {
      const kernel = kernels.get(name, variant);
      const bindGroup = device.createBindGroup({
        label,
        layout: kernel.layout,
        entries: resources.map((resource, binding) => ({ binding, resource })),
      });
      steps.push({ label, kernel, bindGroup, workgroups });
    };
    const wg = 64;
    const wgVec4 = 16;
    // The vec4 kernels (fallback adapters only) read rows of D floats as D/4 vec4s.
    const vec4D = fallback && D % 4 === 0;
    const vec4HD = fallback && HD % 4 === 0; // and so D % 4 == 0
    const lnOverrides = { ...wf, overrides: { D, EPS: layerNormEpsilon, WG_X: wg } };
    const matmul = (
      label: string,
      a: GPUBuffer,
      w: GPUBuffer,
      bias: GPUBuffer,
      out: GPUBuffer,
      K: number,
      N: number,
      epilogue: 0 | 1 | 2,
      residual?: GPUBuffer,
    ) => {
      // Without a residual the binding still needs a buffer; the shader does not read it.
      const res = residual ?? a;
      const resources = [
        uniform(0),
        { buffer: a },
        { buffer: w },
        { buffer: bias },
        { buffer: res },
        { buffer: out },
      ];
      if (fallback && K % 4 === 0 && N % 4 === 0) {
        // 8×8 outputs per thread with vec4 loads; small workgroups so that T=16 still makes
        // several of them for SwiftShader's worker threads.
        step(
          label,
          'matmulBlockedVec4',
          { ...wf, overrides: { K, N, EPILOGUE: epilogue, WG_X: wgVec4 } },
          resources,
          (T) => [ceilDiv(N, 8 * wgVec4), ceilDiv(T, 8), 1],
        );
      } else if (fallback) {
        step(
          label,
          'matmulBlocked',
          { ...wf, overrides: { K, N, EPILOGUE: epilogue, WG_X: wg } },
          resources,
          (T) => [ceilDiv(N, 4 * wg), ceilDiv(T, 4), 1],
        );
      } else {
        step(label, 'matmulTiled', { ...wf, overrides: { K, N, EPILOGUE: epilogue } }, resources, (T) => [
          ceilDiv(N, 64),
          ceilDiv(T, 64),
          1,
        ]);
      }
    };

    const resid0 = this.#resid[0]!;
    for (const part of weights.wteParts) {
      step(
        'embed',
        'embed',
        { ...wf, overrides: { D, VOCAB_START: part.start, VOCAB_COUNT: part.count, WG_X: wg } },
        [
          uniform(0),
          { buffer: this.#tokens },
          { buffer: part.buffer },
          { buffer: weights.wpe },
          { buffer: resid0 },
        ],
        (T) => [ceilDiv(D, wg), T, 1],
      );
    }
    for (let l = 0; l < L; l++) {
      const b = weights.blocks[l]!;
      const pre = this.#resid[2 * l]!;
      const mid = this.#resid[2 * l + 1]!;
      const post = this.#resid[2 * l + 2]!;
      step(
        `blocks.${l}.ln_1`,
        'layerNorm',
        lnOverrides,
        [uniform(0), { buffer: pre }, { buffer: b.ln1.weight }, { buffer: b.ln1.bias }, { buffer: ln }],
        (T) => [ceilDiv(T, wg), 1, 1],
      );
      matmul(`blocks.${l}.attn.c_attn`, ln, b.cAttn.weight, b.cAttn.bias, qkv, D, 3 * D, 0);
      step(
        `blocks.${l}.attn.softmax`,
        'attentionSoftmax',
        {
          captureFormat: this.#captureFormat,
          overrides: { D, H, HD, WG_X: wg, SQRT_ENCODE: this.#captureFormat === 'rgba8unorm' ? 1 : 0 },
        },
        [
          uniform(0),
          { buffer: qkv },
          { buffer: att },
          this.#textures[l]!.createView({ dimension: '2d-array' }),
        ],
        (T) => [ceilDiv(T, wg), H, 1],
      );
      step(
        `blocks.${l}.attn.values`,
        vec4HD ? 'attentionValuesVec4' : 'attentionValues',
        { overrides: { D, H, HD, WG_X: vec4HD ? wgVec4 : wg } },
        [uniform(0), { buffer: qkv }, { buffer: att }, { buffer: z }],
        // The vec4 kernel: 4 queries × 4 columns per thread.
        vec4HD ? (T) => [ceilDiv(D, 4 * wgVec4), ceilDiv(T, 4), 1] : (T) => [ceilDiv(D, wg), T, 1],
      );
      matmul(`blocks.${l}.attn.c_proj`, z, b.attnProj.weight, b.attnProj.bias, mid, D, D, 2, pre);
      step(
        `blocks.${l}.ln_2`,
        'layerNorm',
        lnOverrides,
        [uniform(0), { buffer: mid }, { buffer: b.ln2.weight }, { buffer: b.ln2.bias }, { buffer: ln }],
        (T) => [ceilDiv(T, wg), 1, 1],
      );
      matmul(`blocks.${l}.mlp.c_fc`, ln, b.fc.weight, b.fc.bias, fc, D, F, 1);
      matmul(`blocks.${l}.mlp.c_proj`, fc, b.mlpProj.weight, b.mlpProj.bias, post, F, D, 2, mid);
    }
    steps = this.#lensSteps = [];
    step(
      'lens.ln_f',
      'layerNorm',
      lnOverrides,
      [
        uniform(1),
        { buffer: lensRaw },
        { buffer: weights.lnF.weight },
        { buffer: weights.lnF.bias },
        { buffer: lensX },
      ],
      (T) => [ceilDiv(nLens * T, wg), 1, 1],
    );
    for (const part of weights.wteParts) {
      const overrides = {
        D,
        CHUNK: lensChunk,
        N_CHUNKS: nChunks,
        VOCAB_START: part.start,
        VOCAB_COUNT: part.count,
        TOPK: lensTopK,
      };
      const resources = [uniform(1), { buffer: lensX }, { buffer: part.buffer }, { buffer: partial }];
      const chunks = ceilDiv(part.count, lensChunk);
      if (vec4D) {
        // 8 lens rows × one chunk per thread; the stack's last row (the final stream's last
        // position) also goes out whole as logits_last.
        step(
          'lens.unembed_topk',
          'unembedTopkVec4',
          { ...wf, overrides: { ...overrides, WG_X: wgVec4 } },
          [...resources, { buffer: this.#logits }],
          (T) => [ceilDiv(chunks, wgVec4), ceilDiv(nLens * T, 8), 1],
        );
      } else {
        step(
          'lens.unembed_topk',
          'unembedTopk',
          { ...wf, overrides: { ...overrides, WG_X: wg } },
          resources,
          (T) => [ceilDiv(chunks, wg), nLens * T, 1],
        );
      }
    }
    step(
      'lens.topk_merge',
      'topkMerge',
      { overrides: { N_CHUNKS: nChunks, TOPK: lensTopK, WG_X: wg } },
      [uniform(1), { buffer: partial }, { buffer: this.#lensOut }],
      (T) => [ceilDiv(nLens * T, wg), 1, 1],
    );
    // The vec4 lens kernel has written logits_last already.
    for (const part of vec4D ? [] : weights.wteParts) {
      step(
        'logits_last',
        'unembedLogits',
        { ...wf, overrides: { D, VOCAB_START: part.start, VOCAB_COUNT: part.count, WG_X: wg } },
        [uniform(2), { buffer: lensX }, { buffer: part.buffer }, { buffer: this.#logits }],
        () => [ceilDiv(part.count, wg), 1, 1],
      );
    }
  }
}
