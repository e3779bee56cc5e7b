// lens_dot — a module without an entry point: one logit of the tied unembedding, read with scalar
// loads, for the kernels that read x [rows, D] f32 and a wte part [VOCAB_COUNT, D] (unembed_rows,
// unembed_logits, unembed_topk, track_target, track_count). The including kernel declares
// `x: array<f32>`, `wte: array<weight_t>` and override D.

/** x[xr .. xr + D) · wte[v, :], v a row of this part, summed in order of d. */
fn lens_dot(xr: u32, v: u32) -> f32 {
  let wr = v * D;
  var l = 0.0;
  for (var d = 0u; d < D; d++) {
    l += x[xr + d] * f32(wte[wr + d]);
  }
  return l;
}
