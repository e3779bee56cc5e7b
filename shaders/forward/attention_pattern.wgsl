// attention_pattern — a module without an entry point, prepended to attention_softmax.wgsl,
// attention_softmax_rows.wgsl and the fused attention_fused*.wgsl (with rows_uniform.wgsl: params,
// rows = T; all but attention_fused_vec4 also take attention_qk.wgsl: the shapes, qkv and the
// score): the scratch and capture bindings both write, and the last pass of the causal softmax over
// one attention row. The including kernel declares WG_X.
// The 8-bit capture format stores √p (decoded as stored²): more levels near 0, where most weights are.
override SQRT_ENCODE: bool = false;

@group(0) @binding(2) var<storage, read_write> att: array<f32>; // [H, T, T]
@group(0) @binding(3) var pattern: texture_storage_2d_array<rgba32float, write>; // [ceil(Tcap/4), Tcap] × H

// Keys s0..s0+3 (those below T) of the row at `row` in att, query t of head h: normalized by inv
// where s ≤ t, 0 where masked, written back to att and as one texel (s0 / 4, t) of `pattern`
// (√p when SQRT_ENCODE, for the 8-bit format).
fn store_keys(row: u32, t: u32, h: u32, s0: u32, T: u32, inv: f32) {
  var texel = vec4f(0.0);
  for (var i = 0u; i < 4u; i++) {
    let s = s0 + i;
    if (s < T) {
      let p = select(0.0, att[row + s] * inv, s <= t);
      att[row + s] = p;
      texel[i] = select(p, sqrt(p), SQRT_ENCODE);
    }
  }
  textureStore(pattern, vec2u(s0 / 4u, t), h, texel);
}
