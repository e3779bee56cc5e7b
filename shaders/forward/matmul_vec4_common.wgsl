// matmul_vec4_common — a module without an entry point, prepended to matmul_blocked_vec4.wgsl and
// matmul_ln_blocked_vec4.wgsl (the vec4-load matmuls for CPU fallback adapters; with
// rows_uniform.wgsl: params, rows = M): their overrides, bindings, the epilogue applied to each
// group of 4 outputs and the 4-step multiply-add. matmul_common.wgsl is the scalar-load twin.
//   out = epilogue(a · w + bias); a: [M, K] f32; w: [K, N] in Conv1D layout; bias: [N];
//   residual, out: [M, N] f32; K and N multiples of 4.
// EPILOGUE: 0 none, 1 gelu_new (tanh form), 2 residual add (out = residual + a·w + bias).
// SIDE 1: side = a·w + bias as well, the value before the epilogue (as matmul_common.wgsl).
// The including kernel declares `alias weight_t = f32;` and WG_X.
override K: u32; // a multiple of 4
override N: u32; // a multiple of 4
override EPILOGUE: u32 = 0u;
override SIDE: u32 = 0u;

const ROWS: u32 = 8u; // rows per thread

@group(0) @binding(1) var<storage, read> a: array<vec4f>; // [M, K/4]
@group(0) @binding(2) var<storage, read> w: array<vec4<weight_t>>; // [K, N/4]
@group(0) @binding(3) var<storage, read> bias: array<vec4<weight_t>>; // [N/4]
@group(0) @binding(4) var<storage, read> residual: array<vec4f>; // [M, N/4], read when EPILOGUE == 2
@group(0) @binding(5) var<storage, read_write> out: array<vec4f>; // [M, N/4]
@group(0) @binding(6) var<storage, read_write> side: array<vec4f>; // [M, N/4], written when SIDE == 1

const GELU_C: f32 = 0.7978845608028654; // sqrt(2 / pi)

fn epilogue(x: vec4f, idx: u32) -> vec4f {
  if (SIDE == 1u) {
    side[idx] = x;
  }
  if (EPILOGUE == 1u) {
    return 0.5 * x * (1.0 + tanh(GELU_C * (x + 0.044715 * x * x * x)));
  }
  if (EPILOGUE == 2u) {
    return residual[idx] + x;
  }
  return x;
}

/** One row's 4 steps of K against one column group: x.x·w0 + x.y·w1 + x.z·w2 + x.w·w3. */
fn step4(x: vec4f, w0: vec4f, w1: vec4f, w2: vec4f, w3: vec4f) -> vec4f {
  return x.x * w0 + x.y * w1 + x.z * w2 + x.w * w3;
}
