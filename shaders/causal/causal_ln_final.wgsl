// causal_ln_final — what causal_dla_layer, causal_dla_final and causal_metric share (a module, no
//   entry point; the kernel registry puts it after the kernel's file): D, EPS, the final residual
//   resid (binding 1, rows of D f32) and one row's mean and biased variance, ln_f's statistics.
// Reference: layerNorm in src/model/reference.ts.
alias weight_t = f32;

override D: u32;
override EPS: f32 = 1e-5;

@group(0) @binding(1) var<storage, read> resid: array<f32>; // [rows, D] final residual

/** (mean, biased variance) of resid[row .. row + D). */
fn resid_stats(row: u32) -> vec2f {
  var mean = 0.0;
  for (var d = 0u; d < D; d++) {
    mean += resid[row + d];
  }
  mean /= f32(D);
  var v = 0.0;
  for (var d = 0u; d < D; d++) {
    let e = resid[row + d] - mean;
    v += e * e;
  }
  return vec2f(mean, v / f32(D));
}
