// topk_common — a module without an entry point, prepended to the logit lens's top-k kernels
// (unembed_topk, unembed_topk_vec4, unembed_topk_tiled, topk_merge): the overrides and the uniform
// they share. The including kernel declares MAX_K, the most TOPK it holds.

override N_CHUNKS: u32; // vocabulary chunks over the whole vocabulary
override TOPK: u32 = 5u; // at most MAX_K

struct Params {
  rows: u32, // lens rows: lens points · T
}

@group(0) @binding(0) var<uniform> params: Params;
