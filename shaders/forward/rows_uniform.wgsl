// rows_uniform — a module without an entry point: the uniform of the kernels whose one run-time
// size is a row count (prepended to the matmuls, LayerNorm, embedding, attention, ablation and
// capture kernels, and the lens's top-k kernels: `modules` in src/gpu/kernels.ts). rows is T for
// the forward's [T, ·] buffers, lens points · T for the logit lens's stack.

struct Params {
  rows: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
