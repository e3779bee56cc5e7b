// Random GPT-2 checkpoints in the hub's layout, for tests and benchmarks: seeded weights with
// GPT-2's initialisation, and the safetensors naming variants found in the wild (GPT2.md).

import { bf16ToF32, f32ToBf16, toFloat32 } from './dtype';
import { mulberry32 } from './random';
import { encodeSafetensors, safetensorsParts, type TensorToWrite } from './safetensors';
import type { BlockWeights, DType, Gpt2Config, Gpt2Weights, Tensor } from './types';

/** A Gpt2Config from its dimensions; eps 1e-5, n_inner 4·D and BOS = the last token by default. */
export function gpt2Config(p: {
  nLayer: number;
  nHead: number;
  nEmbd: number;
  nCtx: number;
  vocabSize: number;
  nInner?: number;
}): Gpt2Config {
  if (p.nEmbd % p.nHead !== 0) throw new RangeError(`nEmbd=${p.nEmbd} is not divisible by nHead=${p.nHead}`);
  return {
    nLayer: p.nLayer,
    nHead: p.nHead,
    nEmbd: p.nEmbd,
    nCtx: p.nCtx,
    vocabSize: p.vocabSize,
    layerNormEpsilon: 1e-5,
    nInner: p.nInner ?? 4 * p.nEmbd,
    headDim: p.nEmbd / p.nHead,
    bosTokenId: p.vocabSize - 1,
  };
}

/**
 * Seeded random weights: wte, wpe and the Conv1D weights N(0, 0.02) as GPT-2 was initialised
 * (the residual projections c_proj scaled by 1/sqrt(2·n_layer)). Biases are N(0, 0.02) and LayerNorm
 * weights 1 + N(0, 0.1) rather than GPT-2's initial 0 and 1, so that a kernel that drops a bias or
 * a LayerNorm parameter gives visibly different results.
 *
 * `exact16` rounds every value to one that F32, F16 and BF16 all hold exactly, so that every dtype
 * variant of a checkpoint decodes to identical f32 values.
 */
export function randomGpt2Weights(
  config: Gpt2Config,
  seed: number,
  opts?: { exact16?: boolean },
): Gpt2Weights {
  const normal = gaussian(seed);
  const round = opts?.exact16 ? exact16 : (x: number) => x;
  const { vocabSize: v, nCtx: n, nEmbd: d, nInner: f } = config;
  const projStd = 0.02 / Math.sqrt(2 * config.nLayer);
  const tensor = (name: string, shape: number[], mean: number, std: number): Tensor => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = round(mean + std * normal());
    return { name, dtype: 'F32', shape, data };
  };
  const layerNorm = (name: string) => ({
    weight: tensor(`${name}.weight`, [d], 1, 0.1),
    bias: tensor(`${name}.bias`, [d], 0, 0.02),
  });
  const linear = (name: string, inputs: number, outputs: number, std: number) => ({
    weight: tensor(`${name}.weight`, [inputs, outputs], 0, std),
    bias: tensor(`${name}.bias`, [outputs], 0, 0.02),
  });

  const wte = tensor('wte.weight', [v, d], 0, 0.02);
  const wpe = tensor('wpe.weight', [n, d], 0, 0.02);
  const blocks: BlockWeights[] = [];
  for (let i = 0; i < config.nLayer; i++) {
    blocks.push({
      ln1: layerNorm(`h.${i}.ln_1`),
      cAttn: linear(`h.${i}.attn.c_attn`, d, 3 * d, 0.02),
      attnProj: linear(`h.${i}.attn.c_proj`, d, d, projStd),
      ln2: layerNorm(`h.${i}.ln_2`),
      fc: linear(`h.${i}.mlp.c_fc`, d, f, 0.02),
      mlpProj: linear(`h.${i}.mlp.c_proj`, f, d, projStd),
    });
  }
  return { config, wte, wpe, blocks, lnF: layerNorm('ln_f') };
}

/**
 * The nearest value exact in F32, F16 and BF16: BF16 keeps 8 significant bits, F16 holds every
 * such value in its normal range [2^-14, 65504], so round to BF16 and flush what is below that
 * range to 0. (Nothing here comes near 65504: the largest values are about 1 + 0.6.)
 */
function exact16(x: number): number {
  const y = bf16ToF32(f32ToBf16(x));
  return Math.abs(y) < 2 ** -14 ? 0 : y;
}

