// flow — the residual stream of one run, drawn per pixel from the residual stats where the stats
// kernel (shaders/instruments/residual_stats.wgsl) left them: for each pixel the world point under
// it (clip_to_world, the inverse of the camera's projection × view; x = position, y = residual
// boundary, 0 the embeddings at the bottom), then that cell's stream ribbon, its addition bar,
// the logit lens's top-1 tint and the selected block's band (src/viz/flow-layout.ts describes the
// picture and holds the constants passed in `u`).
// Boundary b reads: b = 2l → ‖blocks.l.hook_resid_pre‖ (stats[l].pre), b = 2l+1 → ‖resid_mid‖
// (stats[l].mid, made by attention: stats[l].attn norm / cos), b = 2l+2 → the stream leaving block l
// (stats[l].post, made by the MLP: stats[l].mlp norm / cos).
// `level` (animated by the component at display rate, uniforms only) is how far up the stream has
// flowed, in boundaries: the ribbon is full up to the top of row `level` and faint above; a bar whose
// row the level is crossing slides into the stream as it does.
// Draw: heatmap_vertex.wgsl's one triangle over the whole target; no bindings in the vertex stage.
// Reference: a pixel's colour is the colormap entry of the reference's numbers (test/flow-renderer.test.ts).

struct FlowUniforms {
  clip_to_world: mat4x4f,
  target_size: vec2f,  // framebuffer pixels
  cell_px: vec2f,      // framebuffer pixels per world unit (column, row)
  background: vec4f,   // panel colour
  band: vec4f,         // the selected block's band colour, w its opacity
  accent: vec4f,       // the cursor's outline
  lens_color: vec4f,   // the lens tint at p = 1, w its opacity
  T: u32,
  L: u32,
  layer: i32,          // the selected block (−1: none)
  level: f32,          // boundaries the stream has reached, 0 … 2L
  max_norm: f32,
  max_add: f32,
  faint: f32,
  detail_px: f32,
  cursor: vec2i,       // (boundary, position); x < 0: none
  ribbon_half: f32,
  bar_gap: f32,
  bar_max: f32,
  bar_low: f32,
  bar_high: f32,
  compact_split: f32,
}

const STRIDE: u32 = 8u;

@group(0) @binding(0) var<uniform> u: FlowUniforms;
@group(0) @binding(1) var<storage, read> stats: array<f32>; // (L, T, 8), residual_stats' order
@group(0) @binding(2) var<storage, read> lens_top: array<f32>; // (2L+1, T) top-1 prob, −1 none
@group(0) @binding(3) var colormaps: texture_2d<f32>; // (256, 2): row 0 ‖stream‖, row 1 cosine

fn stat(l: u32, t: u32, k: u32) -> f32 {
  return stats[(l * u.T + t) * STRIDE + k];
}

// ‖stream‖ at boundary b, position t.
fn stream_norm(b: u32, t: u32) -> f32 {
  if (b == 2u * u.L) {
    return stat(u.L - 1u, t, 6u);
  }
  return select(stat(b / 2u, t, 0u), stat(b / 2u, t, 5u), b % 2u == 1u);
}

// (‖addition‖, cos) of what made boundary b ≥ 1: attention (odd b) or the MLP (even b).
fn addition(b: u32, t: u32) -> vec2f {
  let l = (b - 1u) / 2u;
  if (b % 2u == 1u) {
    return vec2f(stat(l, t, 1u), stat(l, t, 3u));
  }
  return vec2f(stat(l, t, 2u), stat(l, t, 4u));
}

fn colormap(row: u32, x: f32) -> vec3f {
  let i = u32(floor(clamp(x, 0.0, 1.0) * 255.0 + 0.5));
  return textureLoad(colormaps, vec2u(i, row), 0).rgb;
}

fn norm_color(n: f32) -> vec3f {
  return colormap(0u, select(0.0, n / u.max_norm, u.max_norm > 0.0));
}

fn cos_color(c: f32) -> vec3f {
  return colormap(1u, 0.5 * (c + 1.0));
}

