// GPT-2 as an ONNX graph (onnx.proto's ModelProto, opset 17), written from a checkpoint's weights
// with the protobuf writer beside this file, for onnxruntime-web in `npm run bench:peers`.
//
// Input `input_ids` int64 [T]; output `logits` float [T, V]. No batch dimension, as in Strata.
//   x = Gather(wte, ids) + Slice(wpe, 0, T)                                       [T, D]
//   per block: LayerNormalization → MatMul/Add (c_attn) → Reshape [T, 3, H, hd] → Transpose
//     [3, H, T, hd] → Gather q, k, v → MatMul(q, kᵀ)·1/√hd + causal mask (Slice of a constant
//     [n_ctx, n_ctx] of 0 / -1e9) → Softmax → MatMul v → Transpose/Reshape [T, D] → MatMul/Add
//     (c_proj) → residual Add; LayerNormalization → MatMul/Add (c_fc) → GELU → MatMul/Add → Add
//   LayerNormalization (ln_f) → Gemm(x, wte, transB=1): the tied unembedding, no copy of wte.
// GELU is GPT-2's tanh approximation, 0.5·u·(1 + tanh(√(2/π)·(u + 0.044715·u³))): from Mul, Add and
// Tanh in the standard graph, or com.microsoft's FastGelu (bias folded in) with `fused`, which
// also replaces each residual Add + LayerNormalization by com.microsoft's SkipLayerNormalization
// (its 4th output is the sum, the residual stream) — the fused ops transformers.js's GPT-2 exports use.

import { toFloat32 } from '../../src/model/dtype';
import type { Gpt2Weights, Tensor } from '../../src/model/types';
import { ProtoWriter } from './protobuf';

export interface OnnxGpt2Options {
  /** com.microsoft FastGelu and SkipLayerNormalization instead of their standard-op forms. */
  readonly fused?: boolean;
}

export interface OnnxGpt2 {
  /** The serialized ModelProto, in chunks (the weights are not copied); write them in order. */
  readonly chunks: Uint8Array[];
  readonly bytes: number;
  /** Node count per op type (`com.microsoft.FastGelu` for contrib ops). */
  readonly ops: Record<string, number>;
}

const FLOAT = 1;
const INT64 = 7;
const attrType = { float: 1, int: 2, ints: 7 } as const;

type Attr =
  { kind: 'float'; value: number } | { kind: 'int'; value: number } | { kind: 'ints'; value: number[] };
const int = (value: number): Attr => ({ kind: 'int', value });
const float = (value: number): Attr => ({ kind: 'float', value });
const ints = (value: number[]): Attr => ({ kind: 'ints', value });

function tensorProto(name: string, dims: readonly number[], type: number, raw: Uint8Array): ProtoWriter {
  const t = new ProtoWriter();
  for (const d of dims) t.int(1, d);
  return t.int(2, type).string(8, name).bytes(9, raw);
}

function valueInfo(name: string, type: number, dims: readonly (number | string)[]): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of dims) {
    const dim = new ProtoWriter();
    if (typeof d === 'number') dim.int(1, d);
    else dim.string(2, d);
    shape.message(1, dim);
  }
  const tensorType = new ProtoWriter().int(1, type).message(2, shape);
  const typeProto = new ProtoWriter().message(1, tensorType);
  return new ProtoWriter().string(1, name).message(2, typeProto);
}

