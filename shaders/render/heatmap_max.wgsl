// heatmap_max — each head's largest shown weight, for per-head normalization of the heatmaps:
//   head_max[h] = max over queries t < T and keys s ≤ t of shown(t, s) (heatmap_common.wgsl, so
//   the sink mode applies), as f32 bits: non-negative floats order like their bit patterns, so
//   atomicMax over u32 is a float max. The renderer clears head_max to 0 first.
// Bindings: u (HeatmapUniforms; only rows, sqrt_encoded and sink_mode are read), pattern,
//   head_max (H) u32 read_write.
// Dispatch: (ceil(T / WG_X), H, 1); one thread per (query, head), no barriers.
override WG_X: u32 = 64u;

@group(0) @binding(2) var<storage, read_write> head_max: array<atomic<u32>>; // (H) f32 bits

// The largest shown weight of query t's row in head `head`.
fn row_max(t: u32, head: u32) -> f32 {
  let scale = row_scale(pattern, u.sqrt_encoded, t, head);
  var best = 0.0;
  for (var x = 0u; x <= t / 4u; x++) {
    best = max(best, max4(shown4(pattern, u.sqrt_encoded, t, x, head, scale)));
  }
  return best;
}

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x < u.rows && gid.y < arrayLength(&head_max)) {
    atomicMax(&head_max[gid.y], bitcast<u32>(row_max(gid.x, gid.y))); // query gid.x, head gid.y
  }
}
