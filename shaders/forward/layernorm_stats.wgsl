// layernorm_stats — what layernorm.wgsl and layernorm_scale.wgsl share (a module, no entry point;
//   the kernel registry puts it after the kernel's file, with rows_uniform.wgsl): the overrides and
//   x (rows, D) f32, and one row's mean and biased variance (two passes over D, no barriers).
// Reference: layerNorm in src/model/reference.ts.
override D: u32;
override EPS: f32 = 1e-5;
override WG_X: u32 = 64u;

// params: rows_uniform.wgsl (prepended), rows = T, or lens points · T for the logit lens's LayerNorm.
@group(0) @binding(1) var<storage, read> x: array<f32>; // (rows, D)

/** (mean, biased variance) of x[r, :]; row = r · D. */
fn row_stats(row: u32) -> vec2f {
  var sum = 0.0;
  for (var d = 0u; d < D; d++) {
    sum += x[row + d];
  }
  let mean = sum / f32(D);
  var sq = 0.0;
  for (var d = 0u; d < D; d++) {
    let c = x[row + d] - mean;
    sq += c * c;
  }
  return vec2f(mean, sq / f32(D));
}
