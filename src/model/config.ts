// The hub's config.json for GPT-2 models: parsed into a Gpt2Config, and written back for fixtures.
// Only what changes the forward pass is read; dropout rates and the like are ignored.

import { ModelError } from './errors';
import type { Gpt2Config } from './types';

/** The hub's GPT-2 class names; a config without model_type is accepted if it names one of them. */
const gpt2Architectures = ['GPT2LMHeadModel', 'GPT2Model'];
/** gelu_pytorch_tanh is the same tanh approximation as gelu_new under another name. */
const gelus = ['gelu_new', 'gelu_pytorch_tanh'];
const defaultBosTokenId = 50256;

/**
 * Upper bounds on the sizes, far above any GPT-2 (XL: 48 layers, 25 heads, width 1600, 1024
 * positions, 50257 tokens) and low enough that nothing sized by them (the expected tensor list,
 * a GPU buffer's byte count) can overflow or exhaust memory before the checkpoint disagrees.
 * The vocabulary bound is the tokenizer's id limit (2^24 − 1).
 */
export const configLimits: Readonly<Record<string, number>> = {
  n_layer: 1024,
  n_head: 1024,
  n_embd: 65_536,
  vocab_size: 2 ** 24 - 1,
  n_positions: 1_048_576,
  n_ctx: 1_048_576,
  n_inner: 262_144,
};

export function parseGpt2Config(text: string, file = 'config.json'): Gpt2Config {
  const fail = (problem: string) => new ModelError('config', file, problem);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ModelError('config', file, `not valid JSON (${String(cause)})`, { cause });
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fail('not a JSON object');
  const c = json as Record<string, unknown>;

  const architectures = Array.isArray(c.architectures) ? c.architectures : [];
  const namesGpt2 = architectures.some((a) => gpt2Architectures.includes(a as string));
  if (c.model_type !== 'gpt2' && !(c.model_type === undefined && namesGpt2)) {
    const found = c.model_type === undefined ? 'no model_type' : `model_type ${JSON.stringify(c.model_type)}`;
    throw fail(`found ${found}, but only GPT-2 (model_type "gpt2") is supported`);
  }

  const positive = (key: string, value = c[key]): number => {
    if (value === undefined || value === null) throw fail(`${key} is missing`);
    if (!Number.isSafeInteger(value) || (value as number) <= 0) {
      throw fail(`${key} must be a positive integer, found ${JSON.stringify(value)}`);
    }
    const limit = configLimits[key];
    if (limit !== undefined && (value as number) > limit) {
      throw fail(`${key}=${value as number} is over the limit of ${limit}: not a GPT-2 this studio can run`);
    }
    return value as number;
  };
  const nLayer = positive('n_layer');
  const nHead = positive('n_head');
  const nEmbd = positive('n_embd');
  const vocabSize = positive('vocab_size');
  // Old configs have only n_ctx; current ones have both, equal.
  const nCtx = positive(c.n_positions === undefined && c.n_ctx !== undefined ? 'n_ctx' : 'n_positions');
  const nInner = c.n_inner === undefined || c.n_inner === null ? 4 * nEmbd : positive('n_inner');
  if (nEmbd % nHead !== 0) throw fail(`n_embd=${nEmbd} is not divisible by n_head=${nHead}`);

  const layerNormEpsilon = c.layer_norm_epsilon ?? 1e-5;
  if (typeof layerNormEpsilon !== 'number' || !(layerNormEpsilon > 0) || !(layerNormEpsilon <= 1)) {
    throw fail(
      `layer_norm_epsilon must be a positive number up to 1, found ${JSON.stringify(layerNormEpsilon)}`,
    );
  }

  const activation = c.activation_function ?? 'gelu_new';
  if (typeof activation !== 'string') throw fail(`activation_function must be a string`);
  if (!gelus.includes(activation)) {
    throw new ModelError(
      'unsupported',
      file,
      `activation_function "${activation}" is not supported: GPT-2 uses gelu_new (the tanh approximation)`,
    );
  }
  // Options of Hugging Face's GPT2 class that change the forward pass away from OpenAI's GPT-2.
  if (c.scale_attn_weights === false || c.scale_attn_by_inverse_layer_idx === true) {
    throw new ModelError(
      'unsupported',
      file,
      'only attention scaled by 1/sqrt(head size) is supported (scale_attn_weights: true, scale_attn_by_inverse_layer_idx: false)',
    );
  }

  const bosTokenId = c.bos_token_id === undefined ? defaultBosTokenId : c.bos_token_id;
  if (
    !Number.isSafeInteger(bosTokenId) ||
    (bosTokenId as number) < 0 ||
    (bosTokenId as number) >= vocabSize
  ) {
    throw fail(`bos_token_id ${JSON.stringify(bosTokenId)} is not a token id below vocab_size=${vocabSize}`);
  }

  return {
    nLayer,
    nHead,
    nEmbd,
    nCtx,
    vocabSize,
    layerNormEpsilon,
    nInner,
    headDim: nEmbd / nHead,
    bosTokenId: bosTokenId as number,
  };
}

/** A config.json as the hub writes it for GPT-2 (fields sorted, two-space indent). */
export function gpt2ConfigJson(config: Gpt2Config): string {
  const json = {
    activation_function: 'gelu_new',
    architectures: ['GPT2LMHeadModel'],
    bos_token_id: config.bosTokenId,
    eos_token_id: config.bosTokenId,
    layer_norm_epsilon: config.layerNormEpsilon,
    model_type: 'gpt2',
    n_ctx: config.nCtx,
    n_embd: config.nEmbd,
    n_head: config.nHead,
    n_inner: config.nInner,
    n_layer: config.nLayer,
    n_positions: config.nCtx,
    vocab_size: config.vocabSize,
  };
  return JSON.stringify(json, null, 2) + '\n';
}
