// GPT-2's forward in TensorFlow.js ops (for its WebGPU backend in `npm run bench:peers`): the
// weights uploaded once as tensors, then per forward the token ids in and the last position's
// logits out (tf.slice on the GPU, so only that row [1, V] is read back).

import { toFloat32 } from '../../src/model/dtype';
import type { Gpt2Weights, Tensor } from '../../src/model/types';
import type { TfModule, TfTensor } from './peer-types';

interface Ln {
  w: TfTensor;
  b: TfTensor;
}
interface Lin {
  w: TfTensor;
  b: TfTensor;
}

export class TfjsGpt2 {
  readonly #tf: TfModule;
  readonly #tensors: TfTensor[] = [];
  readonly #cfg: Gpt2Weights['config'];
  readonly #wte: TfTensor;
  readonly #wpe: TfTensor;
  readonly #mask: TfTensor;
  readonly #scale: TfTensor;
  readonly #consts: { a: TfTensor; c: TfTensor; half: TfTensor; one: TfTensor; eps: TfTensor };
  readonly #blocks: { ln1: Ln; attn: Lin; proj: Lin; ln2: Ln; fc: Lin; mlp: Lin }[];
  readonly #lnF: Ln;

  constructor(tf: TfModule, weights: Gpt2Weights) {
    this.#tf = tf;
    this.#cfg = weights.config;
    const t = (x: Tensor) => this.#keep(tf.tensor(toFloat32(x), [...x.shape]));
    const s = (v: number) => this.#keep(tf.scalar(v));
    const ln = (l: { weight: Tensor; bias: Tensor }) => ({ w: t(l.weight), b: t(l.bias) });
    this.#wte = t(weights.wte);
    this.#wpe = t(weights.wpe);
    const n = this.#cfg.nCtx;
    const mask = new Float32Array(n * n);
    for (let q = 0; q < n; q++) mask.fill(-1e9, q * n + q + 1, (q + 1) * n);
    this.#mask = this.#keep(tf.tensor(mask, [n, n]));
    this.#scale = s(1 / Math.sqrt(this.#cfg.headDim));
    this.#consts = {
      a: s(0.044715),
      c: s(Math.sqrt(2 / Math.PI)),
      half: s(0.5),
      one: s(1),
      eps: s(this.#cfg.layerNormEpsilon),
    };
    this.#blocks = weights.blocks.map((b) => ({
      ln1: ln(b.ln1),
      attn: ln(b.cAttn),
      proj: ln(b.attnProj),
      ln2: ln(b.ln2),
      fc: ln(b.fc),
      mlp: ln(b.mlpProj),
    }));
    this.#lnF = ln(weights.lnF);
  }

  #keep(x: TfTensor): TfTensor {
    this.#tensors.push(x);
    return x;
  }

  /** [1, V]: the last position's logits, still on the GPU. */
  forward(tokens: readonly number[]): TfTensor {
    const tf = this.#tf;
    const { nHead: H, nEmbd: D, headDim: hd, vocabSize: V } = this.#cfg;
    const T = tokens.length;
    const k = this.#consts;
    return tf.tidy(() => {
      const ln = (x: TfTensor, l: Ln) => {
        const { mean, variance } = tf.moments(x, -1, true);
        const normed = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, k.eps)));
        return tf.add(tf.mul(normed, l.w), l.b);
      };
      const lin = (x: TfTensor, l: Lin) => tf.add(tf.matMul(x, l.w), l.b);
      const gelu = (u: TfTensor) => {
        const inner = tf.add(u, tf.mul(tf.mul(tf.mul(u, u), u), k.a));
        return tf.mul(tf.mul(u, k.half), tf.add(tf.tanh(tf.mul(inner, k.c)), k.one));
      };
      const ids = tf.tensor1d(Int32Array.from(tokens), 'int32');
      let x = tf.add(tf.gather(this.#wte, ids), tf.slice(this.#wpe, [0, 0], [T, D])); // [T, D]
      const mask = tf.slice(this.#mask, [0, 0], [T, T]);
      for (const b of this.#blocks) {
        const qkv = tf.transpose(tf.reshape(lin(ln(x, b.ln1), b.attn), [T, 3, H, hd]), [1, 2, 0, 3]);
        const [q, kk, v] = tf.unstack(qkv, 0) as [TfTensor, TfTensor, TfTensor]; // [H, T, hd]
        const scores = tf.add(tf.mul(tf.matMul(q, kk, false, true), this.#scale), mask); // [H, T, T]
        const z = tf.reshape(tf.transpose(tf.matMul(tf.softmax(scores), v), [1, 0, 2]), [T, D]);
        x = tf.add(x, lin(z, b.proj));
        x = tf.add(x, lin(gelu(lin(ln(x, b.ln2), b.fc)), b.mlp));
      }
      const logits = tf.matMul(ln(x, this.#lnF), this.#wte, false, true); // [T, V]
      return tf.slice(logits, [T - 1, 0], [1, V]);
    });
  }

  dispose(): void {
    for (const t of this.#tensors) t.dispose();
    this.#tensors.length = 0;
  }
}
