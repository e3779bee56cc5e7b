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

// D, H, HD, qkv and qk_score: attention_qk.wgsl; SQRT_ENCODE, att, pattern and store_keys:
// attention_pattern.wgsl; softmax_row_wg: softmax_rows.wgsl; params (rows = T): rows_uniform.wgsl (all prepended).
@group(0) @binding(4) var<storage, read_write> z: array<f32>; // [T, D]

@compute @workgroup_size(WG_X)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let T = params.rows;
  let t = wg.x;
  let h = wg.y;
  let i = lid.x;
  let row = softmax_row_wg(t, h, i, T); // passes 1–3: softmax_rows.wgsl
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
