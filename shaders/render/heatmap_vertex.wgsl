// heatmap_vertex — the vertex stage of every heatmap draw (heatmap.wgsl, heatmap_diff.wgsl): one
// triangle that covers the viewport, so the fragment stage runs once per pixel of it. Reads no
// binding; a module of its own, shared by both render pipelines.
// Draw: 3 vertices per viewport; the rasterizer clips the triangle to setViewport(u.rect).
@vertex
fn vs_main(@builtin(vertex_index) i: u32) -> @builtin(position) vec4f {
  let xy = vec2f(f32((i << 1u) & 2u), f32(i & 2u)); // (0,0) (2,0) (0,2): clipped to the viewport
  return vec4f(xy * 2.0 - 1.0, 0.0, 1.0);
}
