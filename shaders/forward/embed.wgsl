// embed — resid_pre 0: out[t, :] = wte[tokens[t], :] + wpe[t, :]
//   Declarations and reads in embed_common.wgsl (wte in parts: one dispatch per part, each writing
//   the positions whose token falls in it).
// Dispatch: (ceil(D / WG_X), T, 1).
@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (!embed_inside(gid) || !token_in_part(gid.y)) {
    return;
  }
  out[gid.y * D + gid.x] = token_embed(gid.y, gid.x) + pos_embed(gid.y, gid.x);
}
