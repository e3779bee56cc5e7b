// layernorm_scale — ln1/ln2/ln_final.hook_scale: scale[r] = sqrt(var(x[r]) + EPS) (biased variance),
//   the divisor of the LayerNorm (shaders/forward/layernorm.wgsl), [T, 1]. Runs only when captured.
//   x: (rows, D) f32, the LayerNorm's input; scale: (rows) f32. rows = T.
// Dispatch: (ceil(T / WG_X), 1, 1); one thread per row, two passes over D, no barriers.
// Reference: layerNorm's scaleOut in src/model/reference.ts.
override D: u32;
override EPS: f32 = 1e-5;
override WG_X: u32 = 64u;

struct Params {
  rows: u32, // T
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>; // (T, D)
@group(0) @binding(2) var<storage, read_write> scale: array<f32>; // (T)

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.x;
  if (r >= params.rows) {
    return;
  }
  let row = r * D;
  var sum = 0.0;
  for (var d = 0u; d < D; d++) {
    sum += x[row + d];
  }
  let mean = sum / f32(D);
  var sq = 0.0;
  for (var d = 0u; d < D; d++) {
    let c = x[row + d] - mean;
    sq += c * c;
  }
  scale[r] = sqrt(sq / f32(D) + EPS);
}
