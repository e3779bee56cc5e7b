// attention_scores — blocks.L.attn.hook_attn_scores: scores[h, t, s] = q_t · k_s / sqrt(HD) for
//   s ≤ t, -Infinity above the diagonal (TransformerLens's masked scores), [H, T, T] packed for the
//   run's T. Runs only when the hook is captured (the softmax kernels keep their scores private).
//   qkv: (T, 3D) = [q | k | v], head h's slice HD wide at h · HD; scores: (H, T, T) f32 (as bits).
// Dispatch: (ceil(T / WG_X), T, H); one thread per (key, query, head).
// Reference: attention() in src/model/reference.ts (via runWithCache).
override WG_X: u32 = 64u;

// params (rows = T): rows_uniform.wgsl; D, H, HD, qkv (binding 1) and qk_score: attention_qk.wgsl.
// f32 values stored as their bits: -Infinity cannot be written as a WGSL f32 expression.
@group(0) @binding(2) var<storage, read_write> scores: array<u32>; // (H, T, T) f32 bits

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let T = params.rows;
  let s = gid.x;
  let t = gid.y;
  let h = gid.z;
  if (s >= T || t >= T || h >= H) {
    return;
  }
  let i = (h * T + t) * T + s;
  if (s > t) {
    scores[i] = 0xff800000u; // -Infinity
    return;
  }
  scores[i] = bitcast<u32>(qk_score(t, s, h));
}
