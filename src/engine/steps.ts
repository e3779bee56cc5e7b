// Steps (one kernel, its bind group, its dispatch shape) and the kernel-variant choice: on CPU
// fallback adapters (SwiftShader, where a workgroup barrier costs 25–50× more) the barrier-free
// kernels, with vec4 loads where the widths allow; on real GPUs the shared-memory tiled kernels.
// Weights are f16 or f32 (weightFormat, a pipeline variant of the same WGSL).

import type { CaptureFormat, Kernel, KernelName, KernelRegistry, PipelineVariant } from '../gpu/kernels';
import { uniformStride } from './activations';
import type { GpuWeights } from './weights';

export interface Step {
  readonly label: string;
  readonly kernel: Kernel;
  readonly bindGroup: GPUBindGroup;
  /** Workgroups for n rows (T for the blocks, lens points · T for the lens and tracking). */
  readonly workgroups: (n: number) => readonly [number, number, number];
}

/** The GPU context a session needs from its engine. */
export interface EngineParts {
  readonly device: GPUDevice;
  readonly kernels: KernelRegistry;
  readonly weights: GpuWeights;
  /** Barrier-free kernels for CPU fallback adapters, shared-memory tiling on real GPUs. */
  readonly fallback: boolean;
  /**
   * Storage bound where a kernel's optional output is not wanted (a matmul's side, hook_q/k/v not
   * captured): noneSlots slots of 16 bytes, 256 apart, so that one dispatch can bind several without
   * aliasing one writable range twice (StepFactory.none).
   */
  readonly none: GPUBuffer;
}

export const ceilDiv = (a: number, b: number) => Math.ceil(a / b);
/** Slots of EngineParts.none (the most outputs one kernel may leave unwanted). */
export const noneSlots = 3;
/** Threads per workgroup of the scalar kernels, and of the vec4 ones. */
export const wg = 64;
export const wgVec4 = 16;

/** Encodes steps in one compute pass over n rows; returns the number of dispatches. */
export function encodeSteps(
  encoder: GPUCommandEncoder,
  label: string,
  steps: readonly Step[],
  n: number,
): number {
  const pass = encoder.beginComputePass({ label });
  for (const step of steps) {
    pass.setPipeline(step.kernel.pipeline);
    pass.setBindGroup(0, step.bindGroup);
    pass.dispatchWorkgroups(...step.workgroups(n));
  }
  pass.end();
  return steps.length;
}

/** Makes steps on one engine's kernels, binding a session's uniform buffer. */
export class StepFactory {
  readonly parts: EngineParts;
  readonly #params: GPUBuffer;

  constructor(parts: EngineParts, params: GPUBuffer) {
    this.parts = parts;
    this.#params = params;
  }

  get weightVariant(): { readonly weightFormat: GpuWeights['format'] } {
    return { weightFormat: this.parts.weights.format };
  }

  /** A step: one kernel, its bind group (resources in @binding order) and its dispatch shape. */
  step(
    label: string,
    name: KernelName,
    variant: PipelineVariant,
    resources: GPUBindingResource[],
    workgroups: Step['workgroups'],
  ): Step {
    const { device, kernels } = this.parts;
    const kernel = kernels.get(name, variant);
    const bindGroup = device.createBindGroup({
      label,
      layout: kernel.layout,
      entries: resources.map((resource, binding) => ({ binding, resource })),
    });
    return { label, kernel, bindGroup, workgroups };
  }

  /** Stand-in slot i (< noneSlots) of EngineParts.none, for an output not wanted. */
  none(i: number): GPUBindingResource {
    if (i >= noneSlots) throw new RangeError(`EngineParts.none has ${noneSlots} slots, not ${i + 1}`);
    return { buffer: this.parts.none, offset: i * 256, size: 16 };
  }

