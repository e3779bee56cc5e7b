// causal_dla_final — the attribution terms outside the layers, at position p (the last):
//   out[0] embed = ((e − mean e) / s ⊙ g) · u with e = wte[token] + wpe[p];
//   out[1] ln_final_bias = ln_f.bias · u;  out[2] total = ln_f(x) · u, the model's logit difference,
//   x = resid_post[p], s = sqrt(var(x) + EPS) (biased), g = ln_f.weight, u = wte[answer] − wte[foil].
//   Reference: directLogitAttribution in src/model/reference-causal.ts.
// Dispatch: (1, 1, 1); three threads, no barriers.

struct Params {
  p: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// binding 1: resid [T, D], the final residual (causal_ln_final.wgsl)
@group(0) @binding(2) var<storage, read> wpe: array<weight_t>; // [N, D]
@group(0) @binding(3) var<storage, read> g: array<weight_t>; // [D] ln_f.weight
@group(0) @binding(4) var<storage, read> b: array<weight_t>; // [D] ln_f.bias
@group(0) @binding(5) var<storage, read> uf: array<f32>; // [3, D] wte[answer], wte[foil], wte[token at p]
@group(0) @binding(6) var<storage, read_write> out: array<f32>; // [3]

@compute @workgroup_size(4)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= 3u) {
    return;
  }
  let row = params.p * D;
  let stats = resid_stats(row);
  let mean = stats.x;
  let s = sqrt(stats.y + EPS);
  var emean = 0.0;
  for (var d = 0u; d < D; d++) {
    emean += uf[2u * D + d] + f32(wpe[row + d]);
  }
  emean /= f32(D);
  var acc = 0.0;
  for (var d = 0u; d < D; d++) {
    let u = uf[d] - uf[D + d];
    if (i == 0u) {
      acc += (uf[2u * D + d] + f32(wpe[row + d]) - emean) / s * f32(g[d]) * u;
    } else if (i == 1u) {
      acc += f32(b[d]) * u;
    } else {
      acc += ((resid[row + d] - mean) / s * f32(g[d]) + f32(b[d])) * u;
    }
  }
  out[i] = acc;
}
