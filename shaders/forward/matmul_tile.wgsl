// matmul_tile — a module without an entry point, prepended to matmul_tiled.wgsl and
// matmul_ln_tiled.wgsl (the real GPUs' matmuls; with matmul_common.wgsl): the workgroup tiles and
// the steps both kernels share. A workgroup of 16×16 threads computes a 64×64 tile of out, staging
// 64×16 of a and 16×64 of w per step of K; thread (lid.x, lid.y) accumulates the 4×4 block at rows
// lid.y·4.., columns lid.x·4.. of the tile. The kernel stages a (plain, or normalized on load).

const TILE: u32 = 64u;
const TK: u32 = 16u;

var<workgroup> tile_a: array<array<f32, TK>, TILE>; // [64 rows, 16 k]
var<workgroup> tile_w: array<array<f32, TILE>, TK>; // [16 k, 64 cols]

// Value e (0 … 1023) of the 16×64 w tile at rows k0.., columns col0.., 0 past K or N.
fn stage_w(e: u32, k0: u32, col0: u32) {
  let wk = e / TILE;
  let wc = e % TILE;
  let gwk = k0 + wk;
  let gc = col0 + wc;
  tile_w[wk][wc] = select(0.0, f32(w[gwk * N + gc]), gwk < K && gc < N);
}

// One step of K: the staged tiles' products added into this thread's 4×4 block.
fn multiply_tiles(lid: vec3u, acc: ptr<function, array<vec4f, 4>>) {
  for (var kk = 0u; kk < TK; kk++) {
    let wv = vec4f(tile_w[kk][lid.x * 4u], tile_w[kk][lid.x * 4u + 1u], tile_w[kk][lid.x * 4u + 2u], tile_w[kk][lid.x * 4u + 3u]);
    for (var i = 0u; i < 4u; i++) {
      (*acc)[i] += tile_a[lid.y * 4u + i][kk] * wv;
    }
  }
}

// This thread's 4×4 block of the tile at row0, col0: acc + bias through the epilogue, what lies
// past M or N not stored.
fn store_tile(row0: u32, col0: u32, lid: vec3u, m_total: u32, acc: array<vec4f, 4>) {
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + lid.y * 4u + i;
    if (r >= m_total) {
      break;
    }
    for (var j = 0u; j < 4u; j++) {
      let c = col0 + lid.x * 4u + j;
      if (c < N) {
        let idx = r * N + c;
        out[idx] = epilogue(acc[i][j] + f32(bias[c]), idx);
      }
    }
  }
}
