// embed_common — what embed.wgsl and embed_hook.wgsl share (a module, no entry point; the kernel
// registry puts it after the kernel's file): the overrides, the bindings and the reads.
//   wte may be split in parts along the vocabulary (wte_part.wgsl, prepended too): a dispatch
//   writes only the positions whose token falls in its part.
// Reference: src/model/reference.ts (resid_pre 0), runWithCache in src/model/reference-hooks.ts.
alias weight_t = f32;

override D: u32;
override WG_X: u32 = 64u;

// params: rows_uniform.wgsl (prepended), rows = T.
@group(0) @binding(1) var<storage, read> tokens: array<u32>; // (T)
@group(0) @binding(2) var<storage, read> wte: array<weight_t>; // (VOCAB_COUNT, D): this part
@group(0) @binding(3) var<storage, read> wpe: array<weight_t>; // (n_ctx, D)
@group(0) @binding(4) var<storage, read_write> out: array<f32>; // (T, D)

/** Whether the invocation (d, t, _) is a cell of out [T, D]. */
fn embed_inside(gid: vec3u) -> bool {
  return gid.x < D && gid.y < params.rows;
}

/** Whether position t's token is in this dispatch's part of wte. */
fn token_in_part(t: u32) -> bool {
  return in_part(tokens[t]);
}

/** wte[tokens[t], d] (t's token in this part). */
fn token_embed(t: u32, d: u32) -> f32 {
  return f32(wte[(tokens[t] - VOCAB_START) * D + d]);
}

/** wpe[t, d]. */
fn pos_embed(t: u32, d: u32) -> f32 {
  return f32(wpe[t * D + d]);
}