/** Normal deviates from mulberry32 uniforms through the Box-Muller transform. */
function gaussian(seed: number): () => number {
  const uniform = mulberry32(seed); // [0, 1)
  let spare = 0;
  let hasSpare = false;
  return () => {
    if (hasSpare) {
      hasSpare = false;
      return spare;
    }
    const radius = Math.sqrt(-2 * Math.log(1 - uniform())); // 1 - u in (0, 1]: log stays finite
    const angle = 2 * Math.PI * uniform();
    spare = radius * Math.sin(angle);
    hasSpare = true;
    return radius * Math.cos(angle);
  };
}

/** How a checkpoint is laid out on disk: the naming variants of GPT2.md. */
export interface CheckpointVariant {
  readonly dtype: DType;
  /** Every name prefixed with `transformer.` (a GPT2LMHeadModel state dict). */
  readonly prefix: boolean;
  /** An explicit `lm_head.weight`, equal to wte. */
  readonly lmHead: boolean;
  /** The old PyTorch buffers `h.{i}.attn.bias` (causal mask) and `h.{i}.attn.masked_bias`. */
  readonly attnBias: boolean;
}

/** Every combination: each is a few kilobytes at test sizes, so none is worth leaving out. */
export const checkpointVariants: readonly CheckpointVariant[] = (['F32', 'F16', 'BF16'] as const).flatMap(
  (dtype) =>
    [false, true].flatMap((prefix) =>
      [false, true].flatMap((lmHead) =>
        [false, true].map((attnBias) => ({ dtype, prefix, lmHead, attnBias })),
      ),
    ),
);

/** The `__metadata__` that PyTorch exports on the hub carry. */
const hubMetadata = { format: 'pt' };

export function encodeGpt2Checkpoint(weights: Gpt2Weights, variant: CheckpointVariant): Uint8Array {
  return encodeSafetensors(checkpointTensors(weights, variant), hubMetadata);
}

/** The same file as chunks (header, then one tensor at a time), for writing large checkpoints. */
export function gpt2CheckpointParts(weights: Gpt2Weights, variant: CheckpointVariant): Generator<Uint8Array> {
  return safetensorsParts(checkpointTensors(weights, variant), hubMetadata);
}

/** The tensors in file order: wte, wpe, each block (with its mask buffers), ln_f, lm_head. */
function checkpointTensors(weights: Gpt2Weights, variant: CheckpointVariant): TensorToWrite[] {
  const { nCtx: n } = weights.config;
  const name = (canonical: string) => (variant.prefix ? `transformer.${canonical}` : canonical);
  const weight = (canonical: string, t: Tensor): TensorToWrite => ({
    name: name(canonical),
    dtype: variant.dtype,
    shape: t.shape,
    data: toFloat32(t),
  });
  const pair = (canonical: string, p: { weight: Tensor; bias: Tensor }) => [
    weight(`${canonical}.weight`, p.weight),
    weight(`${canonical}.bias`, p.bias),
  ];
  // The causal mask [1, 1, N, N]: 1 where key ≤ query. One array serves every layer.
  const mask = variant.attnBias ? new Float32Array(n * n) : undefined;
  for (let q = 0; mask && q < n; q++) mask.fill(1, q * n, q * n + q + 1);

  const tensors = [weight('wte.weight', weights.wte), weight('wpe.weight', weights.wpe)];
  weights.blocks.forEach((b, i) => {
    const h = `h.${i}`;
    tensors.push(...pair(`${h}.ln_1`, b.ln1));
    if (mask) {
      tensors.push(
        { name: name(`${h}.attn.bias`), dtype: 'F32', shape: [1, 1, n, n], data: mask },
        { name: name(`${h}.attn.masked_bias`), dtype: 'F32', shape: [], data: new Float32Array([-1e4]) },
      );
    }
    tensors.push(
      ...pair(`${h}.attn.c_attn`, b.cAttn),
      ...pair(`${h}.attn.c_proj`, b.attnProj),
      ...pair(`${h}.ln_2`, b.ln2),
      ...pair(`${h}.mlp.c_fc`, b.fc),
      ...pair(`${h}.mlp.c_proj`, b.mlpProj),
    );
  });
  tensors.push(...pair('ln_f', weights.lnF));
  if (variant.lmHead) tensors.push({ ...weight('wte.weight', weights.wte), name: 'lm_head.weight' });
  return tensors;
}
