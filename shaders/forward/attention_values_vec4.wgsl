// attention_values_vec4 — attention_values for HD % 4 == 0 on CPU fallback adapters:
//   z[t, h·HD + j] = Σ_{s ≤ t} att[h, t, s] · v[s, h·HD + j]
//   att: (H, T, T) from attention_softmax (0 for s > t); v: the last D columns of qkv (T, 3D),
//   read as vec4. z: (T, D), the heads' outputs side by side, the input of attn.c_proj.
// Dispatch: (ceil(D / (4·WG_X)), ceil(T / 4), 1); each thread owns 4 queries × 4 columns (one
// head's, as HD % 4 == 0): per key 4 scalar loads of att and one vec4 of v feed 16 multiply-adds,
// against 2 loads per multiply-add with one thread per output (loads are what SwiftShader is slow
// at). Keys run to the last of the 4 queries; att's zeros above the diagonal mask the rest.
// Queries past T are clamped on read and never stored. No barriers.
override D: u32; // a multiple of 4
override H: u32;
override HD: u32; // a multiple of 4
override WG_X: u32 = 16u;

// params: rows_uniform.wgsl (prepended), rows = T.
@group(0) @binding(1) var<storage, read> qkv: array<vec4f>; // (T, 3D/4)
@group(0) @binding(2) var<storage, read> att: array<f32>; // (H, T, T)
@group(0) @binding(3) var<storage, read_write> z: array<vec4f>; // (T, D/4)

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let T = params.rows;
  let D4 = D / 4u;
  let c = gid.x; // columns 4c..4c+3
  let t0 = gid.y * 4u;
  if (c >= D4 || t0 >= T) {
    return;
  }
  let h = (4u * c) / HD;
  let t_last = min(t0 + 3u, T - 1u);
  // att rows of queries t0..t0+3 (clamped).
  let a0 = (h * T + t0) * T;
  let a1 = (h * T + min(t0 + 1u, t_last)) * T;
  let a2 = (h * T + min(t0 + 2u, t_last)) * T;
  let a3 = (h * T + t_last) * T;
  let v_col = 2u * D4 + c; // v's column group within a qkv row
  let row4 = 3u * D4; // qkv row stride in vec4
  var z0 = vec4f(0.0);
  var z1 = vec4f(0.0);
  var z2 = vec4f(0.0);
  var z3 = vec4f(0.0);
  for (var s = 0u; s <= t_last; s++) {
    let v = qkv[s * row4 + v_col];
    z0 += att[a0 + s] * v;
    z1 += att[a1 + s] * v;
    z2 += att[a2 + s] * v;
    z3 += att[a3 + s] * v;
  }
  let zs = array<vec4f, 4>(z0, z1, z2, z3);
  for (var i = 0u; i < 4u; i++) {
    let t = t0 + i;
    if (t >= T) {
      break;
    }
    z[t * D4 + c] = zs[i];
  }
}