const bytesOf = (a: Float32Array | BigInt64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

class GraphBuilder {
  readonly graph = new ProtoWriter();
  readonly ops: Record<string, number> = {};
  #n = 0;

  constant(name: string, dims: readonly number[], values: Float32Array | BigInt64Array): string {
    const type = values instanceof Float32Array ? FLOAT : INT64;
    this.graph.message(5, tensorProto(name, dims, type, bytesOf(values)));
    return name;
  }

  weight(t: Tensor): string {
    return this.constant(t.name, t.shape, toFloat32(t));
  }

  int64s(name: string, values: number[]): string {
    return this.constant(name, [values.length], BigInt64Array.from(values.map(BigInt)));
  }

  scalar(name: string, value: number): string {
    return this.constant(name, [], Float32Array.of(value));
  }

  /** One node; returns its output names (`outputs` of them, named after the op and a counter). */
  nodeN(
    op: string,
    inputs: string[],
    outputs: number | string,
    attrs: Record<string, Attr> = {},
    domain = '',
  ): string[] {
    const id = this.#n++;
    const names =
      typeof outputs === 'string'
        ? [outputs]
        : Array.from({ length: outputs }, (_, i) => `${op}_${id}${outputs > 1 ? `_${i}` : ''}`);
    const node = new ProtoWriter();
    for (const i of inputs) node.string(1, i);
    for (const o of names) node.string(2, o);
    node.string(3, `${op}_${id}`).string(4, op);
    for (const [name, a] of Object.entries(attrs)) {
      const attr = new ProtoWriter().string(1, name);
      if (a.kind === 'float') attr.float(2, a.value);
      else if (a.kind === 'int') attr.int(3, a.value);
      else for (const v of a.value) attr.int(8, v);
      attr.int(20, attrType[a.kind]);
      node.message(5, attr);
    }
    if (domain) node.string(7, domain);
    this.graph.message(1, node);
    const key = domain ? `${domain}.${op}` : op;
    this.ops[key] = (this.ops[key] ?? 0) + 1;
    return names;
  }

  node(op: string, inputs: string[], attrs: Record<string, Attr> = {}, domain = ''): string {
    return this.nodeN(op, inputs, 1, attrs, domain)[0]!;
  }
}

/** GPT-2's forward as an ONNX ModelProto, its weights copied from `weights` as f32 initializers. */
export function gpt2Onnx(weights: Gpt2Weights, options: OnnxGpt2Options = {}): OnnxGpt2 {
  const c = weights.config;
  const { nHead: H, nEmbd: D, headDim: hd, nCtx } = c;
  const eps = c.layerNormEpsilon;
  const g = new GraphBuilder();
  const fused = options.fused ?? false;

  const wte = g.weight(weights.wte);
  const wpe = g.weight(weights.wpe);
  const mask = new Float32Array(nCtx * nCtx);
  for (let q = 0; q < nCtx; q++) mask.fill(-1e9, q * nCtx + q + 1, (q + 1) * nCtx);
  g.constant('causal_mask', [nCtx, nCtx], mask);
  const zero = g.int64s('zero', [0]);
  const zeros2 = g.int64s('zeros2', [0, 0]);
  const axes01 = g.int64s('axes01', [0, 1]);
  const qkvShape = g.int64s('qkv_shape', [-1, 3, H, hd]);
  const rowsShape = g.int64s('rows_shape', [-1, D]);
  const pick = [0, 1, 2].map((i) => g.constant(`pick${i}`, [], BigInt64Array.of(BigInt(i))));
  const scale = g.scalar('attn_scale', 1 / Math.sqrt(hd));
  const [geluA, geluC, half, one] = [
    g.scalar('gelu_a', 0.044715),
    g.scalar('gelu_c', Math.sqrt(2 / Math.PI)),
    g.scalar('half', 0.5),
    g.scalar('one', 1),
  ];

  const T = g.node('Shape', ['input_ids']); // [1] int64: T
  const pos = g.node('Slice', [wpe, zero, T, zero]); // [T, D]
  let x = g.node('Add', [g.node('Gather', [wte, 'input_ids'], { axis: int(0) }), pos]);
  const maskT = g.node('Slice', ['causal_mask', zeros2, g.node('Concat', [T, T], { axis: int(0) }), axes01]);

  const layerNorm = (input: string, ln: { weight: Tensor; bias: Tensor }) =>
    g.node('LayerNormalization', [input, g.weight(ln.weight), g.weight(ln.bias)], {
      axis: int(-1),
      epsilon: float(eps),
    });
  const linear = (input: string, l: { weight: Tensor; bias: Tensor }) =>
    g.node('Add', [g.node('MatMul', [input, g.weight(l.weight)]), g.weight(l.bias)]);
  const gelu = (u: string) => {
    const inner = g.node('Add', [u, g.node('Mul', [g.node('Mul', [g.node('Mul', [u, u]), u]), geluA])]);
    const t = g.node('Tanh', [g.node('Mul', [inner, geluC])]);
    return g.node('Mul', [g.node('Mul', [u, half]), g.node('Add', [t, one])]);
  };
  /** x + added, then LayerNormalization: [normalized, sum]. */
  const addNorm = (base: string, added: string, ln: { weight: Tensor; bias: Tensor }): [string, string] => {
    if (!fused) {
      const sum = g.node('Add', [base, added]);
      return [layerNorm(sum, ln), sum];
    }
    const out = g.nodeN(
      'SkipLayerNormalization',
      [base, added, g.weight(ln.weight), g.weight(ln.bias)],
      4,
      { epsilon: float(eps) },
      'com.microsoft',
    );
    return [out[0]!, out[3]!];
  };

  let h = layerNorm(x, weights.blocks[0]!.ln1);
  weights.blocks.forEach((b, l) => {
    const qkv = g.node('Transpose', [g.node('Reshape', [linear(h, b.cAttn), qkvShape])], {
      perm: ints([1, 2, 0, 3]),
    }); // [3, H, T, hd]
    const [q, k, v] = pick.map((i) => g.node('Gather', [qkv, i], { axis: int(0) })) as [
      string,
      string,
      string,
    ];
    const kT = g.node('Transpose', [k], { perm: ints([0, 2, 1]) });
    const scores = g.node('Add', [g.node('Mul', [g.node('MatMul', [q, kT]), scale]), maskT]); // [H, T, T]
    const pattern = g.node('Softmax', [scores], { axis: int(-1) });
    const z = g.node('Reshape', [
      g.node('Transpose', [g.node('MatMul', [pattern, v])], { perm: ints([1, 0, 2]) }),
      rowsShape,
    ]);
    const attnOut = linear(z, b.attnProj);
    let mid: string;
    [h, mid] = addNorm(x, attnOut, b.ln2);
    let act: string;
    if (fused) {
      const pre = g.node('MatMul', [h, g.weight(b.fc.weight)]);
      act = g.node('FastGelu', [pre, g.weight(b.fc.bias)], {}, 'com.microsoft');
    } else act = gelu(linear(h, b.fc));
    const mlpOut = linear(act, b.mlpProj);
    const next = l + 1 < weights.blocks.length ? weights.blocks[l + 1]!.ln1 : weights.lnF;
    [h, x] = addNorm(mid, mlpOut, next);
  });
  g.nodeN('Gemm', [h, wte], 'logits', { transB: int(1) }); // [T, V]
  g.graph.message(12, valueInfo('logits', FLOAT, ['T', c.vocabSize]));
  g.graph.message(11, valueInfo('input_ids', INT64, ['T']));
  g.graph.string(2, 'gpt2');

  const model = new ProtoWriter().int(1, 8).string(2, 'strata-bench-peers');
  model.message(7, g.graph);
  model.message(8, new ProtoWriter().string(1, '').int(2, 17));
  if (fused) model.message(8, new ProtoWriter().string(1, 'com.microsoft').int(2, 1));
  return { chunks: model.chunks, bytes: model.length, ops: g.ops };
}
