// The ONNX graph of GPT-2 that `npm run bench:peers` gives onnxruntime-web: read back from its
// bytes, its structure checked, and evaluated on the CPU (test/support/onnx-eval.ts) against the
// reference forward, logits within 1e-4 × max |logit| (the engine tests' tolerance).

import { describe, expect, it } from 'vitest';
import { gpt2Onnx } from '../bench/peers/onnx-gpt2';
import { gpt2Config, randomGpt2Weights } from '../src/model/fixtures';
import { referenceForward } from '../src/model/reference';
import { evalOnnx, readOnnx } from './support/onnx-eval';

const config = gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 16, nCtx: 8, vocabSize: 50 });
const weights = randomGpt2Weights(config, 7);
const tokens = [3, 49, 0, 17, 17, 8];

function build(fused: boolean) {
  const onnx = gpt2Onnx(weights, { fused });
  const bytes = new Uint8Array(onnx.bytes);
  let offset = 0;
  for (const c of onnx.chunks) bytes.set(c, (offset += c.byteLength) - c.byteLength);
  return { onnx, model: readOnnx(bytes) };
}

function maxError(a: ArrayLike<number>, b: ArrayLike<number>) {
  let err = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i]! - b[i]!));
    max = Math.max(max, Math.abs(b[i]!));
  }
  return { err, max };
}

describe('gpt2Onnx', () => {
  const reference = referenceForward(weights, tokens).logits; // [T, V]

  for (const fused of [false, true]) {
    it(`${fused ? 'fused' : 'standard'} graph: structure, and logits as the reference's`, () => {
      const { onnx, model } = build(fused);
      const L = config.nLayer;
      expect(model.irVersion).toBe(8);
      expect(model.opsets['']).toBe(17);
      expect(model.inputs).toEqual(['input_ids']);
      expect(model.outputs).toEqual(['logits']);
      const count = (op: string) => model.nodes.filter((n) => n.op === op).length;
      expect(count('Softmax')).toBe(L);
      expect(count('MatMul')).toBe(6 * L); // c_attn, q·kᵀ, pattern·v, c_proj, c_fc, mlp c_proj
      expect(count('Gemm')).toBe(1); // the tied unembedding, wte not copied
      expect(model.initializers.get('wte.weight')!.dims).toEqual([config.vocabSize, config.nEmbd]);
      expect(model.initializers.has('lm_head.weight')).toBe(false);
      if (fused) {
        expect(model.opsets['com.microsoft']).toBe(1);
        expect(count('FastGelu')).toBe(L);
        expect(count('SkipLayerNormalization')).toBe(2 * L);
        expect(count('LayerNormalization')).toBe(1);
        expect(count('Tanh')).toBe(0);
      } else {
        expect(model.opsets['com.microsoft']).toBeUndefined();
        expect(count('LayerNormalization')).toBe(2 * L + 1);
        expect(count('Tanh')).toBe(L);
        expect(model.nodes.every((n) => n.domain === '')).toBe(true);
      }
      expect(Object.values(onnx.ops).reduce((a, b) => a + b, 0)).toBe(model.nodes.length);

      const out = evalOnnx(model, {
        input_ids: { dims: [tokens.length], data: Float64Array.from(tokens) },
      }).get('logits')!;
      expect(out.dims).toEqual([tokens.length, config.vocabSize]);
      const { err, max } = maxError(out.data, reference);
      expect(max).toBeGreaterThan(0);
      expect(err).toBeLessThanOrEqual(1e-4 * max);
    });
  }

  it('the evaluator catches a wrong graph: a dropped causal mask changes the logits', () => {
    const { model } = build(false);
    const mask = model.initializers.get('causal_mask')!;
    mask.data.fill(0);
    const out = evalOnnx(model, { input_ids: { dims: [tokens.length], data: Float64Array.from(tokens) } });
    const { err, max } = maxError(out.get('logits')!.data, reference);
    expect(err).toBeGreaterThan(1e-4 * max);
  });
});
