// heatmap — one head's attention pattern (T × T, queries down, keys across) drawn into a viewport,
// sampled in place from the capture texture (heatmap_common.wgsl, prepended by the renderer).
//   For each pixel: the cells of the shown region `u.view` that the pixel covers. A cell bigger
//   than a pixel: the one under the pixel's centre. Smaller: the max over every covered cell
//   (strided past MAX_SPAN per axis), so a one-cell diagonal stays visible when T ≫ pixels.
//   Masked (s > t) and hidden (sink) cells are u.background; the rest
//     x = shown / (u.shared_max ? 1 : head_max[head]),  log scale: (log10(max(x, 1e-4)) + 4) / 4,
//     colour = colormap[floor(clamp(x, 0, 1) · 255 + 0.5)].
// Bindings: u (dynamic offset, one HeatmapUniforms per viewport), pattern, colormap (256 × 1
//   rgba8unorm lookup table, src/viz/colormaps.ts), head_max (H) f32 bits from heatmap_max.wgsl.
// Draw: 3 vertices (one triangle covering the viewport) per viewport; setViewport = u.rect.
const MAX_SPAN: u32 = 64u;
const LOG_FLOOR_DECADES: f32 = 4.0; // log scale from 1e-4 to 1
const LOG10_2: f32 = 0.30102999566;

@group(0) @binding(2) var colormap: texture_2d<f32>; // (256, 1) rgba8unorm
@group(0) @binding(3) var<storage, read> head_max: array<u32>; // (H) f32 bits

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

  var best = BACKGROUND;
  for (var t = q0; t <= q1; t += q_step) {
    let k_end = min(k1, t); // keys after the query are masked
    if (k0 > k_end) {
      continue;
    }
    let scale = row_scale(pattern, u.sqrt_encoded, t, u.head);
    for (var x = k0 / 4u; x <= k_end / 4u; x += x_step) {
      let s = vec4u(4u * x) + vec4u(0u, 1u, 2u, 3u);
      let inside = (s >= vec4u(k0)) & (s <= vec4u(k_end));
      let shown = shown4(pattern, u.sqrt_encoded, t, x, u.head, scale);
      best = max(best, max4(select(vec4f(BACKGROUND), shown, inside)));
    }
  }
  if (best < 0.0) {
    return u.background;
  }
  var x = best;
  if (u.shared_max == 0u) {
    x = best / max(bitcast<f32>(head_max[u.head]), 1e-30);
  }
  if (u.log_scale != 0u) {
    x = (log2(max(x, 1e-4)) * LOG10_2 + LOG_FLOOR_DECADES) / LOG_FLOOR_DECADES;
  }
  let i = u32(floor(clamp(x, 0.0, 1.0) * 255.0 + 0.5));
  return textureLoad(colormap, vec2u(i, 0u), 0);
}
