// Kernels as data (after onnxruntime-web's WebGPU ops): each kernel names its WGSL file and its
// bindings in @binding order (test/kernel-bindings.test.ts checks each list against the WGSL by
// reflection); the registry builds explicit bind group layouts and pipelines once per (kernel,
// override constants, weight type, capture format) and caches them, so a model's pipelines are
// created at load and every run only encodes dispatches.

import type { ShaderLibrary } from './shader-library';

/** 'pattern-texture': a capture written by the forward; 'pattern-read': a capture read with textureLoad. */
export type BindingKind = 'uniform' | 'read' | 'write' | 'pattern-texture' | 'pattern-read';

export interface KernelDef {
  /** File in shaders/ (any folder: names are unique) without `.wgsl`. */
  readonly file: string;
  readonly bindings: readonly BindingKind[];
  /** Reads weights through `alias weight_t = f32;`, which the f16 variant rewrites. */
  readonly weights?: boolean;
  /**
   * Files in shaders/ without an entry point whose declarations the kernel uses (added to its source
   * with the modules they use in turn, moduleDeps).
   */
  readonly modules?: readonly string[];
}

/** The modules a module uses: a kernel lists only the ones it uses itself. */
const moduleDeps: Readonly<Record<string, readonly string[]>> = {
  attention_pattern: ['rows_uniform'],
  embed_common: ['rows_uniform', 'wte_part'],
  layernorm_stats: ['rows_uniform'],
  lens_part: ['wte_part'],
  matmul_common: ['rows_uniform'],
  matmul_ln_common: ['matmul_common'],
  topk_common: ['rows_uniform'],
};

/** The files of a kernel's source, in order: its own, then its modules and theirs, each once. */
export function kernelFiles(def: KernelDef): string[] {
  const files = [def.file];
  const add = (module: string): void => {
    if (files.includes(module)) return;
    files.push(module);
    for (const m of moduleDeps[module] ?? []) add(m);
  };
  for (const m of def.modules ?? []) add(m);
  return files;
}

/** The matmuls' (matmul_common.wgsl, matmul_vec4_common.wgsl): params, a, w, bias, residual; out, side. */
const matmulBindings = ['uniform', 'read', 'read', 'read', 'read', 'write', 'write'] as const;
/** The LayerNorm-folded matmuls' (matmul_ln_common.wgsl): the matmuls', then gamma, beta. */
const matmulLnBindings = [...matmulBindings, 'read', 'read'] as const;
/** The softmax kernels' (attention_pattern.wgsl): params, qkv; att, the pattern capture. */
const softmaxBindings = ['uniform', 'read', 'write', 'pattern-texture'] as const;
/** The fused attention kernels': the softmax kernels', then z (hook_z). */
const attentionBindings = [...softmaxBindings, 'write'] as const;

/**
 * An attention kernel: its causal softmax (softmax_thread.wgsl: a thread per row, no barriers;
 * softmax_rows.wgsl: a workgroup per row), the pattern capture's writer, and attention_qk.wgsl's
 * scalar qkv and scores unless the kernel reads qkv its own way (qk false).
 */
function attentionKernel(
  file: string,
  bindings: readonly BindingKind[],
  softmax: 'softmax_thread' | 'softmax_rows',
  qk = true,
): KernelDef {
  return { file, bindings, modules: [softmax, 'attention_pattern', ...(qk ? ['attention_qk'] : [])] };
}
/** The rank-counting kernels' (track_count*.wgsl): params, x, wte, ids, points, tracked; rank. */
const trackCountBindings = ['uniform', 'read', 'read', 'read', 'read', 'read', 'write'] as const;

