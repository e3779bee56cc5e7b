// token_attention — one token's attention row and column in every head of one layer, gathered from
// the layer's capture texture into a small buffer for the text view's readback (one per token the
// user points at; never part of drawing).
//   out[0, h, s] = p[token, s] for s ≤ token, 0 past it (masked keys): what the token attends to
//   out[1, h, t] = p[t, token] for t ≥ token, 0 before it: who attends to the token
// pattern: blocks.L.attn.hook_pattern, (ceil(Tcap/4), Tcap) × H; texel (s/4, t) of layer h holds
//   keys s..s+3 of query t; the 8-bit capture stores √p (squared here). Reference: the CPU
//   forward's pattern (src/model/reference.ts), test/token-attention.test.ts.
// Dispatch: (ceil(T / WG_X), H, 1); one thread per (position, head), no barriers.
override WG_X: u32 = 64u;

struct TokenUniforms {
  token: u32,        // the pointed token: its row and its column
  rows: u32,         // T
  heads: u32,        // H
  sqrt_encoded: u32, // 1 for the 8-bit capture
}

@group(0) @binding(0) var<uniform> u: TokenUniforms;
@group(0) @binding(1) var pattern: texture_2d_array<f32>; // (ceil(Tcap/4), Tcap) × H
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // (2, H, T)

fn weight(t: u32, s: u32, h: u32) -> f32 {
  let v = textureLoad(pattern, vec2u(s / 4u, t), h, 0)[s % 4u];
  return select(v, v * v, u.sqrt_encoded != 0u);
}

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  let h = gid.y;
  if (i >= u.rows || h >= u.heads) {
    return;
  }
  var row = 0.0;
  if (i <= u.token) {
    row = weight(u.token, i, h);
  }
  var column = 0.0;
  if (i >= u.token) {
    column = weight(i, u.token, h);
  }
  out[h * u.rows + i] = row;
  out[(u.heads + h) * u.rows + i] = column;
}
