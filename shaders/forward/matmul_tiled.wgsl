// matmul_tiled — out = epilogue(a · w + bias), the variant for real GPUs.
//   a: [M, K] f32 activations, row-major; w: [K, N] weights in Conv1D layout [in, out]; bias: [N]
//   out: [M, N] f32. M = params.rows at run time; K and N are override constants per weight.
// EPILOGUE: 0 none, 1 gelu_new (tanh form), 2 residual add (out = residual + a·w + bias).
// Dispatch: (ceil(N / 64), ceil(M / 64), 1) workgroups of 16×16 threads. Each workgroup computes a
// 64×64 tile of out, staging 64×16 of a and 16×64 of w in workgroup memory per step of K; each
// thread accumulates a 4×4 block in registers.
alias weight_t = f32;

// K, N, EPILOGUE, params, the bindings a, w, bias, residual, out and epilogue(): matmul_common.wgsl.

// TILE, TK, tile_a, tile_w, stage_w, multiply_tiles and store_tile: matmul_tile.wgsl.

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let m_total = params.rows;
  let row0 = wg.y * TILE;
  let col0 = wg.x * TILE;
  let tid = lid.y * 16u + lid.x; // 0..255
  var acc: array<vec4f, 4>;
  for (var k0 = 0u; k0 < K; k0 += TK) {
    // 256 threads load 64×16 values of a and 16×64 of w: 4 each.
    for (var i = 0u; i < 4u; i++) {
      let e = tid + i * 256u;
      let ar = e / TK;
      let ak = e % TK;
      let gr = row0 + ar;
      let gk = k0 + ak;
      tile_a[ar][ak] = select(0.0, a[gr * K + gk], gr < m_total && gk < K);
      stage_w(e, k0, col0);
    }
    workgroupBarrier();
    multiply_tiles(lid, &acc);
    workgroupBarrier();
  }
  store_tile(row0, col0, lid, m_total, acc);
}
