// attention_qk — a module without an entry point, prepended to attention_softmax,
// attention_softmax_rows, attention_fused, attention_fused_rows (with attention_pattern.wgsl),
// attention_scores and attention_values:
// the attention shapes, qkv = [q | k | v] [T, 3D] at binding 1 (scalar loads), and the score of a
// query for a key.
override D: u32;
override H: u32;
override HD: u32;

@group(0) @binding(1) var<storage, read> qkv: array<f32>; // [T, 3D]

// The score of query t for key s in head h: q_t · k_s / sqrt(HD), q and k head h's slices of qkv.
fn qk_score(t: u32, s: u32, h: u32) -> f32 {
  let q = t * 3u * D + h * HD;
  let k = s * 3u * D + D + h * HD;
  var dot = 0.0;
  for (var j = 0u; j < HD; j++) {
    dot += qkv[q + j] * qkv[k + j];
  }
  return dot * inverseSqrt(f32(HD));
}
