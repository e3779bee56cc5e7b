// heatmap_pixel — what one pixel of a heatmap viewport covers, and how the value it shows becomes a
// colour. No entry point: the renderer prepends it (after heatmap_common.wgsl) to the fragment
// shaders heatmap.wgsl and heatmap_diff.wgsl.
//   Cells under a pixel: those of the shown region `u.view` that the pixel spans. A cell bigger
//   than a pixel: the one under the pixel's centre. Smaller: every covered cell, strided past
//   MAX_SPAN per axis, so a one-cell diagonal stays visible when T ≫ pixels at a bounded cost.
//   Value to colour: v / (u.shared_max ? 1 : head_max[head]); log scale: (log10(max(v, 1e-4)) + 4) / 4;
//   colour = colormap[floor(clamp(i, 0, 1) · 255 + 0.5)] for the index i in [0, 1] the shader gives.
// Bindings: colormap (256 × 1 rgba8unorm lookup table, src/viz/colormaps.ts), head_max (H) f32 bits
//   from heatmap_max.wgsl or heatmap_diff_max.wgsl.
const MAX_SPAN: u32 = 64u;
const LOG_FLOOR_DECADES: f32 = 4.0; // log scale from 1e-4 to 1
const LOG10_2: f32 = 0.30102999566;

@group(0) @binding(2) var colormap: texture_2d<f32>; // (256, 1) rgba8unorm
@group(0) @binding(3) var<storage, read> head_max: array<u32>; // (H) f32 bits

// The cells one pixel covers, clamped to the prompt's T × T, and the strides that visit them.
struct PixelCells {
  inside: bool, // false: the pixel covers no cell of the prompt (it shows u.background)
  k0: u32,      // keys [k0, k1]
  k1: u32,
  q0: u32,      // queries [q0, q1]
  q1: u32,
  q_step: u32,  // query stride
  x_step: u32,  // texel stride (4 keys a texel)
}

// The cells [first, last] along one axis under the pixel span [lo, hi), in cell units.
fn covered(lo: f32, hi: f32) -> vec2i {
  if (hi - lo <= 1.0) {
    let c = i32(floor(0.5 * (lo + hi)));
    return vec2i(c, c);
  }
  return vec2i(i32(floor(lo)), i32(ceil(hi)) - 1);
}

// The cells under the pixel at framebuffer position `pos` (the fragment's @builtin(position).xy).
fn pixel_cells(pos: vec2f) -> PixelCells {
  let per_pixel = (u.view.zw - u.view.xy) / u.rect.zw; // cells per pixel: (keys, queries)
  let lo = u.view.xy + (pos - 0.5 - u.rect.xy) * per_pixel;
  let keys = covered(lo.x, lo.x + per_pixel.x);
  let queries = covered(lo.y, lo.y + per_pixel.y);
  let last = i32(u.rows) - 1;
  var c: PixelCells;
  c.inside = !(keys.y < 0 || queries.y < 0 || keys.x > last || queries.x > last);
  if (!c.inside) {
    return c;
  }
  c.k0 = u32(max(keys.x, 0));
  c.k1 = u32(min(keys.y, last));
  c.q0 = u32(max(queries.x, 0));
  c.q1 = u32(min(queries.y, last));
  c.q_step = (c.q1 - c.q0) / MAX_SPAN + 1u;
  c.x_step = (c.k1 / 4u - c.k0 / 4u) / (MAX_SPAN / 4u) + 1u;
  return c;
}

// v as the head's normalization has it: divided by head_max[u.head] unless u.shared_max.
fn normalized(v: f32) -> f32 {
  if (u.shared_max == 0u) {
    return v / max(bitcast<f32>(head_max[u.head]), 1e-30);
  }
  return v;
}

// A magnitude m ≥ 0 on the scale asked: as it is, or its decades above 1e-4 over [0, 1].
fn scaled(m: f32) -> f32 {
  if (u.log_scale != 0u) {
    return (log2(max(m, 1e-4)) * LOG10_2 + LOG_FLOOR_DECADES) / LOG_FLOOR_DECADES;
  }
  return m;
}

// The colormap's entry for i in [0, 1] (clamped), rounded to the nearest of its 256.
fn colormap_at(i: f32) -> vec4f {
  let entry = u32(floor(clamp(i, 0.0, 1.0) * 255.0 + 0.5));
  return textureLoad(colormap, vec2u(entry, 0u), 0);
}
