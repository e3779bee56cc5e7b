// heatmap — one head's attention pattern (T × T, queries down, keys across) drawn into a viewport,
// sampled in place from the capture texture (heatmap_common.wgsl and heatmap_pixel.wgsl,
// prepended by the renderer; the vertex stage is heatmap_vertex.wgsl).
//   For each pixel: the max shown weight over the cells it covers (pixel_cells: one cell, or a
//   strided sample of many). Masked (s > t) and hidden (sink) cells are u.background; the rest
//     colour = colormap_at(scaled(normalized(max shown))).
// Bindings: u (dynamic offset, one HeatmapUniforms per viewport), pattern, colormap (256 × 1
//   rgba8unorm lookup table, src/viz/colormaps.ts), head_max (H) f32 bits from heatmap_max.wgsl.
// Draw: 3 vertices (one triangle covering the viewport) per viewport; setViewport = u.rect.
// The all-heads atlas (src/render/atlas-renderer.ts) draws each thumbnail with this same shader,
// so a thumbnail shows exactly what the head grid's square shows (head_max: its layer's slice).
@fragment
fn fs_main(@builtin(position) pos: vec4f) -> @location(0) vec4f {
  let c = pixel_cells(pos.xy);
  if (!c.inside) {
    return u.background;
  }
  var best = BACKGROUND;
  for (var t = c.q0; t <= c.q1; t += c.q_step) {
    let k_end = min(c.k1, t); // keys after the query are masked
    if (c.k0 > k_end) {
      continue;
    }
    let scale = row_scale(pattern, u.sqrt_encoded, t, u.head);
    for (var x = c.k0 / 4u; x <= k_end / 4u; x += c.x_step) {
      let s = vec4u(4u * x) + vec4u(0u, 1u, 2u, 3u);
      let inside = (s >= vec4u(c.k0)) & (s <= vec4u(k_end));
      let shown = shown4(pattern, u.sqrt_encoded, t, x, u.head, scale);
      best = max(best, max4(select(vec4f(BACKGROUND), shown, inside)));
    }
  }
  if (best < 0.0) {
    return u.background;
  }
  return colormap_at(scaled(normalized(best)));
}
