// layernorm — out[r, :] = (x[r] − mean(x[r])) / sqrt(var(x[r]) + EPS) · gamma + beta  (biased variance)
//   x, out: (rows, D) f32. rows = T for ln_1 and ln_2, (lens points · T) for the logit lens.
//   With SCALE, also scale[r] = sqrt(var(x[r]) + EPS), ln*.hook_scale where it is captured and this
//   LayerNorm runs anyway (as layernorm_scale.wgsl computes it alone: the same operations, so the
//   same bits). Without SCALE, binding 5 is a stand-in and is not written.
//   Declarations and the row's statistics in layernorm_stats.wgsl.
// Dispatch: (ceil(rows / WG_X), 1, 1); one thread per row, two passes over D, no barriers.
alias weight_t = f32;
override SCALE: bool = false;

@group(0) @binding(2) var<storage, read> gamma: array<weight_t>; // (D)
@group(0) @binding(3) var<storage, read> beta: array<weight_t>; // (D)
@group(0) @binding(4) var<storage, read_write> out: array<f32>; // (rows, D)
@group(0) @binding(5) var<storage, read_write> scale: array<f32>; // (rows), with SCALE

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= params.rows) {
    return;
  }
  let row = r * D;
  let stats = row_stats(row);
  let mean = stats.x;
  let inv = inverseSqrt(stats.y + EPS);
  if (SCALE) {
    scale[r] = sqrt(stats.y + EPS);
  }
  for (var d = 0u; d < D; d++) {
    out[row + d] = (x[row + d] - mean) * inv * f32(gamma[d]) + f32(beta[d]);
  }
}
