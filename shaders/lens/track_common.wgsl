// track_common — a module without an entry point, prepended to every token-tracking kernel
// (track_target, track_count, track_count_vec4, track_count_tiled, track_merge): the uniform they
// share and the track row → lens row map. Track row r = p·T + t is position t of tracked point p;
// lens_row(r) = points[p]·T + t is that row in the logit lens's stack (rows = tracked points · T).
// The including kernel declares `points: array<u32>` [tracked points], the lens point indices.

// At most this many tokens tracked at once (maxTrackedTokens in src/engine/cost.ts).
const MAX_IDS: u32 = 16u;

struct Params {
  rows: u32, // tracked points · T
  T: u32,
  n_ids: u32,
}

@group(0) @binding(0) var<uniform> params: Params;

fn lens_row(r: u32) -> u32 {
  let T = params.T;
  return points[r / T] * T + r % T;
}
