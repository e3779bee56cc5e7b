// detect_heads_reduce — one layer's per-query terms (detect_heads_rows.wgsl) summed over the T
// queries into each head's detector scores and attention statistics (definitions:
// src/instruments/head-scores.ts):
//   out[(layer·H + h)·16 + c]:
//     c = 0..5   score_d = Σ_t target mass / Σ_t kept mass (0 when nothing was kept), d = previous,
//                current, first, local, duplicate, induction
//     c = 6      W = Σ_t row weight
//     c = 7, 8   entropy: weighted mean and standard deviation over rows (0 when W = 0)
//     c = 9, 10  normalized entropy: mean, std
//     c = 11, 12 Hoyer sparsity: mean, std
//     c = 13..15 unused
//   The standard deviations take a second pass around the mean (no E[x²] − E[x]² cancellation).
// Dispatch: (ceil(10 / WG_X), H, 1); one thread per (item, head): items 0..5 the scores, 6 the row
// weight, 7..9 one statistic's mean and std. Each loops over T queries; no barriers.
override WG_X: u32 = 16u;
override H: u32;

const ROW_STRIDE: u32 = 16u;
const OUT_STRIDE: u32 = 16u;

struct DetectParams {
  rows: u32,            // T
  window: u32,          // (rows kernel only)
  exclude_first: u32,   // (rows kernel only)
  exclude_current: u32, // (rows kernel only)
  layer: u32,           // which layer's slot of `out` to fill
}

@group(0) @binding(0) var<uniform> params: DetectParams;
@group(0) @binding(1) var<storage, read> row_stats: array<f32>; // (H, T, ROW_STRIDE)
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // (L, H, OUT_STRIDE)

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let item = gid.x;
  let h = gid.y;
  if (item >= 10u || h >= H) {
    return;
  }
  let T = params.rows;
  let base = h * T * ROW_STRIDE;
  let dst = (params.layer * H + h) * OUT_STRIDE;
  if (item < 6u) {
    var num = 0.0;
    var den = 0.0;
    for (var t = 0u; t < T; t++) {
      num += row_stats[base + t * ROW_STRIDE + item];
      den += row_stats[base + t * ROW_STRIDE + 6u + item];
    }
    out[dst + item] = select(0.0, num / den, den > 0.0);
    return;
  }
  var w = 0.0;
  for (var t = 0u; t < T; t++) {
    w += row_stats[base + t * ROW_STRIDE + 12u];
  }
  if (item == 6u) {
    out[dst + 6u] = w;
    for (var c = 13u; c < OUT_STRIDE; c++) {
      out[dst + c] = 0.0;
    }
    return;
  }
  let col = 13u + (item - 7u); // entropy, normalized entropy, sparsity
  var mean = 0.0;
  var spread = 0.0;
  if (w > 0.0) {
    for (var t = 0u; t < T; t++) {
      let r = base + t * ROW_STRIDE;
      mean += row_stats[r + 12u] * row_stats[r + col];
    }
    mean /= w;
    for (var t = 0u; t < T; t++) {
      let r = base + t * ROW_STRIDE;
      let d = row_stats[r + col] - mean;
      spread += row_stats[r + 12u] * d * d;
    }
    spread = sqrt(spread / w);
  }
  out[dst + 7u + 2u * (item - 7u)] = mean;
  out[dst + 8u + 2u * (item - 7u)] = spread;
}
