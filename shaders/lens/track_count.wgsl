// track_count — token tracking, part 2: the tracked tokens' ranks, counted over one vocabulary
// chunk of one wte part and added up across chunks and parts by atomics:
//   rank[i, r] += #{ v in the chunk : v ≠ ids[i] and x[lens_row(r)] · wte[v] > tracked[i, r] }
// (rows and lens_row as in track_common.wgsl; rank must be cleared before the first part).
//   x: [lens rows, D] f32 after ln_f; wte: one part, rows [VOCAB_START, VOCAB_START + VOCAB_COUNT);
//   ids: [n_ids]; points: [tracked points]; tracked: [n_ids, rows] f32; rank: [n_ids, rows] u32.
// Dispatch: (ceil(chunks in this part / WG_X), rows, 1); one thread per (chunk, row), each logit
// compared with every tracked token's; no barriers. The token itself is skipped by id, so rounding
// can never count it against itself.
alias weight_t = f32;

override WG_X: u32 = 64u;

// params (binding 0), MAX_IDS, lens_row: track_common.wgsl; x, wte, ids, points (1–4):
// track_inputs.wgsl; D, CHUNK, VOCAB_START, VOCAB_COUNT and part_chunk: lens_part.wgsl and
// wte_part.wgsl; lens_dot: lens_dot.wgsl (all prepended).
@group(0) @binding(5) var<storage, read> tracked: array<f32>; // [n_ids, rows]
@group(0) @binding(6) var<storage, read_write> rank: array<atomic<u32>>; // [n_ids, rows]

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.y;
  let rows = params.rows;
  let chunk = part_chunk(gid.x);
  if (r >= rows || chunk.begin >= chunk.end) {
    return;
  }
  let n = min(params.n_ids, MAX_IDS);
  var tl: array<f32, MAX_IDS>;
  var count: array<u32, MAX_IDS>;
  for (var i = 0u; i < n; i++) {
    tl[i] = tracked[i * rows + r];
    count[i] = 0u;
  }
  let xr = lens_row(r) * D;
  for (var v = chunk.begin; v < chunk.end; v++) {
    let l = lens_dot(xr, v);
    for (var i = 0u; i < n; i++) {
      if (l > tl[i] && VOCAB_START + v != ids[i]) {
        count[i]++;
      }
    }
  }
  for (var i = 0u; i < n; i++) {
    if (count[i] > 0u) {
      atomicAdd(&rank[i * rows + r], count[i]);
    }
  }
}
