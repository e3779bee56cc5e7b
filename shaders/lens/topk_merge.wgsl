// topk_merge — the logit lens, part 2: merges a row's per-chunk partials from unembed_topk into the
// row's TOPK tokens with their softmax probabilities over the whole vocabulary:
//   M = max_c max_c,  Z = Σ_c sumexp_c · exp(max_c − M),  p_i = exp(l_i − M) / Z.
//   partial: (rows, N_CHUNKS, 2 + 2·TOPK); out: (rows, TOPK, 2) u32 = [id, bitcast(p)].
// Dispatch: (ceil(rows / WG_X), 1, 1); one thread per row.
override WG_X: u32 = 64u;

const MAX_K: u32 = 16u;

// N_CHUNKS, TOPK and params (binding 0): topk_common.wgsl (prepended).
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>; // (rows, TOPK, 2)

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= params.rows) {
    return;
  }
  let stride = 2u + 2u * TOPK;
  let base = r * N_CHUNKS * stride;
  var m = -3.0e38;
  for (var c = 0u; c < N_CHUNKS; c++) {
    m = max(m, partial[base + c * stride]);
  }
  var z = 0.0;
  var top_l: array<f32, MAX_K>;
  var top_i: array<u32, MAX_K>;
  for (var i = 0u; i < TOPK; i++) {
    top_l[i] = -3.0e38;
    top_i[i] = 0u;
  }
  for (var c = 0u; c < N_CHUNKS; c++) {
    let o = base + c * stride;
    z += partial[o + 1u] * exp(partial[o] - m);
    for (var k = 0u; k < TOPK; k++) {
      let l = partial[o + 2u + k];
      let id = bitcast<u32>(partial[o + 2u + TOPK + k]);
      if (l <= top_l[TOPK - 1u]) {
        break; // each chunk's list is sorted: the rest are smaller
      }
      topk_insert(&top_l, &top_i, l, id);
    }
  }
  for (var i = 0u; i < TOPK; i++) {
    out[(r * TOPK + i) * 2u] = top_i[i];
    out[(r * TOPK + i) * 2u + 1u] = bitcast<u32>(exp(top_l[i] - m) / z);
  }
}
