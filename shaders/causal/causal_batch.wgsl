// causal_batch — a module without an entry point: the uniform of the kernels that run a batch of N
// patched runs of T tokens each, stacked as [N·T, ·] (causal_broadcast, causal_patch,
// causal_attention, causal_metric).

struct Params {
  rows: u32, // N·T
  T: u32,
  N: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
