// attention_fused — one block's attention in one dispatch (softmax and values fused), the variant
// for CPU fallback adapters:
//   att[h, t, s] = softmax_s(q_t · k_s / sqrt(HD)) for s ≤ t, 0 for s > t (causal mask), into the
//     [H, T, T] scratch and the capture texture `pattern` (blocks.L.attn.hook_pattern; texel
//     (s / 4, t) of layer h holds keys s..s+3 of query t; f32, f16 or 8-bit √p);
//   z[t, h·HD + j] = Σ_{s ≤ t} att[h, t, s] · v[s, h·HD + j] (blocks.L.attn.hook_z, [T, D]).
//   q, k, v: head h's slices of qkv = [q | k | v] [T, 3D], each head HD wide.
// Dispatch: (ceil(T / WG_X), H, 1); one thread per (query, head): the three passes of
// softmax_thread.wgsl (the last in attention_pattern.wgsl), then the head's HD outputs from the
// row it wrote itself (no other thread's writes are read, so no barrier). Replaces
// attention_softmax + attention_values (the unfused path, kept selectable). attention_fused_vec4.wgsl
// is this with vec4 loads (HD % 4 == 0), attention_fused_rows.wgsl the variant for real GPUs.
// Reference: attention() in src/model/reference.ts.
override WG_X: u32 = 16u;

// D, H, HD, qkv and qk_score: attention_qk.wgsl; SQRT_ENCODE, att, pattern and store_keys:
// attention_pattern.wgsl; softmax_row: softmax_thread.wgsl; params (rows = T): rows_uniform.wgsl (all prepended).
@group(0) @binding(4) var<storage, read_write> z: array<f32>; // [T, D]

// Pass 4: query t's outputs in head h, weights (att at `row`) · values over the keys s ≤ t.
fn head_values(t: u32, h: u32, row: u32) {
  let col = h * HD;
  for (var j = 0u; j < HD; j++) {
    var acc = 0.0;
    for (var s = 0u; s <= t; s++) {
      acc += att[row + s] * qkv[s * 3u * D + 2u * D + col + j];
    }
    z[t * D + col + j] = acc;
  }
}

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x < params.rows && gid.y < H) {
    // Query gid.x of head gid.y: passes 1–3 (softmax_thread.wgsl), then pass 4.
    head_values(gid.x, gid.y, softmax_row(gid.x, gid.y, params.rows));
  }
}
