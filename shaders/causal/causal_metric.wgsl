// causal_metric — the logit difference of each run of a batch at its last position, without the
// unembedding: m[b] = ln_f(x[b·T + T − 1]) · (wte[answer] − wte[foil]) (biased variance).
//   x = resid: [N·T, D] final residuals (binding 1, causal_ln_final.wgsl); uf: [2, D] wte[answer],
//   wte[foil]; m: [N].
//   Reference: lastLogitDiff in src/model/reference-causal.ts.
// Dispatch: (ceil(N / 64), 1, 1); one thread per run.

// params (rows = N·T, T, N): causal_batch.wgsl (prepended).
@group(0) @binding(2) var<storage, read> g: array<weight_t>; // [D] ln_f.weight
@group(0) @binding(3) var<storage, read> bias: array<weight_t>; // [D] ln_f.bias
@group(0) @binding(4) var<storage, read> uf: array<f32>; // [2, D]
@group(0) @binding(5) var<storage, read_write> m: array<f32>; // [N]

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let b = gid.x;
  if (b >= params.N) {
    return;
  }
  let row = (b * params.T + params.T - 1u) * D;
  let stats = resid_stats(row);
  let mean = stats.x;
  let rstd = inverseSqrt(stats.y + EPS);
  var acc = 0.0;
  for (var d = 0u; d < D; d++) {
    let u = uf[d] - uf[D + d];
    acc += ((resid[row + d] - mean) * rstd * f32(g[d]) + f32(bias[d])) * u;
  }
  m[b] = acc;
}
