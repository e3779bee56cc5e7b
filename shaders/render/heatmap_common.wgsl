// heatmap_common — what one heatmap cell shows, read in place from an attention capture. No entry
// point: the heatmap renderer prepends this file to heatmap.wgsl, heatmap_max.wgsl and (with a
// second prompt's capture, pattern_b) heatmap_diff.wgsl and heatmap_diff_max.wgsl; the two
// fragment shaders get heatmap_pixel.wgsl after it.
//   pattern: blocks.L.attn.hook_pattern, a texture_2d_array (ceil(Tcap/4), Tcap) × H; texel
//            (s/4, t) of array layer h holds keys s..s+3 of query t (component s % 4); the 8-bit
//            capture stores √p. Rows and columns ≥ T are stale and never read.
//   shown(t, s) = p[t, s]                  sink mode 'show'
//               = background if s = 0      'hide'
//               = p[t, s] / (1 − p[t, 0])  'renormalize' (the row without its sink; s = 0 background)
//   Masked keys (s > t) and cells outside the T × T prompt are background, returned as −1.

const SINK_SHOW: u32 = 0u;
const SINK_HIDE: u32 = 1u;
const SINK_RENORMALIZE: u32 = 2u;
const BACKGROUND: f32 = -1.0;

// One per viewport (a head drawn in a rectangle), 256 bytes apart in the uniform buffer. The
// renderer reads this struct's layout from the source (webgpu-utils).
struct HeatmapUniforms {
  rect: vec4f,       // the viewport in framebuffer pixels: x, y, width, height
  view: vec4f,       // the part of (key, query) space shown, in cells: key0, query0, key1, query1
  background: vec4f, // colour of masked and hidden cells (canvas bytes / 255)
  rows: u32,         // T: queries and keys of the prompt
  head: u32,         // array layer of `pattern` to draw
  sqrt_encoded: u32, // 1 for the 8-bit capture (√p stored)
  sqrt_encoded_b: u32, // the same for pattern_b (difference views; the prompts' formats may differ)
  sink_mode: u32,    // SINK_*
  log_scale: u32,    // 1: log10 of the normalized weight over [1e-4, 1]
  shared_max: u32,   // 1: weights as they are (max 1); 0: divided by head_max[head]
}

@group(0) @binding(0) var<uniform> u: HeatmapUniforms;
@group(0) @binding(1) var pattern: texture_2d_array<f32>; // (ceil(Tcap/4), Tcap) × H

fn max4(v: vec4f) -> f32 {
  return max(max(v.x, v.y), max(v.z, v.w));
}

// The factor the sink mode applies to query t's row of `tex` (sqrt_enc: its 8-bit √p encoding):
// 1/(1 − p[t, 0]) when renormalizing. A row with (almost) nothing off the sink — query 0 always —
// gets 0: it has no weight left to show.
fn row_scale(tex: texture_2d_array<f32>, sqrt_enc: u32, t: u32, head: u32) -> f32 {
  if (u.sink_mode != SINK_RENORMALIZE) {
    return 1.0;
  }
  var p0 = textureLoad(tex, vec2u(0u, t), head, 0).x;
  if (sqrt_enc != 0u) {
    p0 = p0 * p0;
  }
  let rest = 1.0 - p0;
  return select(0.0, 1.0 / rest, rest > 1e-6);
}

// Keys 4x..4x+3 of query t of `tex` as shown (`scale` from row_scale): BACKGROUND where masked or
// hidden.
fn shown4(tex: texture_2d_array<f32>, sqrt_enc: u32, t: u32, x: u32, head: u32, scale: f32) -> vec4f {
  var p = textureLoad(tex, vec2u(x, t), head, 0);
  if (sqrt_enc != 0u) {
    p = p * p;
  }
  let s = vec4u(4u * x) + vec4u(0u, 1u, 2u, 3u);
  let hidden = (s > vec4u(t)) | (s >= vec4u(u.rows)) |
    ((s == vec4u(0u)) & vec4<bool>(u.sink_mode != SINK_SHOW));
  return select(p * scale, vec4f(BACKGROUND), hidden);
}
