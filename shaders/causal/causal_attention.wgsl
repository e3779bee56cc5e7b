// causal_attention — attention of a batch of N runs of T tokens, up to (not including) c_proj:
//   z[b·T + t, h·HD + j] = Σ_{s ≤ t} softmax_s(q_t · k_s / sqrt(HD)) · v[b·T + s, h·HD + j]
//   with q, k, v head h's slices of run b's rows of qkv = [q | k | v] ([N·T, 3D]). One pass over
//   the keys with a running max (online softmax); no pattern is kept. z: [N·T, D].
//   Reference: the attention of src/model/reference.ts, run by run.
// Dispatch: (ceil(T / 64), H, N); one thread per (query, head, run), no barriers. HD ≤ 64.
override D: u32;
override H: u32;
override HD: u32;

// params (rows = N·T, T, N): causal_batch.wgsl (prepended).
@group(0) @binding(1) var<storage, read> qkv: array<f32>; // [N·T, 3D]
@group(0) @binding(2) var<storage, read_write> z: array<f32>; // [N·T, D]

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let T = params.T;
  let t = gid.x;
  let h = gid.y;
  let b = gid.z;
  if (t >= T || h >= H || b >= params.N) {
    return;
  }
  let scale = inverseSqrt(f32(HD));
  let base = b * T;
  let q = (base + t) * 3u * D + h * HD;
  var acc: array<f32, 64>;
  for (var j = 0u; j < HD; j++) {
    acc[j] = 0.0;
  }
  var m = -3.0e38;
  var l = 0.0;
  for (var s = 0u; s <= t; s++) {
    let k = (base + s) * 3u * D + D + h * HD;
    var dot = 0.0;
    for (var j = 0u; j < HD; j++) {
      dot += qkv[q + j] * qkv[k + j];
    }
    let sc = dot * scale;
    let mNew = max(m, sc);
    let corr = exp(m - mNew);
    let p = exp(sc - mNew);
    l = l * corr + p;
    let v = k + D;
    for (var j = 0u; j < HD; j++) {
      acc[j] = acc[j] * corr + p * qkv[v + j];
    }
    m = mNew;
  }
  let out = (base + t) * D + h * HD;
  for (var j = 0u; j < HD; j++) {
    z[out + j] = acc[j] / l;
  }
}
