// lens_tile — a module without an entry point, prepended to unembed_topk_tiled.wgsl and
// track_count_tiled.wgsl (the lens kernels for real GPUs): one 64-row × 64-token tile of lens logits
//   l[r, v] = x[lens_row(r)] · wte[v]   (tied unembedding, x after ln_f)
// computed by a 16×16 workgroup through workgroup memory, TK values of D per step (as
// matmul_tiled.wgsl); thread (lx, ly) gets rows 4·ly..4·ly+3 × tokens 4·lx..4·lx+3 of the tile.
// The including kernel declares `x: array<f32>`, `wte: array<weight_t>` and `fn lens_row(r: u32) ->
// u32` (which row of x lens row r reads); the overrides D and VOCAB_COUNT come from lens_part.wgsl.

const TILE: u32 = 64u;
const TK: u32 = 16u;

var<workgroup> tile_x: array<array<f32, TK>, TILE>; // (64 rows, TK of D)
var<workgroup> tile_w: array<array<f32, TILE>, TK>; // (TK of D, 64 tokens)

// Rows [row0, row0 + 64) (those at or past `rows` read as 0) × tokens [v0, v0 + 64) of this wte
// part (those at or past `v_end` read as 0). Every thread of the workgroup must call it: it holds
// workgroup barriers.
fn lens_tile(row0: u32, rows: u32, v0: u32, v_end: u32, lid: vec3u) -> array<vec4f, 4> {
  let tid = lid.y * 16u + lid.x; // 0..255
  var acc: array<vec4f, 4>;
  for (var k0 = 0u; k0 < D; k0 += TK) {
    // 256 threads load 64×TK values of x and of wte: 4 each, consecutive threads along D.
    for (var i = 0u; i < 4u; i++) {
      let e = tid + i * 256u;
      let t = e / TK; // tile row (of x) or tile token (of wte)
      let kk = e % TK;
      let gk = k0 + kk;
      let gr = row0 + t;
      tile_x[t][kk] = select(0.0, x[lens_row(min(gr, rows - 1u)) * D + min(gk, D - 1u)], gr < rows && gk < D);
      let gv = v0 + t;
      tile_w[kk][t] = select(0.0, f32(wte[min(gv, VOCAB_COUNT - 1u) * D + min(gk, D - 1u)]), gv < v_end && gk < D);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let c = lid.x * 4u;
      let w = vec4f(tile_w[kk][c], tile_w[kk][c + 1u], tile_w[kk][c + 2u], tile_w[kk][c + 3u]);
      for (var i = 0u; i < 4u; i++) {
        acc[i] += tile_x[lid.y * 4u + i][kk] * w;
      }
    }
    workgroupBarrier();
  }
  return acc;
}