export const kernelDefs = {
  embed: {
    file: 'embed',
    bindings: ['uniform', 'read', 'read', 'read', 'write'],
    weights: true,
    modules: ['embed_common'],
  },
  /** params, x, gamma, beta; out, scale (ln*.hook_scale with SCALE, a stand-in without). */
  layerNorm: {
    file: 'layernorm',
    bindings: ['uniform', 'read', 'read', 'read', 'write', 'write'],
    weights: true,
    modules: ['layernorm_stats'],
  },
  matmulBlocked: {
    file: 'matmul_blocked',
    bindings: matmulBindings,
    weights: true,
    modules: ['matmul_common'],
  },
  /** matmulBlocked for K % 4 == 0 and N % 4 == 0: vec4 loads, 8×8 outputs per thread. */
  matmulBlockedVec4: {
    file: 'matmul_blocked_vec4',
    bindings: matmulBindings,
    weights: true,
    modules: ['matmul_vec4_common', 'rows_uniform'],
  },
  matmulTiled: {
    file: 'matmul_tiled',
    bindings: matmulBindings,
    weights: true,
    modules: ['matmul_tile', 'matmul_common'],
  },
  /** Fusion: LayerNorm(a) · w + bias, the LayerNorm folded into the matmul (ln_1 → c_attn, ln_2 → c_fc). */
  matmulLnBlocked: {
    file: 'matmul_ln_blocked',
    bindings: matmulLnBindings,
    weights: true,
    modules: ['matmul_ln_common'],
  },
  /** matmulLnBlocked for K % 4 == 0 and N % 4 == 0: the LayerNorm folded algebraically, one pass. */
  matmulLnBlockedVec4: {
    file: 'matmul_ln_blocked_vec4',
    bindings: matmulLnBindings,
    weights: true,
    modules: ['matmul_vec4_common', 'rows_uniform'],
  },
  /** matmulLnBlocked for real GPUs: the rows' statistics in a prologue, normalized as they are staged. */
  matmulLnTiled: {
    file: 'matmul_ln_tiled',
    bindings: matmulLnBindings,
    weights: true,
    modules: ['matmul_tile', 'matmul_ln_common'],
  },
  attentionSoftmax: attentionKernel('attention_softmax', softmaxBindings, 'softmax_thread'),
  /** attentionSoftmax for real GPUs: one workgroup per (query, head), reductions in workgroup memory. */
  attentionSoftmaxRows: attentionKernel('attention_softmax_rows', softmaxBindings, 'softmax_rows'),
  /** Fusion: attentionSoftmax and attentionValues in one dispatch (pattern capture and hook_z). */
  attentionFused: attentionKernel('attention_fused', attentionBindings, 'softmax_thread'),
  /** attentionFused for HD % 4 == 0 on fallback adapters: vec4 loads of q, k and v. */
  attentionFusedVec4: attentionKernel('attention_fused_vec4', attentionBindings, 'softmax_thread', false),
  /** attentionFused for real GPUs: attentionSoftmaxRows, a storage barrier, then z. */
  attentionFusedRows: attentionKernel('attention_fused_rows', attentionBindings, 'softmax_rows'),
  attentionValues: {
    file: 'attention_values',
    bindings: ['uniform', 'read', 'read', 'write'],
    modules: ['attention_qk', 'rows_uniform'],
  },
  /** attentionValues for HD % 4 == 0 on fallback adapters: vec4 loads, 4 queries × 4 columns per thread. */
  attentionValuesVec4: {
    file: 'attention_values_vec4',
    bindings: ['uniform', 'read', 'read', 'write'],
    modules: ['rows_uniform'],
  },
  unembedTopk: {
    file: 'unembed_topk',
    bindings: ['uniform', 'read', 'read', 'write'],
    weights: true,
    modules: ['topk_common', 'lens_part', 'lens_dot'],
  },
  /**
   * unembedTopk for D % 4 == 0 on fallback adapters: vec4 loads, 8 rows × 8 tokens per step; also
   * writes logits_last (the stack's last row), so no unembedLogits pass follows it, or every row of
   * the final stream when `logits` is captured (lens_logits.wgsl).
   */
  unembedTopkVec4: {
    file: 'unembed_topk_vec4',
    bindings: ['uniform', 'read', 'read', 'write', 'write'],
    weights: true,
    modules: ['topk_common', 'lens_part', 'lens_block_vec4', 'lens_logits'],
  },
  /** unembedTopk for real GPUs: 64 rows × 64 tokens per tile in workgroup memory; writes logits too. */
  unembedTopkTiled: {
    file: 'unembed_topk_tiled',
    bindings: ['uniform', 'read', 'read', 'write', 'write'],
    weights: true,
    modules: ['topk_common', 'lens_part', 'lens_tile', 'lens_logits'],
  },
  topkMerge: { file: 'topk_merge', bindings: ['uniform', 'read', 'write'], modules: ['topk_common'] },
  unembedLogits: {
    file: 'unembed_logits',
    bindings: ['uniform', 'read', 'read', 'write'],
    weights: true,
    modules: ['wte_part', 'lens_dot'],
  },
  /** Captures only (run when asked for): hook_embed / hook_pos_embed. */
  embedHook: {
    file: 'embed_hook',
    bindings: ['uniform', 'read', 'read', 'read', 'write'],
    weights: true,
    modules: ['embed_common'],
  },
  /** Captures only: columns of a wider buffer (hook_q/k/v from qkv, hook_normalized, hook_post). */
  /** Captures only: attn.hook_q, hook_k and hook_v out of qkv, in one dispatch. */
  splitQkv: {
    file: 'split_qkv',
    bindings: ['uniform', 'read', 'write', 'write', 'write'],
    modules: ['rows_uniform'],
  },
  /** Captures only: ln*.hook_scale, √(var + eps) per row. */
  layerNormScale: {
    file: 'layernorm_scale',
    bindings: ['uniform', 'read', 'write'],
    modules: ['layernorm_stats'],
  },
  /** Captures only: attn.hook_attn_scores, masked entries -Infinity. */
  attentionScores: {
    file: 'attention_scores',
    bindings: ['uniform', 'read', 'write'],
    modules: ['attention_qk', 'rows_uniform'],
  },
  /** Captures only: `logits` at every position. */
  unembedRows: {
    file: 'unembed_rows',
    bindings: ['uniform', 'read', 'read', 'write'],
    weights: true,
    modules: ['rows_uniform', 'wte_part', 'lens_dot'],
  },
  /** Head ablation on z before attn.c_proj (zero or mean over positions), in place. */
  ablateHeads: { file: 'ablate_heads', bindings: ['uniform', 'read', 'write'], modules: ['rows_uniform'] },
  /** MLP ablation (zero or mean over positions) with the residual add: resid_post from resid_mid. */
  ablateMlp: {
    file: 'ablate_mlp',
    bindings: ['uniform', 'read', 'read', 'read', 'write'],
    modules: ['rows_uniform'],
  },
  /** Token tracking: the tracked tokens' logits at each lens row. */
  trackTarget: {
    file: 'track_target',
    bindings: ['uniform', 'read', 'read', 'read', 'read', 'write'],
    weights: true,
    modules: ['track_common', 'track_inputs', 'wte_part', 'lens_dot'],
  },
  /** Token tracking: ranks, counted per vocabulary chunk (atomics). */
  trackCount: {
    file: 'track_count',
    bindings: trackCountBindings,
    weights: true,
    modules: ['track_common', 'track_inputs', 'lens_part', 'lens_dot'],
  },
  /** trackCount for real GPUs: the logits tile by tile as unembedTopkTiled. */
  trackCountTiled: {
    file: 'track_count_tiled',
    bindings: trackCountBindings,
    weights: true,
    modules: ['track_common', 'track_inputs', 'lens_part', 'lens_tile'],
  },
  /** trackCount for D % 4 == 0 on fallback adapters: vec4 loads, 8 rows × 8 tokens per step. */
  trackCountVec4: {
    file: 'track_count_vec4',
    bindings: trackCountBindings,
    weights: true,
    modules: ['track_common', 'lens_part', 'lens_block_vec4'],
  },
  /** Token tracking: probabilities (from the lens's softmax partials) and ranks. */
  trackMerge: {
    file: 'track_merge',
    bindings: ['uniform', 'read', 'read', 'read', 'read', 'write'],
    modules: ['track_common'],
  },
  /** Head detectors and row entropy, per query (src/instruments/detectors.ts). */
  detectHeadsRows: { file: 'detect_heads_rows', bindings: ['uniform', 'read', 'pattern-read', 'write'] },
  /** detectHeadsRows summed over queries into each head's scores. */
  detectHeadsReduce: { file: 'detect_heads_reduce', bindings: ['uniform', 'read', 'write'] },
  /** Middle-layer detectors (src/instruments/middle-detectors.ts): weighted segment sums of a pattern. */
  detectMassTerms: { file: 'detect_mass_terms', bindings: ['uniform', 'read', 'pattern-read', 'write'] },
  /** detectMassTerms combined per slot (sum or maximum). */
  detectMassSlots: { file: 'detect_mass_slots', bindings: ['uniform', 'read', 'read', 'write'] },
  /** Causal instruments (src/engine/patching.ts, attribution.ts): one layer's attribution terms. */
  causalDlaLayer: {
    file: 'causal_dla_layer',
    bindings: ['uniform', 'read', 'read', 'read', 'read', 'read', 'read', 'read', 'write'],
    weights: true,
    modules: ['causal_ln_final'],
  },
  causalDlaFinal: {
    file: 'causal_dla_final',
    bindings: ['uniform', 'read', 'read', 'read', 'read', 'read', 'write'],
    weights: true,
    modules: ['causal_ln_final'],
  },
  causalGatherRows: {
    file: 'causal_gather_rows',
    bindings: ['uniform', 'read', 'read', 'write'],
    weights: true,
    modules: ['wte_part'],
  },
  causalBroadcast: {
    file: 'causal_broadcast',
    bindings: ['uniform', 'read', 'write'],
    modules: ['causal_batch'],
  },
  causalPatch: {
    file: 'causal_patch',
    bindings: ['uniform', 'read', 'read', 'write'],
    modules: ['causal_batch'],
  },
  causalAttention: {
    file: 'causal_attention',
    bindings: ['uniform', 'read', 'write'],
    modules: ['causal_batch'],
  },
  causalMetric: {
    file: 'causal_metric',
    bindings: ['uniform', 'read', 'read', 'read', 'read', 'write'],
    weights: true,
    modules: ['causal_ln_final', 'causal_batch'],
  },
} as const satisfies Record<string, KernelDef>;

