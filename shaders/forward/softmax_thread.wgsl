// softmax_thread — a module without an entry point, prepended to attention_softmax.wgsl,
// attention_fused.wgsl and attention_fused_vec4.wgsl (with attention_pattern.wgsl): the causal
// softmax of one attention row by one thread, no barriers (the CPU fallback adapters' variant).
// The including kernel declares qk_score(t, s, h) (attention_qk.wgsl's scalar loads, or its own
// vec4 loads).

// Query t of head h over T keys: the row of att at (h·T + t)·T gets the scores, then their
// exponentials, then (store_keys) the normalized weights, 0 above the diagonal, also written into
// the capture texture. Returns that row's offset in att.
fn softmax_row(t: u32, h: u32, T: u32) -> u32 {
  let row = (h * T + t) * T;
  // Pass 1: scores and their max.
  var m = -3.0e38;
  for (var s = 0u; s <= t; s++) {
    let score = qk_score(t, s, h);
    att[row + s] = score;
    m = max(m, score);
  }
  // Pass 2: exponentials and their sum.
  var sum = 0.0;
  for (var s = 0u; s <= t; s++) {
    let e = exp(att[row + s] - m);
    att[row + s] = e;
    sum += e;
  }
  // Pass 3: normalize, zero the masked keys, and write the capture four keys per texel.
  let inv = 1.0 / sum;
  for (var s0 = 0u; s0 < T; s0 += 4u) {
    store_keys(row, t, h, s0, T, inv);
  }
  return row;
}
