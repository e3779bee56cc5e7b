// attention_fused_vec4 — attention_fused.wgsl for HD % 4 == 0 on CPU fallback adapters (same
// outputs: the [H, T, T] scratch att, the capture texture `pattern` and z [T, D] = hook_z), with
// q, k and v read as vec4 (loads are what SwiftShader is slow at):
//   att[h, t, s] = softmax_s(q_t · k_s / sqrt(HD)) for s ≤ t, 0 for s > t;
//   z[t, h·HD + j] = Σ_{s ≤ t} att[h, t, s] · v[s, h·HD + j].
// Dispatch: (ceil(T / WG_X), H, 1); one thread per (query, head), no barriers: scores and their
// max, exponentials and their sum, the normalized row into att and the capture (store_keys,
// attention_pattern.wgsl), then z 16 columns at a time (one load of att and four vec4 loads of v
// per key feed 16 multiply-adds; column groups past HD are clamped on read and never stored).
// Reference: attention() in src/model/reference.ts.
override D: u32; // a multiple of 4
override H: u32;
override HD: u32; // a multiple of 4
override WG_X: u32 = 16u;

// SQRT_ENCODE, att (binding 2), pattern (binding 3) and store_keys: attention_pattern.wgsl;
// softmax_row: softmax_thread.wgsl; params (rows = T): rows_uniform.wgsl (all prepended).
@group(0) @binding(1) var<storage, read> qkv: array<vec4f>; // [T, 3D/4]
@group(0) @binding(4) var<storage, read_write> z: array<vec4f>; // [T, D/4]

// The score of query t for key s in head h, q_t · k_s / sqrt(HD), with vec4 loads (softmax_thread.wgsl
// calls it).
fn qk_score(t: u32, s: u32, h: u32) -> f32 {
  let D4 = D / 4u;
  let HD4 = HD / 4u;
  let q = t * 3u * D4 + h * HD4;
  let k = s * 3u * D4 + D4 + h * HD4;
  var dot4 = vec4f(0.0);
  for (var j = 0u; j < HD4; j++) {
    dot4 += qkv[q + j] * qkv[k + j];
  }
  return (dot4.x + dot4.y + dot4.z + dot4.w) * inverseSqrt(f32(HD));
}

// Pass 4: query t's outputs in head h from its weights (att at `row`), column groups c..c+3 of the
// head (16 columns) per sweep over the keys.
fn head_values(t: u32, h: u32, row: u32) {
  let D4 = D / 4u;
  let HD4 = HD / 4u;
  let row4 = 3u * D4; // qkv row stride in vec4
  let v0 = 2u * D4 + h * HD4; // head h's v within a qkv row, in vec4
  let z0 = t * D4 + h * HD4;
  for (var c = 0u; c < HD4; c += 4u) {
    let c1 = min(c + 1u, HD4 - 1u);
    let c2 = min(c + 2u, HD4 - 1u);
    let c3 = min(c + 3u, HD4 - 1u);
    var a0 = vec4f(0.0);
    var a1 = vec4f(0.0);
    var a2 = vec4f(0.0);
    var a3 = vec4f(0.0);
    for (var s = 0u; s <= t; s++) {
      let p = att[row + s];
      let v = s * row4 + v0;
      a0 += p * qkv[v + c];
      a1 += p * qkv[v + c1];
      a2 += p * qkv[v + c2];
      a3 += p * qkv[v + c3];
    }
    z[z0 + c] = a0;
    if (c + 1u < HD4) {
      z[z0 + c1] = a1;
    }
    if (c + 2u < HD4) {
      z[z0 + c2] = a2;
    }
    if (c + 3u < HD4) {
      z[z0 + c3] = a3;
    }
  }
}

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x < params.rows && gid.y < H) {
    // Query gid.x of head gid.y: passes 1–3 (softmax_thread.wgsl, scores by qk_score), then pass 4.
    head_values(gid.x, gid.y, softmax_row(gid.x, gid.y, params.rows));
  }
}
