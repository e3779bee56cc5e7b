// unembed_logits — full next-token logits of one row: logits[v] = x[ROW] · wte[v] (tied
// unembedding), for the capture CLI's `logits_last` and logit differences between chosen tokens.
//   x: (rows, D) f32 after ln_f; wte: one part, rows [VOCAB_START, VOCAB_START + VOCAB_COUNT).
//   logits: (V) f32.
// Dispatch: (ceil(VOCAB_COUNT / WG_X), 1, 1); one thread per token; one dispatch per wte part.
alias weight_t = f32;

override D: u32;
override WG_X: u32 = 64u;

struct Params {
  row: u32, // which row of x: the last position of the final residual stream
}

@group(0) @binding(0) var<uniform> params: Params;
// VOCAB_START, VOCAB_COUNT: wte_part.wgsl; lens_dot: lens_dot.wgsl (both prepended).
@group(0) @binding(1) var<storage, read> x: array<f32>; // (rows, D)
@group(0) @binding(2) var<storage, read> wte: array<weight_t>; // (VOCAB_COUNT, D)
@group(0) @binding(3) var<storage, read_write> logits: array<f32>; // (V)

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let v = gid.x;
  if (v >= VOCAB_COUNT) {
    return;
  }
  logits[VOCAB_START + v] = lens_dot(params.row * D, v);
}
