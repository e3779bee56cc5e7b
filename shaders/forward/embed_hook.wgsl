// embed_hook — hook_embed (POSITIONAL 0): out[t, :] = wte[tokens[t], :], or hook_pos_embed
//   (POSITIONAL 1): out[t, :] = wpe[t, :]; [T, D] each, their sum being resid_pre 0 (embed.wgsl).
//   Runs only when captured. wte may be split in parts along the vocabulary (embed_common.wgsl): a
//   token-embedding dispatch writes the positions whose token falls in its part; the positional
//   one runs once.
// Dispatch: (ceil(D / WG_X), T, 1). Reference: runWithCache in src/model/reference-hooks.ts.
override POSITIONAL: u32 = 0u;

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (!embed_inside(gid)) {
    return;
  }
  if (POSITIONAL == 1u) {
    out[gid.y * D + gid.x] = pos_embed(gid.y, gid.x);
    return;
  }
  if (!token_in_part(gid.y)) {
    return;
  }
  out[gid.y * D + gid.x] = token_embed(gid.y, gid.x);
}
