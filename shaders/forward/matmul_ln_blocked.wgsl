// matmul_ln_blocked — out = epilogue(LayerNorm(a) · w + bias), matmul_blocked.wgsl with the
//   LayerNorm before it folded in (ln_1 → attn.c_attn, ln_2 → mlp.c_fc), the variant for CPU
//   fallback adapters when K or N is not a multiple of 4 (matmul_ln_blocked_vec4.wgsl covers the rest).
//   a: [M, K] f32, the residual stream (the LayerNorm's input); w: [K, N] in Conv1D layout;
//   bias: [N]; gamma, beta: [K] (matmul_ln_common.wgsl); out: [M, N]. EPILOGUE 0 none, 1 gelu_new.
// Dispatch: (ceil(N / (4·WG_X)), ceil(M / 4), 1) workgroups of WG_X threads. Each thread owns a
// 4×4 block of out: it first takes its 4 rows' mean and rstd (two passes over K, as
// layernorm.wgsl), then accumulates as matmul_blocked.wgsl with each value of a normalized on load.
// No workgroup memory, no barriers.
alias weight_t = f32;

override WG_X: u32 = 64u;

// K, N, EPILOGUE, params, a, w, bias, out, epilogue() and store_block(): matmul_common.wgsl; EPS,
// gamma, beta and ln_value: matmul_ln_common.wgsl.

/** (mean, rstd) of a[r, :]; row = r · K. */
fn ln_stats(row: u32) -> vec2f {
  var sum = 0.0;
  for (var k = 0u; k < K; k++) {
    sum += a[row + k];
  }
  let mean = sum / f32(K);
  var sq = 0.0;
  for (var k = 0u; k < K; k++) {
    let c = a[row + k] - mean;
    sq += c * c;
  }
  return vec2f(mean, inverseSqrt(sq / f32(K) + EPS));
}

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let m_total = params.rows;
  let c0 = gid.x * 4u;
  let r0 = gid.y * 4u;
  if (c0 >= N || r0 >= m_total) {
    return;
  }
  let ra = block_rows(r0, m_total); // clamped reads: matmul_common.wgsl
  let st = array<vec2f, 4>(ln_stats(ra[0]), ln_stats(ra[1]), ln_stats(ra[2]), ln_stats(ra[3]));
  let cb = block_cols(c0);
  var acc: array<vec4f, 4>; // acc[i][j]: row r0+i, column c0+j
  for (var k = 0u; k < K; k++) {
    let wrow = k * N;
    let wv = vec4f(f32(w[wrow + cb[0]]), f32(w[wrow + cb[1]]), f32(w[wrow + cb[2]]), f32(w[wrow + cb[3]]));
    acc[0] += ln_value(a[ra[0] + k], k, st[0]) * wv;
    acc[1] += ln_value(a[ra[1] + k], k, st[1]) * wv;
    acc[2] += ln_value(a[ra[2] + k], k, st[2]) * wv;
    acc[3] += ln_value(a[ra[3] + k], k, st[3]) * wv;
  }
  store_block(r0, c0, m_total, cb, acc);
}
