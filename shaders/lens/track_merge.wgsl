// track_merge — token tracking, part 3: each tracked token's probability and rank per track row,
//   M = max_c max_c,  Z = Σ_c sumexp_c · exp(max_c − M)   over the lens row's chunk partials that
//   the last run's unembed_topk left (the softmax denominator the lens's top-k used), then
//   prob[i, r] = exp(tracked[i, r] − M) / Z;  rank as counted by track_count.
//   partial: [lens rows, N_CHUNKS, 2 + 2·TOPK] f32; points: [tracked points]; tracked, rank:
//   [n_ids, rows]; out: [n_ids, rows, 2] u32 = [bitcast(prob), rank].
// Dispatch: (ceil(rows / WG_X), 1, 1); one thread per track row. No barriers.
override N_CHUNKS: u32;
override TOPK: u32 = 5u;
override WG_X: u32 = 64u;

// params (binding 0), lens_row: track_common.wgsl (prepended).
@group(0) @binding(1) var<storage, read> partial: array<f32>; // [lens rows, N_CHUNKS, 2 + 2·TOPK]
@group(0) @binding(2) var<storage, read> points: array<u32>; // [tracked points]
@group(0) @binding(3) var<storage, read> tracked: array<f32>; // [n_ids, rows]
@group(0) @binding(4) var<storage, read> rank: array<u32>; // [n_ids, rows]
@group(0) @binding(5) var<storage, read_write> out: array<u32>; // [n_ids, rows, 2]

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let rows = params.rows;
  let r = gid.x; // lens row r
  if (r >= rows) {
    return;
  }
  let stride = 2u + 2u * TOPK;
  let base = lens_row(r) * N_CHUNKS * stride;
  var m = -3.0e38;
  for (var c = 0u; c < N_CHUNKS; c++) {
    m = max(m, partial[base + c * stride]);
  }
  var z = 0.0;
  for (var c = 0u; c < N_CHUNKS; c++) {
    let o = base + c * stride;
    z += partial[o + 1u] * exp(partial[o] - m);
  }
  for (var i = 0u; i < params.n_ids; i++) {
    let at = i * rows + r;
    out[2u * at] = bitcast<u32>(exp(tracked[at] - m) / z);
    out[2u * at + 1u] = rank[at];
  }
}
