// heatmap_diff — two prompts' attention patterns compared, one head: d = shown_A − shown_B per cell
// (T × T, queries down, keys across; the prompts have the same T), drawn into a viewport and
// sampled in place from both capture textures (heatmap_common.wgsl, prepended by the renderer).
//   For each pixel: the cells of `u.view` it covers, as in heatmap.wgsl; where it covers several,
//   the d of largest |d| (strided past MAX_SPAN per axis). Masked and hidden cells are
//   u.background; the rest
//     x = d / (u.shared_max ? 1 : head_max[head]) in [−1, 1],
//     log scale: sign(x) · (log10(max(|x|, 1e-4)) + 4) / 4,
//     colour = colormap[floor(clamp((x + 1) / 2, 0, 1) · 255 + 0.5)]   (a diverging map: 0 in the middle).
// Bindings: u (dynamic offset, one HeatmapUniforms per viewport), pattern (A), colormap (256 × 1
//   rgba8unorm, src/viz/colormaps.ts), head_max (H) max |d| as f32 bits from heatmap_diff_max.wgsl,
//   pattern_b (B), the same layout as pattern (its capacity may differ).
// Draw: 3 vertices (one triangle covering the viewport) per viewport; setViewport = u.rect.
const MAX_SPAN: u32 = 64u;
const LOG_FLOOR_DECADES: f32 = 4.0;
const LOG10_2: f32 = 0.30102999566;

@group(0) @binding(2) var colormap: texture_2d<f32>; // (256, 1) rgba8unorm
@group(0) @binding(3) var<storage, read> head_max: array<u32>; // (H) f32 bits
@group(0) @binding(4) var pattern_b: texture_2d_array<f32>; // (ceil(TcapB/4), TcapB) × H

@vertex
fn vs_main(@builtin(vertex_index) i: u32) -> @builtin(position) vec4f {
  let xy = vec2f(f32((i << 1u) & 2u), f32(i & 2u)); // (0,0) (2,0) (0,2): clipped to the viewport
  return vec4f(xy * 2.0 - 1.0, 0.0, 1.0);
}

// The cells [first, last] along one axis under the pixel span [lo, hi), in cell units.
fn covered(lo: f32, hi: f32) -> vec2i {
  if (hi - lo <= 1.0) {
    let c = i32(floor(0.5 * (lo + hi)));
    return vec2i(c, c);
  }
  return vec2i(i32(floor(lo)), i32(ceil(hi)) - 1);
}

@fragment
fn fs_main(@builtin(position) pos: vec4f) -> @location(0) vec4f {
  let per_pixel = (u.view.zw - u.view.xy) / u.rect.zw; // cells per pixel: (keys, queries)
  let lo = u.view.xy + (pos.xy - 0.5 - u.rect.xy) * per_pixel;
  let keys = covered(lo.x, lo.x + per_pixel.x);
  let queries = covered(lo.y, lo.y + per_pixel.y);
  let last = i32(u.rows) - 1;
  if (keys.y < 0 || queries.y < 0 || keys.x > last || queries.x > last) {
    return u.background;
  }
  let k0 = u32(max(keys.x, 0));
  let k1 = u32(min(keys.y, last));
  let q0 = u32(max(queries.x, 0));
  let q1 = u32(min(queries.y, last));
  let q_step = (q1 - q0) / MAX_SPAN + 1u;
  let x_step = (k1 / 4u - k0 / 4u) / (MAX_SPAN / 4u) + 1u;

  var best = BACKGROUND; // the largest |d| seen
  var value = 0.0; // its d
  for (var t = q0; t <= q1; t += q_step) {
    let k_end = min(k1, t); // keys after the query are masked
    if (k0 > k_end) {
      continue;
    }
    let scale_a = row_scale(pattern, u.sqrt_encoded, t, u.head);
    let scale_b = row_scale(pattern_b, u.sqrt_encoded_b, t, u.head);
    for (var x = k0 / 4u; x <= k_end / 4u; x += x_step) {
      let a = shown4(pattern, u.sqrt_encoded, t, x, u.head, scale_a);
      let b = shown4(pattern_b, u.sqrt_encoded_b, t, x, u.head, scale_b);
      let s = vec4u(4u * x) + vec4u(0u, 1u, 2u, 3u);
      let inside = (s >= vec4u(k0)) & (s <= vec4u(k_end)) & (a >= vec4f(0.0));
      let d = a - b;
      let magnitude = select(vec4f(BACKGROUND), abs(d), inside);
      for (var i = 0u; i < 4u; i++) {
        if (magnitude[i] > best) {
          best = magnitude[i];
          value = d[i];
        }
      }
    }
  }
  if (best < 0.0) {
    return u.background;
  }
  var x = value;
  if (u.shared_max == 0u) {
    x = value / max(bitcast<f32>(head_max[u.head]), 1e-30);
  }
  if (u.log_scale != 0u) {
    x = sign(x) * (log2(max(abs(x), 1e-4)) * LOG10_2 + LOG_FLOOR_DECADES) / LOG_FLOOR_DECADES;
  }
  let i = u32(floor(clamp(0.5 * (x + 1.0), 0.0, 1.0) * 255.0 + 0.5));
  return textureLoad(colormap, vec2u(i, 0u), 0);
}
