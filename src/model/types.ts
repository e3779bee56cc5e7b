// Shared model types. Pure TypeScript: no GPU, no DOM. Runs in Node and in the browser.

/** Element types found in GPT-2 safetensors checkpoints on the hub. */
export type DType = 'F32' | 'F16' | 'BF16';

/**
 * One tensor of a checkpoint. `data` holds the raw little-endian elements: a Float32Array for F32,
 * a Uint16Array of bit patterns for F16 and BF16 (see toFloat32 in dtype.ts). Views share the
 * file's bytes where alignment allows.
 */
export interface Tensor {
  /** Canonical Hugging Face name, without any `transformer.` prefix, e.g. `h.3.attn.c_attn.weight`. */
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: Float32Array | Uint16Array;
}

/** GPT-2 hyper-parameters, read from the hub's config.json and checked against the tensors. */
export interface Gpt2Config {
  /** Number of transformer blocks (config.json `n_layer`). */
  readonly nLayer: number;
  /** Attention heads per block (`n_head`). */
  readonly nHead: number;
  /** Residual stream width D (`n_embd`). */
  readonly nEmbd: number;
  /** Context length N, rows of `wpe` (`n_positions`, older configs `n_ctx`). */
  readonly nCtx: number;
  /** Vocabulary size V, rows of `wte` (`vocab_size`). */
  readonly vocabSize: number;
  /** LayerNorm epsilon (`layer_norm_epsilon`, 1e-5 for every OpenAI checkpoint). */
  readonly layerNormEpsilon: number;
  /** Width of the MLP hidden layer (`n_inner`, default 4·D). */
  readonly nInner: number;
  /** Head size D / nHead. */
  readonly headDim: number;
  /** Token id of `<|endoftext|>` (`bos_token_id`, 50256 in GPT-2). */
  readonly bosTokenId: number;
}

/** A LayerNorm's affine parameters, each [D]. */
export interface LayerNormWeights {
  readonly weight: Tensor;
  readonly bias: Tensor;
}

/** A Conv1D layer: weight stored [in, out] so y = x·W + b with no transpose; bias [out]. */
export interface LinearWeights {
  readonly weight: Tensor;
  readonly bias: Tensor;
}

export interface BlockWeights {
  /** h.{i}.ln_1: [D] */
  readonly ln1: LayerNormWeights;
  /** h.{i}.attn.c_attn: weight [D, 3D] ([q | k | v] along the output axis), bias [3D] */
  readonly cAttn: LinearWeights;
  /** h.{i}.attn.c_proj: weight [D, D], bias [D] */
  readonly attnProj: LinearWeights;
  /** h.{i}.ln_2: [D] */
  readonly ln2: LayerNormWeights;
  /** h.{i}.mlp.c_fc: weight [D, nInner], bias [nInner] */
  readonly fc: LinearWeights;
  /** h.{i}.mlp.c_proj: weight [nInner, D], bias [D] */
  readonly mlpProj: LinearWeights;
}

/** A loaded, validated GPT-2 checkpoint. The unembedding is tied to `wte`. */
export interface Gpt2Weights {
  readonly config: Gpt2Config;
  /** wte.weight: [V, D] */
  readonly wte: Tensor;
  /** wpe.weight: [N, D] */
  readonly wpe: Tensor;
  readonly blocks: readonly BlockWeights[];
  /** ln_f: [D] */
  readonly lnF: LayerNormWeights;
}
