// ablate_heads — head ablation on blocks.L.attn.hook_z, in place, before attn.c_proj:
//   flag[h] = 0: head h kept; 1: z[t, h·HD + j] = 0; 2: z[t, h·HD + j] = (1/T) Σ_t' z[t', h·HD + j]
//   (the mean over this prompt's positions). c_proj's bias is untouched (TransformerLens-style).
//   z: (T, D), the heads' outputs side by side from attention_values; flags: this layer's (H + 1) u32.
// Dispatch: (ceil(D / WG_X), 1, 1), only for layers with an ablated head; one thread per column of
// z, which it owns across all positions (so in place is safe), no barriers. O(T·D): negligible next
// to the layer's matmuls.
override D: u32;
override HD: u32;
override WG_X: u32 = 64u;

// params: rows_uniform.wgsl (prepended), rows = T.
@group(0) @binding(1) var<storage, read> flags: array<u32>; // (H + 1): heads (0 keep, 1 zero, 2 mean), then the MLP
@group(0) @binding(2) var<storage, read_write> z: array<f32>; // (T, D)

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  if (c >= D) {
    return;
  }
  let flag = flags[c / HD];
  if (flag == 0u) {
    return;
  }
  let T = params.rows;
  var fill = 0.0;
  if (flag == 2u) {
    var sum = 0.0;
    for (var t = 0u; t < T; t++) {
      sum += z[t * D + c];
    }
    fill = sum / f32(T);
  }
  for (var t = 0u; t < T; t++) {
    z[t * D + c] = fill;
  }
}
