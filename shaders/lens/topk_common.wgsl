// topk_common — a module without an entry point, prepended to the logit lens's top-k kernels
// (unembed_topk, unembed_topk_vec4, unembed_topk_tiled, topk_merge): the overrides they share (the
// uniform: rows_uniform.wgsl), and the insertion into a sorted top-k list (unembed_topk and topk_merge; the vec4 and
// tiled kernels keep several rows' lists in one array and insert in place). The including kernel
// declares MAX_K, the most TOPK it holds.

override N_CHUNKS: u32; // vocabulary chunks over the whole vocabulary
override TOPK: u32 = 5u; // at most MAX_K

// params: rows_uniform.wgsl (prepended), rows = lens points · T.

// Inserts (l, id) into the list (top_l, top_i) of TOPK entries sorted by descending logit, at its
// place; l must beat the last entry, which drops out. Equal logits keep the earlier entry first.
fn topk_insert(top_l: ptr<function, array<f32, MAX_K>>, top_i: ptr<function, array<u32, MAX_K>>, l: f32, id: u32) {
  var j = TOPK - 1u;
  while (j > 0u && l > (*top_l)[j - 1u]) {
    (*top_l)[j] = (*top_l)[j - 1u];
    (*top_i)[j] = (*top_i)[j - 1u];
    j--;
  }
  (*top_l)[j] = l;
  (*top_i)[j] = id;
}
