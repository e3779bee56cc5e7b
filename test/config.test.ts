import { describe, expect, it } from 'vitest';
import { gpt2ConfigJson, parseGpt2Config } from '../src/model/config';
import { ModelError, type ModelErrorKind } from '../src/model/errors';
import { gpt2Config } from '../src/model/fixtures';
import type { Gpt2Config } from '../src/model/types';

/** openai-community/gpt2's config.json as the hub serves it. */
const gpt2Small = `{
  "activation_function": "gelu_new",
  "architectures": ["GPT2LMHeadModel"],
  "attn_pdrop": 0.1,
  "bos_token_id": 50256,
  "embd_pdrop": 0.1,
  "eos_token_id": 50256,
  "initializer_range": 0.02,
  "layer_norm_epsilon": 1e-05,
  "model_type": "gpt2",
  "n_ctx": 1024,
  "n_embd": 768,
  "n_head": 12,
  "n_layer": 12,
  "n_positions": 1024,
  "resid_pdrop": 0.1,
  "summary_activation": null,
  "summary_first_dropout": 0.1,
  "summary_proj_to_labels": true,
  "summary_type": "cls_index",
  "summary_use_proj": true,
  "task_specific_params": { "text-generation": { "do_sample": true, "max_length": 50 } },
  "vocab_size": 50257
}`;

/** GPT-2 small's config with some fields replaced (undefined removes one). */
function edited(changes: Record<string, unknown>): string {
  return JSON.stringify({ ...JSON.parse(gpt2Small), ...changes });
}

function expectError(text: string, kind: ModelErrorKind, message: RegExp, file?: string) {
  let error: unknown;
  try {
    parseGpt2Config(text, file);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ModelError);
  expect((error as ModelError).kind).toBe(kind);
  expect((error as ModelError).message).toMatch(new RegExp(`^${file ?? 'config.json'}: `));
  expect((error as ModelError).message).toMatch(message);
}

/** A parsed config with GPT-2's layer_norm_epsilon (1e-5) and bos_token_id (50256). */
function withDefaults(sizes: Omit<Gpt2Config, 'layerNormEpsilon' | 'bosTokenId'>): Gpt2Config {
  return { ...sizes, layerNormEpsilon: 1e-5, bosTokenId: 50256 };
}

describe('parseGpt2Config', () => {
  it("reads GPT-2 small's config.json", () => {
    expect(parseGpt2Config(gpt2Small)).toEqual(
      withDefaults({
        nLayer: 12,
        nHead: 12,
        nEmbd: 768,
        nCtx: 1024,
        vocabSize: 50257,
        nInner: 3072,
        headDim: 64,
      }),
    );
  });

  it('fills in the defaults of older configs', () => {
    const old = parseGpt2Config(
      JSON.stringify({
        architectures: ['GPT2Model'],
        n_layer: 2,
        n_head: 2,
        n_embd: 8,
        n_ctx: 16,
        vocab_size: 60000,
      }),
    );
    expect(old).toEqual(
      withDefaults({ nLayer: 2, nHead: 2, nEmbd: 8, nCtx: 16, vocabSize: 60000, nInner: 32, headDim: 4 }),
    );
  });

  it('reads n_inner, epsilon, bos_token_id and the gelu_new alias when given', () => {
    const c = parseGpt2Config(
      edited({
        n_inner: 1000,
        layer_norm_epsilon: 1e-6,
        bos_token_id: 7,
        activation_function: 'gelu_pytorch_tanh',
      }),
    );
    expect([c.nInner, c.layerNormEpsilon, c.bosTokenId]).toEqual([1000, 1e-6, 7]);
    expect(parseGpt2Config(edited({ n_inner: null })).nInner).toBe(3072);
  });

  it('prefers n_positions over n_ctx', () => {
    expect(parseGpt2Config(edited({ n_positions: 512, n_ctx: 1024 })).nCtx).toBe(512);
  });

  it('rejects other architectures, saying which was found', () => {
    expectError(
      edited({ model_type: 'llama', architectures: ['LlamaForCausalLM'] }),
      'config',
      /found model_type "llama", but only GPT-2 \(model_type "gpt2"\) is supported/,
    );
    expectError(
      edited({ model_type: undefined, architectures: ['BertModel'] }),
      'config',
      /found no model_type, but only GPT-2/,
    );
  });

  it('rejects text that is not a JSON object', () => {
    expectError('<html>', 'config', /not valid JSON/);
    expectError('[1]', 'config', /not a JSON object/, 'models/x/config.json');
  });

  it('rejects missing or non-integer sizes', () => {
    expectError(edited({ n_layer: undefined }), 'config', /n_layer is missing/);
    expectError(edited({ n_positions: undefined, n_ctx: undefined }), 'config', /n_positions is missing/);
    expectError(edited({ n_head: 1.5 }), 'config', /n_head must be a positive integer, found 1.5/);
    expectError(
      edited({ vocab_size: '50257' }),
      'config',
      /vocab_size must be a positive integer, found "50257"/,
    );
    expectError(edited({ n_embd: 0 }), 'config', /n_embd must be a positive integer, found 0/);
  });

  it('rejects n_embd not divisible by n_head', () => {
    expectError(edited({ n_embd: 770 }), 'config', /n_embd=770 is not divisible by n_head=12/);
  });

  it('rejects activations other than gelu_new', () => {
    expectError(
      edited({ activation_function: 'gelu' }),
      'unsupported',
      /activation_function "gelu" is not supported/,
    );
    expectError(
      edited({ activation_function: 'relu' }),
      'unsupported',
      /"relu" is not supported: GPT-2 uses gelu_new/,
    );
  });

  it('rejects attention scaled other than by 1/sqrt(head size)', () => {
    expectError(edited({ scale_attn_weights: false }), 'unsupported', /scale_attn_weights: true/);
    expectError(edited({ scale_attn_by_inverse_layer_idx: true }), 'unsupported', /by 1\/sqrt\(head size\)/);
  });

  it('rejects a bad epsilon or a BOS outside the vocabulary', () => {
    expectError(edited({ layer_norm_epsilon: -1 }), 'config', /layer_norm_epsilon must be a positive number/);
    expectError(
      edited({ vocab_size: 1000 }),
      'config',
      /bos_token_id 50256 is not a token id below vocab_size=1000/,
    );
  });
});

describe('gpt2ConfigJson', () => {
  it('writes a hub-style config that parses back to the same config', () => {
    const config = gpt2Config({ nLayer: 3, nHead: 4, nEmbd: 32, nCtx: 64, vocabSize: 100, nInner: 96 });
    const text = gpt2ConfigJson(config);
    expect(parseGpt2Config(text)).toEqual(config);
    expect(JSON.parse(text)).toMatchObject({
      architectures: ['GPT2LMHeadModel'],
      model_type: 'gpt2',
      activation_function: 'gelu_new',
      n_ctx: 64,
      n_positions: 64,
      n_inner: 96,
      layer_norm_epsilon: 1e-5,
      bos_token_id: 99,
      eos_token_id: 99,
    });
  });
});
