// track_target — token tracking, part 1: the tracked tokens' own logits at every tracked row,
//   tracked[i, r] = x[lens_row(r)] · wte[ids[i]]   for each tracked id in this wte part,
// where track row r = p·T + t is position t of tracked point p, and lens_row(r) = points[p]·T + t
// is that row in the logit lens's stack, ln_f already applied (with its own statistics) by the
// last run. Reads the last run's lens stack; runs no forward.
//   x: [lens rows, D] f32; wte: one part, rows [VOCAB_START, VOCAB_START + VOCAB_COUNT);
//   ids: [n_ids] u32; points: [tracked points] u32 lens point indices; tracked: [n_ids, rows] f32.
// Dispatch: (ceil(rows / WG_X), 1, 1); one thread per track row, n_ids dot products each; one
// dispatch per wte part. No barriers.
alias weight_t = f32;

override D: u32;
override WG_X: u32 = 64u;

// params (binding 0), lens_row: track_common.wgsl; x, wte, ids, points (1–4): track_inputs.wgsl;
// VOCAB_START, VOCAB_COUNT and in_part: wte_part.wgsl; lens_dot: lens_dot.wgsl (all prepended).
@group(0) @binding(5) var<storage, read_write> tracked: array<f32>; // [n_ids, rows]

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  let rows = params.rows;
  if (r >= rows) {
    return;
  }
  let xr = lens_row(r) * D;
  for (var i = 0u; i < params.n_ids; i++) {
    let id = ids[i];
    if (!in_part(id)) {
      continue;
    }
    tracked[i * rows + r] = lens_dot(xr, id - VOCAB_START);
  }
}
