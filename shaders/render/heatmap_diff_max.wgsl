// heatmap_diff_max — each head's largest |shown_A − shown_B| over the prompt, for per-head
// normalization of difference heatmaps (heatmap_diff.wgsl): head_max[h] = max over queries t < T
// and keys s ≤ t of |shown(A, t, s) − shown(B, t, s)| (heatmap_common.wgsl, so the sink mode
// applies), as f32 bits (non-negative floats order like their bits: atomicMax over u32 is a float
// max). The renderer clears head_max to 0 first.
// Bindings: u (HeatmapUniforms; rows, sqrt_encoded, sqrt_encoded_b, sink_mode are read), pattern
//   (A), head_max (H) u32 read_write, pattern_b (B).
// Dispatch: (ceil(T / WG_X), H, 1); one thread per (query, head), no barriers.
override WG_X: u32 = 64u;

@group(0) @binding(2) var<storage, read_write> head_max: array<atomic<u32>>; // (H) f32 bits
@group(0) @binding(3) var pattern_b: texture_2d_array<f32>; // (ceil(TcapB/4), TcapB) × H

// The largest |shown_A − shown_B| of query t's row in head `head`.
fn row_max(t: u32, head: u32) -> f32 {
  let scale_a = row_scale(pattern, u.sqrt_encoded, t, head);
  let scale_b = row_scale(pattern_b, u.sqrt_encoded_b, t, head);
  var best = 0.0;
  for (var x = 0u; x <= t / 4u; x++) {
    let a = shown4(pattern, u.sqrt_encoded, t, x, head, scale_a);
    let b = shown4(pattern_b, u.sqrt_encoded_b, t, x, head, scale_b);
    // Masked and hidden cells are BACKGROUND in both: their difference is 0.
    best = max(best, max4(abs(a - b)));
  }
  return best;
}

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x < u.rows && gid.y < arrayLength(&head_max)) {
    atomicMax(&head_max[gid.y], bitcast<u32>(row_max(gid.x, gid.y))); // query gid.x, head gid.y
  }
}
