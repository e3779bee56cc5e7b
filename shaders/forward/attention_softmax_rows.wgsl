// attention_softmax_rows — attention_softmax for real GPUs, with the same outputs:
//   att[h, t, s] = softmax_s(q_t · k_s / sqrt(HD)) for s ≤ t, 0 for s > t (causal mask), into the
//   [H, T, T] scratch and the capture texture `pattern` (texel (s / 4, t) of layer h holds keys
//   s..s+3 of query t; f32, f16 or 8-bit √p, set at pipeline creation).
// Dispatch: (T, H, 1) workgroups of WG_X threads (a power of two), one per (query, head). Thread i
// owns key groups i, i + WG_X, … (keys 4g..4g+3), so it reads back only what it wrote; the row's
// max and sum are reduced through workgroup memory. T·H workgroups keep a GPU busy at any T, and a
// row's T·HD multiply-adds are spread over WG_X threads instead of one (attention_softmax.wgsl,
// one thread per row, is the variant for CPU adapters, where barriers are slow).
override WG_X: u32 = 64u; // a power of two

// D, H, HD, qkv and qk_score: attention_qk.wgsl; SQRT_ENCODE, att, pattern and store_keys:
// attention_pattern.wgsl; softmax_row_wg: softmax_rows.wgsl; params (rows = T): rows_uniform.wgsl (all prepended).

@compute @workgroup_size(WG_X)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  // Query wg.x of head wg.y, this thread's share (softmax_rows.wgsl).
  softmax_row_wg(wg.x, wg.y, lid.x, params.rows);
}
