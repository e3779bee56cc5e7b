// Reads an ONNX ModelProto back (with the protobuf reader of bench/peers) and evaluates its graph
// on the CPU in f64, for the op set bench/peers/onnx-gpt2.ts writes: an independent check of the
// graph that onnxruntime-web runs in `npm run bench:peers`. Nothing here is shared with the builder
// but the wire format.

import { readProto, type ProtoField } from '../../bench/peers/protobuf';

const dec = new TextDecoder();

export interface OnnxNode {
  op: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Record<string, number | number[]>;
}

/** An array: dims and values (int64 values as numbers). */
export interface Arr {
  dims: number[];
  data: Float64Array;
}

export interface OnnxModel {
  irVersion: number;
  opsets: Record<string, number>;
  nodes: OnnxNode[];
  initializers: Map<string, Arr>;
  inputs: string[];
  outputs: string[];
}

const all = (fields: ProtoField[], n: number) => fields.filter((f) => f.field === n).map((f) => f.value);
const str = (v: bigint | Uint8Array) => dec.decode(v as Uint8Array);
const num = (v: bigint | Uint8Array) => Number(BigInt.asIntN(64, v as bigint));

function readTensor(bytes: Uint8Array): [string, Arr] {
  const f = readProto(bytes);
  const dims = all(f, 1).map(num);
  const type = num(all(f, 2)[0]!);
  const raw = all(f, 9)[0] as Uint8Array;
  const copy = raw.slice().buffer;
  const data =
    type === 1
      ? Float64Array.from(new Float32Array(copy))
      : type === 7
        ? Float64Array.from(new BigInt64Array(copy), Number)
        : undefined;
  if (!data) throw new Error(`tensor data type ${type} is not read here`);
  return [str(all(f, 8)[0]!), { dims, data }];
}

export function readOnnx(bytes: Uint8Array): OnnxModel {
  const model = readProto(bytes);
  const graph = readProto(all(model, 7)[0] as Uint8Array);
  const opsets: Record<string, number> = {};
  for (const o of all(model, 8)) {
    const f = readProto(o as Uint8Array);
    opsets[all(f, 1).map(str)[0] ?? ''] = num(all(f, 2)[0]!);
  }
  const nodes = all(graph, 1).map((n): OnnxNode => {
    const f = readProto(n as Uint8Array);
    const attrs: OnnxNode['attrs'] = {};
    for (const a of all(f, 5)) {
      const af = readProto(a as Uint8Array);
      const type = num(all(af, 20)[0]!);
      const name = str(all(af, 1)[0]!);
      if (type === 1)
        attrs[name] = new DataView((all(af, 2)[0] as Uint8Array).slice().buffer).getFloat32(0, true);
      else if (type === 2) attrs[name] = num(all(af, 3)[0]!);
      else if (type === 7) attrs[name] = all(af, 8).map(num);
      else throw new Error(`attribute type ${type} is not read here`);
    }
    return {
      op: str(all(f, 4)[0]!),
      domain: all(f, 7).map(str)[0] ?? '',
      inputs: all(f, 1).map(str),
      outputs: all(f, 2).map(str),
      attrs,
    };
  });
  const valueName = (v: bigint | Uint8Array) => str(all(readProto(v as Uint8Array), 1)[0]!);
  return {
    irVersion: num(all(model, 1)[0]!),
    opsets,
    nodes,
    initializers: new Map(all(graph, 5).map((t) => readTensor(t as Uint8Array))),
    inputs: all(graph, 11).map(valueName),
    outputs: all(graph, 12).map(valueName),
  };
}

const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
const strides = (dims: number[]) => dims.map((_, i) => size(dims.slice(i + 1)));

/** Elementwise with numpy broadcasting. */
function broadcast(a: Arr, b: Arr, f: (x: number, y: number) => number): Arr {
  const n = Math.max(a.dims.length, b.dims.length);
  const pad = (d: number[]) => [...Array(n - d.length).fill(1), ...d];
  const [da, db] = [pad(a.dims), pad(b.dims)];
  const dims = da.map((d, i) => Math.max(d, db[i]!));
  const [sa, sb, so] = [strides(da), strides(db), strides(dims)];
  const data = new Float64Array(size(dims));
  for (let i = 0; i < data.length; i++) {
    let ia = 0;
    let ib = 0;
    for (let k = 0; k < n; k++) {
      const c = Math.floor(i / so[k]!) % dims[k]!;
      if (da[k] !== 1) ia += c * sa[k]!;
      if (db[k] !== 1) ib += c * sb[k]!;
    }
    data[i] = f(a.data[ia]!, b.data[ib]!);
  }
  return { dims, data };
}

function transpose(a: Arr, perm: number[]): Arr {
  const dims = perm.map((p) => a.dims[p]!);
  const [sa, so] = [strides(a.dims), strides(dims)];
  const data = new Float64Array(a.data.length);
  for (let i = 0; i < data.length; i++) {
    let src = 0;
    for (let k = 0; k < dims.length; k++) src += (Math.floor(i / so[k]!) % dims[k]!) * sa[perm[k]!]!;
    data[i] = a.data[src]!;
  }
  return { dims, data };
}

/** [..., M, K] × [K, N] or [B, M, K] × [B, K, N]. */
function matmul(a: Arr, b: Arr): Arr {
  const [M, K] = a.dims.slice(-2) as [number, number];
  const N = b.dims.at(-1)!;
  const batch = size(a.dims.slice(0, -2));
  const bBatched = b.dims.length > 2;
  const data = new Float64Array(batch * M * N);
  for (let s = 0; s < batch; s++)
    for (let i = 0; i < M; i++)
      for (let k = 0; k < K; k++) {
        const x = a.data[(s * M + i) * K + k]!;
        const bOff = (bBatched ? s * K * N : 0) + k * N;
        for (let j = 0; j < N; j++) data[(s * M + i) * N + j]! += x * b.data[bOff + j]!;
      }
  return { dims: [...a.dims.slice(0, -2), M, N], data };
}

