// ablate_mlp — MLP ablation on blocks.L.hook_mlp_out (the whole MLP output, c_proj's bias
// included), with the residual add that mlp.c_proj fuses when the layer is not ablated:
//   flag 1 (zero): resid_post[t, c] = resid_mid[t, c]
//   flag 2 (mean): resid_post[t, c] = resid_mid[t, c] + (1/T) Σ_t' mlp_out[t', c]
//                  (the mean over this prompt's positions)
//   mlp_out: (T, D) from mlp.c_proj run without its residual epilogue (not read for zero, whose
//   layer skips the MLP's matmuls); resid_mid, resid_post: (T, D); flags: this layer's (H + 1) u32,
//   the MLP's at index H.
// Dispatch: (ceil(D / WG_X), 1, 1), only for layers whose MLP is ablated; one thread per column,
// no barriers.
override D: u32;
override H: u32;
override WG_X: u32 = 64u;

// params: rows_uniform.wgsl (prepended), rows = T.
@group(0) @binding(1) var<storage, read> flags: array<u32>; // (H + 1): heads, then the MLP
@group(0) @binding(2) var<storage, read> mlp_out: array<f32>; // (T, D)
@group(0) @binding(3) var<storage, read> resid_mid: array<f32>; // (T, D)
@group(0) @binding(4) var<storage, read_write> resid_post: array<f32>; // (T, D)

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= D) {
    return;
  }
  let T = params.rows;
  var fill = 0.0;
  if (flags[H] == 2u) {
    var sum = 0.0;
    for (var t = 0u; t < T; t++) {
      sum += mlp_out[t * D + c];
    }
    fill = sum / f32(T);
  }
  for (var t = 0u; t < T; t++) {
    resid_post[t * D + c] = resid_mid[t * D + c] + fill;
  }
}
