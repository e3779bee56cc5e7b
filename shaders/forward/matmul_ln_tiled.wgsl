// matmul_ln_tiled — out = epilogue(LayerNorm(a) · w + bias), matmul_tiled.wgsl with the LayerNorm
//   before it folded in (ln_1 → attn.c_attn, ln_2 → mlp.c_fc), the variant for real GPUs.
//   a: [M, K] f32, the residual stream (the LayerNorm's input); w: [K, N] in Conv1D layout;
//   bias: [N]; gamma, beta: [K] (matmul_ln_common.wgsl); out: [M, N]. EPILOGUE 0 none, 1 gelu_new.
// Dispatch: (ceil(N / 64), ceil(M / 64), 1) workgroups of 16×16 threads. A prologue takes the
// mean and rstd of the workgroup's 64 rows (4 threads per row, two passes over K, partial sums
// reduced in workgroup memory); then as matmul_tiled.wgsl, each value of a normalized as it is
// staged into workgroup memory.
alias weight_t = f32;

// K, N, EPILOGUE, params, a, w, bias, out and epilogue(): matmul_common.wgsl; EPS, gamma, beta and
// ln_value: matmul_ln_common.wgsl.

// TILE, TK, tile_a, tile_w, stage_w, multiply_tiles and store_tile: matmul_tile.wgsl.
var<workgroup> ln_part: array<f32, 256>; // [64 rows, 4 threads]: partial sums
var<workgroup> ln_row: array<vec2f, TILE>; // [64 rows]: (mean, rstd)

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let m_total = params.rows;
  let row0 = wg.y * TILE;
  let col0 = wg.x * TILE;
  let tid = lid.y * 16u + lid.x; // 0..255
  // Prologue: row tid / 4's statistics, thread tid % 4 taking every 4th value of it.
  let lr = tid / 4u;
  let part = tid % 4u;
  let base = min(row0 + lr, m_total - 1u) * K; // rows past the end: a copy of the last (never stored)
  var sum = 0.0;
  for (var k = part; k < K; k += 4u) {
    sum += a[base + k];
  }
  ln_part[tid] = sum;
  workgroupBarrier();
  let mean = (ln_part[4u * lr] + ln_part[4u * lr + 1u] + ln_part[4u * lr + 2u] + ln_part[4u * lr + 3u]) / f32(K);
  workgroupBarrier(); // all have read the sums before the squares overwrite them
  var sq = 0.0;
  for (var k = part; k < K; k += 4u) {
    let c = a[base + k] - mean;
    sq += c * c;
  }
  ln_part[tid] = sq;
  workgroupBarrier();
  if (part == 0u) {
    let v = (ln_part[tid] + ln_part[tid + 1u] + ln_part[tid + 2u] + ln_part[tid + 3u]) / f32(K);
    ln_row[lr] = vec2f(mean, inverseSqrt(v + EPS));
  }
  workgroupBarrier();

  var acc: array<vec4f, 4>;
  for (var k0 = 0u; k0 < K; k0 += TK) {
    // 256 threads load 64×16 values of a and 16×64 of w: 4 each.
    for (var i = 0u; i < 4u; i++) {
      let e = tid + i * 256u;
      let ar = e / TK;
      let ak = e % TK;
      let gr = row0 + ar;
      let gk = k0 + ak;
      var x = 0.0;
      if (gr < m_total && gk < K) {
        x = ln_value(a[gr * K + gk], gk, ln_row[ar]);
      }
      tile_a[ar][ak] = x;
      stage_w(e, k0, col0);
    }
    workgroupBarrier();
    multiply_tiles(lid, &acc);
    workgroupBarrier();
  }
  store_tile(row0, col0, lid, m_total, acc);
}
