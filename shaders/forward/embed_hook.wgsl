// embed_hook — hook_embed (POSITIONAL 0): out[t, :] = wte[tokens[t], :], or hook_pos_embed
//   (POSITIONAL 1): out[t, :] = wpe[t, :]; [T, D] each, their sum being resid_pre 0 (embed.wgsl).
//   Runs only when captured. wte may be split in parts along the vocabulary (see embed.wgsl): a
//   token-embedding dispatch writes the positions whose token falls in its part; the positional
//   one runs once.
// Dispatch: (ceil(D / WG_X), T, 1). Reference: runWithCache in src/model/reference-hooks.ts.
alias weight_t = f32;

override D: u32;
override VOCAB_START: u32 = 0u;
override VOCAB_COUNT: u32;
override POSITIONAL: u32 = 0u;
override WG_X: u32 = 64u;

struct Params {
  rows: u32, // T
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> tokens: array<u32>; // (T)
@group(0) @binding(2) var<storage, read> wte: array<weight_t>; // (VOCAB_COUNT, D): this part
@group(0) @binding(3) var<storage, read> wpe: array<weight_t>; // (n_ctx, D)
@group(0) @binding(4) var<storage, read_write> out: array<f32>; // (T, D)

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let d = gid.x;
  let t = gid.y;
  if (d >= D || t >= params.rows) {
    return;
  }
  if (POSITIONAL == 1u) {
    out[t * D + d] = f32(wpe[t * D + d]);
    return;
  }
  let tok = tokens[t];
  if (tok < VOCAB_START || tok >= VOCAB_START + VOCAB_COUNT) {
    return;
  }
  out[t * D + d] = f32(wte[(tok - VOCAB_START) * D + d]);
}
