// heatmap_diff — two prompts' attention patterns compared, one head: d = shown_A − shown_B per cell
// (T × T, queries down, keys across; the prompts have the same T), drawn into a viewport and
// sampled in place from both capture textures (heatmap_common.wgsl and heatmap_pixel.wgsl,
// prepended by the renderer; the vertex stage is heatmap_vertex.wgsl).
//   For each pixel: of the cells it covers (pixel_cells), the d of largest |d|. Masked and hidden
//   cells are u.background; the rest, with x = normalized(d) in [−1, 1] (head_max: max |d|),
//     colour = colormap_at((sign(x) · scaled(|x|) + 1) / 2)   (a diverging map: 0 in the middle).
// Bindings: u (dynamic offset, one HeatmapUniforms per viewport), pattern (A), colormap (256 × 1
//   rgba8unorm, src/viz/colormaps.ts), head_max (H) max |d| as f32 bits from heatmap_diff_max.wgsl,
//   pattern_b (B), the same layout as pattern (its capacity may differ).
// Draw: 3 vertices (one triangle covering the viewport) per viewport; setViewport = u.rect.
@group(0) @binding(4) var pattern_b: texture_2d_array<f32>; // (ceil(TcapB/4), TcapB) × H

@fragment
fn fs_main(@builtin(position) pos: vec4f) -> @location(0) vec4f {
  let c = pixel_cells(pos.xy);
  if (!c.inside) {
    return u.background;
  }
  var best = BACKGROUND; // the largest |d| seen
  var value = 0.0; // its d
  for (var t = c.q0; t <= c.q1; t += c.q_step) {
    let k_end = min(c.k1, t); // keys after the query are masked
    if (c.k0 > k_end) {
      continue;
    }
    let scale_a = row_scale(pattern, u.sqrt_encoded, t, u.head);
    let scale_b = row_scale(pattern_b, u.sqrt_encoded_b, t, u.head);
    for (var x = c.k0 / 4u; x <= k_end / 4u; x += c.x_step) {
      let a = shown4(pattern, u.sqrt_encoded, t, x, u.head, scale_a);
      let b = shown4(pattern_b, u.sqrt_encoded_b, t, x, u.head, scale_b);
      let s = vec4u(4u * x) + vec4u(0u, 1u, 2u, 3u);
      let inside = (s >= vec4u(c.k0)) & (s <= vec4u(k_end)) & (a >= vec4f(0.0));
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
  let x = normalized(value);
  return colormap_at(0.5 * (sign(x) * scaled(abs(x)) + 1.0));
}
