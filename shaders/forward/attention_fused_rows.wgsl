// attention_fused_rows — attention_fused.wgsl for real GPUs, with the same outputs:
//   att[h, t, s] = softmax_s(q_t · k_s / sqrt(HD)) for s ≤ t, 0 for s > t (causal mask), into the
//     [H, T, T] scratch and the capture texture `pattern` (texel (s / 4, t) of layer h holds keys
//     s..s+3 of query t; f32, f16 or 8-bit √p, set at pipeline creation);
//   z[t, h·HD + j] = Σ_{s ≤ t} att[h, t, s] · v[s, h·HD + j] (hook_z, [T, D]).
// Dispatch: (T, H, 1) workgroups of WG_X threads (a power of two), one per (query, head): the
// softmax of attention_softmax_rows.wgsl (thread i owns key groups i, i + WG_X, …; the row's max
// and sum reduced through workgroup memory), a storage barrier, then thread i computes the head's
// columns i, i + WG_X, … of z from the whole row. Replaces attention_softmax_rows +
// attention_values (the unfused path, kept selectable).
// Reference: attention() in src/model/reference.ts.
override WG_X: u32 = 64u; // a power of two

const NEG: f32 = -3.0e38;

// D, H, HD, qkv and qk_score: attention_qk.wgsl; SQRT_ENCODE, att, pattern and store_keys:
// attention_pattern.wgsl; params (rows = T): rows_uniform.wgsl (all prepended).
@group(0) @binding(4) var<storage, read_write> z: array<f32>; // [T, D]

var<workgroup> partial: array<f32, WG_X>;

/** The max (is_max) or the sum of v over the workgroup; every thread gets it. */
fn reduce(v: f32, i: u32, is_max: bool) -> f32 {
  partial[i] = v;
  workgroupBarrier();
  for (var w = WG_X / 2u; w > 0u; w /= 2u) {
    if (i < w) {
      partial[i] = select(partial[i] + partial[i + w], max(partial[i], partial[i + w]), is_max);
    }
    workgroupBarrier();
  }
  let r = partial[0];
  workgroupBarrier(); // everyone has read it before the next reduce writes
  return r;
}

@compute @workgroup_size(WG_X)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let T = params.rows;
  let t = wg.x;
  let h = wg.y;
  let i = lid.x;
  let row = (h * T + t) * T;
  // Pass 1: this thread's scores and their max.
  var m = NEG;
  for (var s0 = 4u * i; s0 <= t; s0 += 4u * WG_X) {
    for (var s = s0; s <= min(s0 + 3u, t); s++) {
      let score = qk_score(t, s, h);
      att[row + s] = score;
      m = max(m, score);
    }
  }
  m = reduce(m, i, true);
  // Pass 2: exponentials and their sum.
  var sum = 0.0;
  for (var s0 = 4u * i; s0 <= t; s0 += 4u * WG_X) {
    for (var s = s0; s <= min(s0 + 3u, t); s++) {
      let e = exp(att[row + s] - m);
      att[row + s] = e;
      sum += e;
    }
  }
  let inv = 1.0 / reduce(sum, i, false);
  // Pass 3 (attention_pattern.wgsl, prepended): normalize, zero the masked keys, write the capture.
  for (var s0 = 4u * i; s0 < T; s0 += 4u * WG_X) {
    store_keys(row, t, h, s0, T, inv);
  }
  storageBarrier(); // the whole normalized row is in att for every thread
  // Pass 4: the head's outputs, column j by thread j % WG_X.
  let col = h * HD;
  for (var j = i; j < HD; j += WG_X) {
    var acc = 0.0;
    for (var s = 0u; s <= t; s++) {
      acc += att[row + s] * qkv[s * 3u * D + 2u * D + col + j];
    }
    z[t * D + col + j] = acc;
  }
}
