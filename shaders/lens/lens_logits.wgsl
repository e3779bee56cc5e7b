// lens_logits — a module without an entry point, prepended to unembed_topk_vec4.wgsl and
// unembed_topk_tiled.wgsl: which rows of the lens stack they also write out whole (they compute
// every logit anyway), and where. The lens points are stacked in depth order and the final stream
// is always the last, so its T rows are the stack's last T.
//   LOGITS_POINTS 0: only the stack's last row, the last position's logits → logits_last [V];
//   P > 0 (the session's P lens points): the final stream's T = rows / P rows, every position's
//   logits → the `logits` capture [T, V], so that a session capturing it does not unembed the
//   final stream twice.
override LOGITS_POINTS: u32 = 0u;
override LOGITS_V: u32 = 0u; // the whole vocabulary: the row stride of `logits` (LOGITS_POINTS > 0)

/** The first stack row that is written whole. */
fn logits_first(rows: u32) -> u32 {
  if (LOGITS_POINTS == 0u) {
    return rows - 1u;
  }
  return rows - rows / max(LOGITS_POINTS, 1u); // (max: the division is compiled for 0 too)
}

/** Where stack row r (≥ logits_first(rows) = first) and token id go in `logits`. */
fn logits_index(r: u32, first: u32, id: u32) -> u32 {
  return (r - first) * LOGITS_V + id;
}
