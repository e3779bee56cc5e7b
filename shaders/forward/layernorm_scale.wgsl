// layernorm_scale — ln1/ln2/ln_final.hook_scale: scale[r] = sqrt(var(x[r]) + EPS) (biased variance),
//   the divisor of the LayerNorm (shaders/forward/layernorm.wgsl), [T, 1]. Runs only when captured.
//   x: (rows, D) f32, the LayerNorm's input; scale: (rows) f32. rows = T.
// Dispatch: (ceil(T / WG_X), 1, 1); one thread per row, two passes over D, no barriers.
// Reference: layerNorm's scaleOut in src/model/reference.ts. Declarations and the row's
//   statistics in layernorm_stats.wgsl.
@group(0) @binding(2) var<storage, read_write> scale: array<f32>; // (T)

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= params.rows) {
    return;
  }
  scale[r] = sqrt(row_stats(r * D).y + EPS);
}