export type KernelName = keyof typeof kernelDefs;

/** How weights are stored on the GPU: f16 needs the adapter's shader-f16 feature. */
export type WeightFormat = 'f32' | 'f16';
/**
 * Texel format of the attention captures (4 keys per texel): exact f32; f16 (half the memory);
 * or 8-bit unorm holding √p (a quarter; √ spends the 256 levels where attention weights live, near 0).
 */
export type CaptureFormat = 'rgba32float' | 'rgba16float' | 'rgba8unorm';

/** Bytes per attention weight in each capture format. */
export const captureBytesPerValue: Readonly<Record<CaptureFormat, number>> = {
  rgba32float: 4,
  rgba16float: 2,
  rgba8unorm: 1,
};

/** Turns a stored capture value back into the attention weight. */
export function decodeCapture(format: CaptureFormat, stored: number): number {
  return format === 'rgba8unorm' ? stored * stored : stored;
}

export interface PipelineVariant {
  readonly overrides: Readonly<Record<string, number>>;
  readonly weightFormat?: WeightFormat;
  readonly captureFormat?: CaptureFormat;
}

export interface Kernel {
  readonly name: KernelName;
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}

export class KernelRegistry {
  readonly #device: GPUDevice;
  readonly #shaders: ShaderLibrary;
  readonly #modules = new Map<string, GPUShaderModule>();
  readonly #layouts = new Map<string, GPUBindGroupLayout>();
  readonly #kernels = new Map<string, Kernel>();