  /** Uniform slot `entry` (0 the blocks, 1 the lens, 2 logits_last, 3 tracking). */
  uniform(entry: number): GPUBindingResource {
    return { buffer: this.#params, offset: entry * uniformStride, size: 16 };
  }

  /**
   * out = LayerNorm(x) with γ, β of `p`, over the rows of uniform slot `uniform` (T, or lens points ·
   * T); with `scale`, each row's divisor sqrt(var + ε) too (ln*.hook_scale), in the same pass.
   */
  layerNorm(
    label: string,
    uniform: number,
    x: GPUBuffer,
    p: { weight: GPUBuffer; bias: GPUBuffer },
    out: GPUBuffer,
    scale?: GPUBuffer,
  ): Step {
    const { nEmbd: D, layerNormEpsilon: EPS } = this.parts.weights.config;
    return this.step(
      label,
      'layerNorm',
      { ...this.weightVariant, overrides: { D, EPS, WG_X: wg, SCALE: scale ? 1 : 0 } },
      [
        this.uniform(uniform),
        { buffer: x },
        { buffer: p.weight },
        { buffer: p.bias },
        { buffer: out },
        scale ? { buffer: scale } : this.none(0),
      ],
      (rows) => [ceilDiv(rows, wg), 1, 1],
    );
  }

  /**
   * out = epilogue(a · w + bias) (EPILOGUE 0 none, 1 gelu_new, 2 + residual), T rows of K → N; with
   * `side`, a · w + bias is stored there too (the value before the epilogue).
   */
  matmul(
    label: string,
    a: GPUBuffer,
    w: GPUBuffer,
    bias: GPUBuffer,
    out: GPUBuffer,
    K: number,
    N: number,
    epilogue: 0 | 1 | 2,
    residual?: GPUBuffer,
    side?: GPUBuffer,
  ): Step {
    const wf = this.weightVariant;
    // Without a residual the binding still needs a buffer; the shader does not read it.
    const res = residual ?? a;
    const resources = [
      this.uniform(0),
      { buffer: a },
      { buffer: w },
      { buffer: bias },
      { buffer: res },
      { buffer: out },
      side ? { buffer: side } : this.none(0),
    ];
    const sideOut = side ? 1 : 0;
    if (this.parts.fallback) {
      // With vec4 loads (K and N multiples of 4), 8×8 outputs per thread and small workgroups so
      // that T=16 still makes several of them for SwiftShader's worker threads; else 4×4.
      const vec4 = K % 4 === 0 && N % 4 === 0;
      const [kernel, per, wgX] = vec4
        ? (['matmulBlockedVec4', 8, wgVec4] as const)
        : (['matmulBlocked', 4, wg] as const);
      return this.step(
        label,
        kernel,
        { ...wf, overrides: { K, N, EPILOGUE: epilogue, SIDE: sideOut, WG_X: wgX } },
        resources,
        (T) => [ceilDiv(N, per * wgX), ceilDiv(T, per), 1],
      );
    }
    return this.step(
      label,
      'matmulTiled',
      { ...wf, overrides: { K, N, EPILOGUE: epilogue, SIDE: sideOut } },
      resources,
      (T) => [ceilDiv(N, 64), ceilDiv(T, 64), 1],
    );
  }

  /**
   * out = epilogue(LayerNorm(x) · w + bias), the LayerNorm (gain ln.weight, bias ln.bias, eps) folded
   * into the matmul (EPILOGUE 0 none, 1 gelu_new), T rows of K = D → N: ln_1 → attn.c_attn and
   * ln_2 → mlp.c_fc in one dispatch each, `side` as in matmul. Same variant choice and dispatch
   * shape as matmul.
   */
  matmulLn(
    label: string,
    x: GPUBuffer,
    ln: { readonly weight: GPUBuffer; readonly bias: GPUBuffer },
    w: GPUBuffer,
    bias: GPUBuffer,
    out: GPUBuffer,
    K: number,
    N: number,
    epilogue: 0 | 1,
    eps: number,
    side?: GPUBuffer,
  ): Step {
    const wf = this.weightVariant;
    // matmul_common's residual binding is unused here (no residual epilogue): x stands in.
    const resources = [
      this.uniform(0),
      { buffer: x },
      { buffer: w },
      { buffer: bias },
      { buffer: x },
      { buffer: out },
      side ? { buffer: side } : this.none(0),
      { buffer: ln.weight },
      { buffer: ln.bias },
    ];
    const overrides = { K, N, EPILOGUE: epilogue, SIDE: side ? 1 : 0, EPS: eps };
    if (this.parts.fallback) {
      const vec4 = K % 4 === 0 && N % 4 === 0;
      const [kernel, per, wgX] = vec4
        ? (['matmulLnBlockedVec4', 8, wgVec4] as const)
        : (['matmulLnBlocked', 4, wg] as const);
      return this.step(label, kernel, { ...wf, overrides: { ...overrides, WG_X: wgX } }, resources, (T) => [
        ceilDiv(N, per * wgX),
        ceilDiv(T, per),
        1,
      ]);
    }
    return this.step(label, 'matmulLnTiled', { ...wf, overrides }, resources, (T) => [
      ceilDiv(N, 64),
      ceilDiv(T, 64),
      1,
    ]);
  }

  /**
   * One block's attention, [T, 3D] qkv → the pattern capture (and the att scratch [H, T, T]) and z
   * [T, D] (hook_z): fused, one kernel (softmax × V); else the softmax, then attention × V. One
   * thread per (query, head) on fallback adapters (vec4 loads where the head size allows), a
   * workgroup per (query, head) on GPUs.
   */
  attention(
    label: string,
    qkv: GPUBuffer,
    att: GPUBuffer,
    pattern: GPUTextureView,
    z: GPUBuffer,
    fused: boolean,
    captureFormat: CaptureFormat,
  ): Step[] {
    const { nEmbd: D, nHead: H, headDim: HD } = this.parts.weights.config;
    const { fallback } = this.parts;
    const vec4HD = fallback && HD % 4 === 0; // and so D % 4 == 0
    const sqrt = captureFormat === 'rgba8unorm' ? 1 : 0;
    const softmax = (wgX: number) => ({
      captureFormat,
      overrides: { D, H, HD, WG_X: wgX, SQRT_ENCODE: sqrt },
    });
    const rows = (T: number): readonly [number, number, number] => [T, H, 1];
    const u = this.uniform(0);
    if (fused) {
      const kernel = fallback ? (vec4HD ? 'attentionFusedVec4' : 'attentionFused') : 'attentionFusedRows';
      const resources = [u, { buffer: qkv }, { buffer: att }, pattern, { buffer: z }];
      return fallback
        ? [this.step(label, kernel, softmax(wgVec4), resources, (T) => [ceilDiv(T, wgVec4), H, 1])]
        : [this.step(label, kernel, softmax(wg), resources, rows)];
    }
    return [
      this.step(
        `${label}.softmax`,
        fallback ? 'attentionSoftmax' : 'attentionSoftmaxRows',
        softmax(wg),
        [u, { buffer: qkv }, { buffer: att }, pattern],
        fallback ? (T) => [ceilDiv(T, wg), H, 1] : rows,
      ),
      this.step(
        `${label}.values`,
        vec4HD ? 'attentionValuesVec4' : 'attentionValues',
        { overrides: { D, H, HD, WG_X: vec4HD ? wgVec4 : wg } },
        [u, { buffer: qkv }, { buffer: att }, { buffer: z }],
        // The vec4 kernel: 4 queries × 4 columns per thread.
        vec4HD ? (T) => [ceilDiv(D, 4 * wgVec4), ceilDiv(T, 4), 1] : (T) => [ceilDiv(D, wg), T, 1],
      ),
    ];
  }

  /**
   * A vocabulary scan over rows × chunks of lensChunk entries (the lens's top-k, token tracking's
   * ranks): tiled on real GPUs (64 rows × one chunk per workgroup), 8 rows × one chunk per thread
   * with vec4 loads on fallback adapters when D % 4 == 0, one (row, chunk) per thread otherwise.
   * `fused`: bindings the tiled and vec4 kernels take after `resources` (the lens's logits), and
   * overrides only they take.
   */
  vocabScan(
    label: string,
    names: { readonly tiled: KernelName; readonly vec4: KernelName; readonly scalar: KernelName },
    overrides: Readonly<Record<string, number>>,
    resources: GPUBindingResource[],
    chunks: number,
    D: number,
    fused: GPUBindingResource[] = [],
    fusedOverrides: Readonly<Record<string, number>> = {},
  ): Step {
    const wf = this.weightVariant;
    if (!this.parts.fallback) {
      const tiledOverrides = { ...overrides, ...fusedOverrides };
      return this.step(
        label,
        names.tiled,
        { ...wf, overrides: tiledOverrides },
        [...resources, ...fused],
        (rows) => [chunks, ceilDiv(rows, 64), 1],
      );
    }
    if (D % 4 === 0) {
      return this.step(
        label,
        names.vec4,
        { ...wf, overrides: { ...overrides, ...fusedOverrides, WG_X: wgVec4 } },
        [...resources, ...fused],
        (rows) => [ceilDiv(chunks, wgVec4), ceilDiv(rows, 8), 1],
      );
    }
    return this.step(
      label,
      names.scalar,
      { ...wf, overrides: { ...overrides, WG_X: wg } },
      resources,
      (rows) => [ceilDiv(chunks, wg), rows, 1],
    );
  }
}
