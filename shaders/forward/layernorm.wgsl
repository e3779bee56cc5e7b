// layernorm — out[r, :] = (x[r] − mean(x[r])) / sqrt(var(x[r]) + EPS) · gamma + beta  (biased variance)
//   x, out: (rows, D) f32. rows = T for ln_1 and ln_2, (lens points · T) for the logit lens.
//   Declarations and the row's statistics in layernorm_stats.wgsl.
// Dispatch: (ceil(rows / WG_X), 1, 1); one thread per row, two passes over D, no barriers.
alias weight_t = f32;

@group(0) @binding(2) var<storage, read> gamma: array<weight_t>; // (D)
@group(0) @binding(3) var<storage, read> beta: array<weight_t>; // (D)
@group(0) @binding(4) var<storage, read_write> out: array<f32>; // (rows, D)

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
  for (var d = 0u; d < D; d++) {
    out[row + d] = (x[row + d] - mean) * inv * f32(gamma[d]) + f32(beta[d]);
  }
}
