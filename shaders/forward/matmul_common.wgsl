// matmul_common — a module without an entry point, prepended to matmul_blocked.wgsl,
// matmul_tiled.wgsl and (through matmul_ln_common.wgsl) their LayerNorm-folded twins, the
// scalar-load matmuls (matmul_vec4_common.wgsl is the vec4 kernels' twin of this): their overrides
// and bindings, the epilogue applied to each output, and the blocked kernels' 4×4 block (the
// uniform: rows_uniform.wgsl).
//   out = epilogue(a · w + bias); a: [M, K] f32 activations, row-major; w: [K, N] weights in
//   Conv1D layout [in, out]; bias: [N]; residual, out: [M, N] f32. M = params.rows at run time.
// EPILOGUE: 0 none, 1 gelu_new (tanh form), 2 residual add (out = residual + a·w + bias).
// SIDE 1: side = a·w + bias as well, the value before the epilogue (hook_attn_out and hook_mlp_out
// beside the residual add, mlp.hook_pre beside gelu), so a capture costs a store, not a matmul.
// The including kernel declares `alias weight_t = f32;`.
override K: u32;
override N: u32;
override EPILOGUE: u32 = 0u;
override SIDE: u32 = 0u;

// params: rows_uniform.wgsl (prepended), rows = M, the number of positions T in this run.
@group(0) @binding(1) var<storage, read> a: array<f32>; // [M, K]
@group(0) @binding(2) var<storage, read> w: array<weight_t>; // [K, N]
@group(0) @binding(3) var<storage, read> bias: array<weight_t>; // [N]
@group(0) @binding(4) var<storage, read> residual: array<f32>; // [M, N], read when EPILOGUE == 2
@group(0) @binding(5) var<storage, read_write> out: array<f32>; // [M, N]
@group(0) @binding(6) var<storage, read_write> side: array<f32>; // [M, N], written when SIDE == 1

const GELU_C: f32 = 0.7978845608028654; // sqrt(2 / pi)

fn epilogue(x: f32, idx: u32) -> f32 {
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

// The 4×4 block of out at rows r0.., columns c0.. (matmul_blocked.wgsl, matmul_ln_blocked.wgsl):
// acc[i][j] + bias, through the epilogue; cb holds the block's columns clamped to N − 1, and what
// lies past M or N is not stored.
fn store_block(r0: u32, c0: u32, m_total: u32, cb: array<u32, 4>, acc: array<vec4f, 4>) {
  let bv = vec4f(f32(bias[cb[0]]), f32(bias[cb[1]]), f32(bias[cb[2]]), f32(bias[cb[3]]));
  for (var i = 0u; i < 4u; i++) {
    let r = r0 + i;
    if (r >= m_total) {
      break;
    }
    let v = acc[i] + bv;
    for (var j = 0u; j < 4u; j++) {
      let c = c0 + j;
      if (c < N) {
        let idx = r * N + c;
        out[idx] = epilogue(v[j], idx);
      }
    }
  }
}

// The 4×4 block at rows r0.., columns c0.. (matmul_blocked.wgsl, matmul_ln_blocked.wgsl): its rows'
// offsets in a and its columns, clamped to the last row and column for reading (store_block skips
// what lies outside).
fn block_rows(r0: u32, m_total: u32) -> array<u32, 4> {
  let r_last = m_total - 1u;
  return array<u32, 4>(r0 * K, min(r0 + 1u, r_last) * K, min(r0 + 2u, r_last) * K, min(r0 + 3u, r_last) * K);
}

fn block_cols(c0: u32) -> array<u32, 4> {
  let c_last = N - 1u;
  return array<u32, 4>(c0, min(c0 + 1u, c_last), min(c0 + 2u, c_last), min(c0 + 3u, c_last));
}
