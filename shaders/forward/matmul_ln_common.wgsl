// matmul_ln_common — a module without an entry point, prepended (with matmul_common.wgsl) to
// matmul_ln_blocked.wgsl and matmul_ln_tiled.wgsl: the LayerNorm folded into a matmul's A rows,
//   out = epilogue(LayerNorm(x) · w + bias), LayerNorm(x)[r, k] = (x[r, k] − mean_r) · rstd_r ·
//   gamma[k] + beta[k], rstd_r = 1 / sqrt(var_r + EPS) (biased variance), K = D.
// Its parameters (gamma, beta; binding 4, matmul_common's residual, is unused: EPILOGUE 0 or 1),
// and the normalisation of one value. The including kernel declares `alias weight_t = f32;`.
// Reference: layerNorm in src/model/reference.ts.
override EPS: f32 = 1e-5;

@group(0) @binding(7) var<storage, read> gamma: array<weight_t>; // [K]
@group(0) @binding(8) var<storage, read> beta: array<weight_t>; // [K]

/** x = a[r, k], normalized with its row's (mean, rstd). */
fn ln_value(x: f32, k: u32, stats: vec2f) -> f32 {
  return (x - stats.x) * stats.y * f32(gamma[k]) + f32(beta[k]);
}
