// matmul_common — a module without an entry point, prepended to matmul_blocked.wgsl and
// matmul_tiled.wgsl (the scalar-load matmuls; matmul_blocked_vec4.wgsl reads vec4 and declares its
// own): their overrides and bindings, and the epilogue applied to each output (the uniform:
// rows_uniform.wgsl).
//   out = epilogue(a · w + bias); a: [M, K] f32 activations, row-major; w: [K, N] weights in
//   Conv1D layout [in, out]; bias: [N]; residual, out: [M, N] f32. M = params.rows at run time.
// EPILOGUE: 0 none, 1 gelu_new (tanh form), 2 residual add (out = residual + a·w + bias).
// The including kernel declares `alias weight_t = f32;`.
override K: u32;
override N: u32;
override EPILOGUE: u32 = 0u;

// params: rows_uniform.wgsl (prepended), rows = M, the number of positions T in this run.
@group(0) @binding(1) var<storage, read> a: array<f32>; // [M, K]
@group(0) @binding(2) var<storage, read> w: array<weight_t>; // [K, N]
@group(0) @binding(3) var<storage, read> bias: array<weight_t>; // [N]
@group(0) @binding(4) var<storage, read> residual: array<f32>; // [M, N], read when EPILOGUE == 2
@group(0) @binding(5) var<storage, read_write> out: array<f32>; // [M, N]

const GELU_C: f32 = 0.7978845608028654; // sqrt(2 / pi)

fn epilogue(x: f32, idx: u32) -> f32 {
  if (EPILOGUE == 1u) {
    return 0.5 * x * (1.0 + tanh(GELU_C * (x + 0.044715 * x * x * x)));
  }
  if (EPILOGUE == 2u) {
    return residual[idx] + x;
  }
  return x;
}
