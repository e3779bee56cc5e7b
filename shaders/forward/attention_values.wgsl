// attention_values — z[t, h·HD + j] = Σ_{s ≤ t} att[h, t, s] · v[s, h·HD + j]
//   att: (H, T, T) from attention_softmax; v: the last D columns of qkv (T, 3D).
//   z: (T, D), the heads' outputs side by side, the input of attn.c_proj.
// Dispatch: (ceil(D / WG_X), T, 1); one thread per output element.
override WG_X: u32 = 64u;

// params (rows = T): rows_uniform.wgsl; D, H, HD and qkv (binding 1): attention_qk.wgsl.
@group(0) @binding(2) var<storage, read> att: array<f32>; // (H, T, T)
@group(0) @binding(3) var<storage, read_write> z: array<f32>; // (T, D)

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let T = params.rows;
  let c = gid.x;
  let t = gid.y;
  if (c >= D || t >= T) {
    return;
  }
  let h = c / HD;
  let row = (h * T + t) * T;
  var acc = 0.0;
  for (var s = 0u; s <= t; s++) {
    acc += att[row + s] * qkv[s * 3u * D + 2u * D + c];
  }
  z[t * D + c] = acc;
}
