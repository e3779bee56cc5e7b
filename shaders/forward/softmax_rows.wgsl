// softmax_rows — a module without an entry point, prepended to attention_softmax_rows.wgsl and
// attention_fused_rows.wgsl (with attention_pattern.wgsl and attention_qk.wgsl): the causal
// softmax of one attention row by a workgroup of WG_X threads (a power of two, declared by the
// including kernel), the row's max and sum reduced through workgroup memory (the real GPUs'
// variant).

const NEG: f32 = -3.0e38;

var<workgroup> partial: array<f32, WG_X>;

/** The max (is_max) or the sum of v over the workgroup; every thread gets it. */
fn reduce(v: f32, i: u32, is_max: bool) -> f32 {
  partial[i] = v;
  workgroupBarrier();
  for (var w = WG_X / 2u; w > 0u; w /= 2u) {
    if (i < w) {
      partial[i] = select(partial[i] + partial[i + w], max(partial[i], partial[i + w]), is_max);
    }
    workgroupBarrier();
  }
  let r = partial[0];
  workgroupBarrier(); // everyone has read it before the next reduce writes
  return r;
}

// Query t of head h over T keys, thread i of the workgroup owning key groups i, i + WG_X, …: the
// row of att at (h·T + t)·T gets the scores, then their exponentials, then (store_keys) the
// normalized weights, 0 above the diagonal, also written into the capture texture. Returns that
// row's offset in att. Every thread of the workgroup calls it (it has barriers).
fn softmax_row_wg(t: u32, h: u32, i: u32, T: u32) -> u32 {
  let row = (h * T + t) * T;
  // Pass 1: this thread's scores and their max.
  var m = NEG;
  for (var s0 = 4u * i; s0 <= t; s0 += 4u * WG_X) {
    for (var s = s0; s <= min(s0 + 3u, t); s++) {
      let score = qk_score(t, s, h);
      att[row + s] = score;
      m = max(m, score);
    }
  }
  m = reduce(m, i, true);
  // Pass 2: exponentials and their sum.
  var sum = 0.0;
  for (var s0 = 4u * i; s0 <= t; s0 += 4u * WG_X) {
    for (var s = s0; s <= min(s0 + 3u, t); s++) {
      let e = exp(att[row + s] - m);
      att[row + s] = e;
      sum += e;
    }
  }
  let inv = 1.0 / reduce(sum, i, false);
  // Pass 3 (attention_pattern.wgsl): normalize, zero the masked keys, write the capture.
  for (var s0 = 4u * i; s0 < T; s0 += 4u * WG_X) {
    store_keys(row, t, h, s0, T, inv);
  }
  return row;
}