function lastAxis(a: Arr, f: (row: Float64Array) => void): Arr {
  const n = a.dims.at(-1)!;
  const data = a.data.slice();
  for (let r = 0; r < data.length; r += n) f(data.subarray(r, r + n));
  return { dims: [...a.dims], data };
}

function slice(a: Arr, starts: number[], ends: number[], axes: number[]): Arr {
  const lo = a.dims.map(() => 0);
  const hi = [...a.dims];
  axes.forEach((ax, i) => ((lo[ax] = starts[i]!), (hi[ax] = Math.min(ends[i]!, a.dims[ax]!))));
  const dims = hi.map((h, i) => h - lo[i]!);
  const [sa, so] = [strides(a.dims), strides(dims)];
  const data = new Float64Array(size(dims));
  for (let i = 0; i < data.length; i++) {
    let src = 0;
    for (let k = 0; k < dims.length; k++) src += ((Math.floor(i / so[k]!) % dims[k]!) + lo[k]!) * sa[k]!;
    data[i] = a.data[src]!;
  }
  return { dims, data };
}

function gather(a: Arr, idx: Arr): Arr {
  const row = size(a.dims.slice(1));
  const data = new Float64Array(idx.data.length * row);
  idx.data.forEach((r, i) => data.set(a.data.subarray(r * row, (r + 1) * row), i * row));
  return { dims: [...idx.dims, ...a.dims.slice(1)], data };
}

function layerNorm(a: Arr, w: Arr, bias: Arr, eps: number): Arr {
  return lastAxis(a, (r) => {
    const mean = r.reduce((s, v) => s + v, 0) / r.length;
    const variance = r.reduce((s, v) => s + (v - mean) ** 2, 0) / r.length;
    const inv = 1 / Math.sqrt(variance + eps);
    for (let i = 0; i < r.length; i++) r[i] = (r[i]! - mean) * inv * w.data[i]! + bias.data[i]!;
  });
}

/** Runs the graph on `inputs`; returns every value by name. */
export function evalOnnx(model: OnnxModel, inputs: Record<string, Arr>): Map<string, Arr> {
  const values = new Map<string, Arr>([...model.initializers, ...Object.entries(inputs)]);
  const get = (name: string) => {
    const v = values.get(name);
    if (!v) throw new Error(`value ${name} is read before it is written`);
    return v;
  };
  for (const n of model.nodes) {
    const x = n.inputs.map(get);
    const [a, b] = x as [Arr, Arr];
    const attr = (k: string) => n.attrs[k] as number;
    let out: Arr;
    switch (n.op) {
      case 'Add':
        out = broadcast(a, b, (p, q) => p + q);
        break;
      case 'Mul':
        out = broadcast(a, b, (p, q) => p * q);
        break;
      case 'Tanh':
        out = { dims: a.dims, data: a.data.map(Math.tanh) };
        break;
      case 'MatMul':
        out = matmul(a, b);
        break;
      case 'Gemm': // A [M, K], B [N, K] with transB
        out = matmul(a, attr('transB') ? transpose(b, [1, 0]) : b);
        break;
      case 'Shape':
        out = { dims: [a.dims.length], data: Float64Array.from(a.dims) };
        break;
      case 'Concat':
        out = {
          dims: [x.reduce((s, v) => s + v.dims[0]!, 0)],
          data: Float64Array.from(x.flatMap((v) => [...v.data])),
        };
        break;
      case 'Slice':
        out = slice(a, [...b.data], [...x[2]!.data], [...x[3]!.data]);
        break;
      case 'Gather':
        if (attr('axis') !== 0) throw new Error('Gather on axis 0 only');
        out = gather(a, b);
        break;
      case 'Reshape': {
        const dims = [...b.data];
        const known = size(dims.filter((d) => d !== -1));
        out = { dims: dims.map((d) => (d === -1 ? a.data.length / known : d)), data: a.data };
        break;
      }
      case 'Transpose':
        out = transpose(a, n.attrs.perm as number[]);
        break;
      case 'Softmax':
        out = lastAxis(a, (r) => {
          const m = Math.max(...r);
          let s = 0;
          for (let i = 0; i < r.length; i++) s += r[i] = Math.exp(r[i]! - m);
          for (let i = 0; i < r.length; i++) r[i]! /= s;
        });
        break;
      case 'LayerNormalization':
        out = layerNorm(a, x[1]!, x[2]!, attr('epsilon'));
        break;
      case 'SkipLayerNormalization': {
        // com.microsoft: outputs [LN(input + skip), mean, inv_std, input + skip].
        const sum = broadcast(a, b, (p, q) => p + q);
        values.set(n.outputs[3]!, sum);
        out = layerNorm(sum, x[2]!, x[3]!, attr('epsilon'));
        break;
      }
      case 'FastGelu': // com.microsoft: the tanh GELU of input + bias
        out = broadcast(a, b, (p, q) => {
          const u = p + q;
          return 0.5 * u * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (u + 0.044715 * u ** 3)));
        });
        break;
      default:
        throw new Error(`op ${n.domain ? n.domain + '.' : ''}${n.op} is not evaluated here`);
    }
    values.set(n.outputs[0]!, out);
  }
  return values;
}