// ‖stream‖ at world height y (row centres hold the boundaries' norms; smooth between them).
fn flowing_norm(y: f32, t: u32) -> f32 {
  let last = 2u * u.L;
  let s = clamp(y - 0.5, 0.0, f32(last));
  let b0 = u32(floor(s));
  let b1 = min(b0 + 1u, last);
  let f = smoothstep(0.0, 1.0, s - f32(b0));
  return mix(stream_norm(b0, t), stream_norm(b1, t), f);
}

@fragment
fn fs_main(@builtin(position) pos: vec4f) -> @location(0) vec4f {
  let clip = vec2f(pos.x / u.target_size.x * 2.0 - 1.0, 1.0 - pos.y / u.target_size.y * 2.0);
  let w = (u.clip_to_world * vec4f(clip, 0.0, 1.0)).xy;
  let rows = 2u * u.L + 1u;
  if (w.x < 0.0 || w.y < 0.0 || w.x >= f32(u.T) || w.y >= f32(rows) || u.T == 0u) {
    return vec4f(u.background.rgb, 1.0);
  }
  let t = u32(floor(w.x));
  let b = u32(floor(w.y));
  let cu = w.x - floor(w.x); // across the column, 0 … 1
  let cv = w.y - floor(w.y); // up the row, 0 … 1
  // How far the level has entered this row: 0 not yet (faint), 1 reached (b ≤ level).
  let entered = clamp(u.level - f32(b) + 1.0, 0.0, 1.0);
  let reached = mix(u.faint, 1.0, entered);

  var c = u.background.rgb;
  let lo = 2 * u.layer;
  if (u.layer >= 0 && i32(b) >= lo && i32(b) <= lo + 2) {
    c = mix(c, u.band.rgb, u.band.w);
  }
  // Cell gaps (1 px) where cells are large enough to need them.
  let edge = min(min(cu, 1.0 - cu) * u.cell_px.x, min(cv, 1.0 - cv) * u.cell_px.y);
  let p = lens_top[b * u.T + t];
  if (p >= 0.0 && (edge >= 0.5 || u.cell_px.x < 6.0)) {
    c = mix(c, u.lens_color.rgb, p * u.lens_color.w);
  }
  let faded = c;

  if (u.cell_px.x >= u.detail_px) {
    // The ribbon: full up to the top of the level's row, faint above.
    let n = flowing_norm(w.y, t);
    let half = max(u.ribbon_half * select(0.0, n / u.max_norm, u.max_norm > 0.0), 0.5 / u.cell_px.x);
    if (abs(cu - 0.5) < half) {
      let full = w.y <= u.level + 1.0;
      c = mix(faded, norm_color(n), select(u.faint, 1.0, full));
    }
    // The bar of what made this boundary; while the level crosses the row it slides in.
    if (b >= 1u && cv >= u.bar_low && cv < u.bar_high) {
      let a = addition(b, t);
      let len = max(u.bar_max * select(0.0, min(1.0, a.x / u.max_add), u.max_add > 0.0), 1.0 / u.cell_px.x);
      let out = (1.0 - smoothstep(0.0, 1.0, entered)) * 0.12;
      let inner = u.ribbon_half + u.bar_gap + out;
      var d = cu - 0.5; // signed distance from the column's centre
      if (b % 2u == 1u) {
        d = -d; // attention on the left
      }
      if (d >= inner && d < inner + len) {
        c = mix(faded, cos_color(a.y), reached);
      }
    }
  } else {
    // Compact: the field of ‖stream‖ above, the addition's cosine below.
    var col = norm_color(stream_norm(b, t));
    if (b >= 1u && cv < u.compact_split) {
      col = cos_color(addition(b, t).y);
    }
    c = mix(faded, col, reached);
  }

  // The selected block's edges: its resid_pre's bottom and its resid_post's top.
  if (u.layer >= 0) {
    let e0 = abs(w.y - f32(lo)) * u.cell_px.y;
    let e1 = abs(w.y - f32(lo + 3)) * u.cell_px.y;
    if (min(e0, e1) < 1.0) {
      c = mix(c, u.band.rgb, 0.8);
    }
  }
  if (u.cursor.x >= 0 && u32(u.cursor.x) == b && u32(u.cursor.y) == t && edge < 2.0) {
    c = u.accent.rgb;
  }
  return vec4f(c, 1.0);
}
