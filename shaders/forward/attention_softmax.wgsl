// attention_softmax — blocks.L.attn.hook_pattern:
//   att[h, t, s] = softmax_s(q_t · k_s / sqrt(HD)) for s ≤ t, 0 for s > t (causal mask)
//   q, k: head h's slices of qkv = [q | k | v] [T, 3D], each head HD wide.
//   att: [H, T, T] f32 scratch for attention_values; the same values go into the capture texture
//   `pattern` (layer h of the array = head h; texel (s / 4, t) holds keys s..s+3 of query t), which
//   the heatmaps sample in place. Its format (f32, f16, or 8-bit √p) is set at pipeline creation.
// Dispatch: (ceil(T / WG_X), H, 1); one thread per (query, head), three passes over the keys (the
// last in attention_pattern.wgsl, prepended), no barriers: the variant for CPU adapters
// (attention_softmax_rows.wgsl is the one for GPUs).
override WG_X: u32 = 64u;

// D, H, HD, qkv and qk_score: attention_qk.wgsl; SQRT_ENCODE, att, pattern and store_keys:
// attention_pattern.wgsl; softmax_row: softmax_thread.wgsl; params (rows = T): rows_uniform.wgsl (all prepended).

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x < params.rows && gid.y < H) {
    softmax_row(gid.x, gid.y, params.rows); // query gid.x of head gid.y: softmax_thread.wgsl
  }
}