  constructor(device: GPUDevice, shaders: ShaderLibrary) {
    this.#device = device;
    this.#shaders = shaders;
  }

  /** Number of distinct pipelines created so far (the benchmark reports it). */
  get pipelineCount(): number {
    return this.#kernels.size;
  }

  get(name: KernelName, variant: PipelineVariant): Kernel {
    const weightFormat = variant.weightFormat ?? 'f32';
    const captureFormat = variant.captureFormat ?? 'rgba32float';
    const key = `${name}|${weightFormat}|${captureFormat}|${JSON.stringify(variant.overrides)}`;
    let kernel = this.#kernels.get(key);
    if (!kernel) {
      const def: KernelDef = kernelDefs[name];
      const layout = this.#layout(def, captureFormat);
      const module = this.#module(def, weightFormat, captureFormat);
      const pipeline = this.#device.createComputePipeline({
        label: `${def.file}${def.weights ? `:${weightFormat}` : ''}`,
        layout: this.#device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: 'main', constants: { ...variant.overrides } },
      });
      kernel = { name, pipeline, layout };
      this.#kernels.set(key, kernel);
    }
    return kernel;
  }

  #module(def: KernelDef, weightFormat: WeightFormat, captureFormat: CaptureFormat): GPUShaderModule {
    const key = `${def.file}|${weightFormat}|${captureFormat}`;
    let module = this.#modules.get(key);
    if (!module) {
      const source = (file: string): string => {
        const code = this.#shaders[file];
        if (code === undefined) throw new Error(`shader ${file}.wgsl is missing from the shader library`);
        return code;
      };
      // WGSL declarations are order-independent: the modules can follow the kernel.
      let code = kernelFiles(def).map(source).join('\n');
      if (def.weights && weightFormat === 'f16') {
        code = 'enable f16;\n' + code.replace('alias weight_t = f32;', 'alias weight_t = f16;');
      }
      if (captureFormat !== 'rgba32float') code = code.replaceAll('rgba32float', captureFormat);
      module = this.#device.createShaderModule({ label: def.file, code });
      this.#modules.set(key, module);
    }
    return module;
  }

  #layout(def: KernelDef, captureFormat: CaptureFormat): GPUBindGroupLayout {
    const key = `${def.bindings.join(',')}|${captureFormat}`;
    let layout = this.#layouts.get(key);
    if (!layout) {
      layout = this.#device.createBindGroupLayout({
        label: def.file,
        entries: def.bindings.map((kind, binding): GPUBindGroupLayoutEntry => {
          const visibility = GPUShaderStage.COMPUTE;
          switch (kind) {
            case 'uniform':
              return { binding, visibility, buffer: { type: 'uniform' } };
            case 'read':
              return { binding, visibility, buffer: { type: 'read-only-storage' } };
            case 'write':
              return { binding, visibility, buffer: { type: 'storage' } };
            case 'pattern-texture':
              return {
                binding,
                visibility,
                storageTexture: { access: 'write-only', format: captureFormat, viewDimension: '2d-array' },
              };
            case 'pattern-read':
              // Every capture format can be bound so, and textureLoad needs no sampler.
              return {
                binding,
                visibility,
                texture: { sampleType: 'unfilterable-float', viewDimension: '2d-array' },
              };
          }
        }),
      });
      this.#layouts.set(key, layout);
    }
    return layout;
  }
}
