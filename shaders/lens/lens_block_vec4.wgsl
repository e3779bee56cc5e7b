// lens_block_vec4 — a module without an entry point, prepended to unembed_topk_vec4.wgsl and
// track_count_vec4.wgsl (the lens kernels for CPU fallback adapters): the logits of 8 lens rows ×
// 8 tokens, l[r, v] = x[r] · wte[v], in 16 vec4 accumulators. Each loaded vec4 of x is used 8
// times and of wte 8 times. SwiftShader turns every lane-varying load into a per-lane gather that
// costs far more than the arithmetic, and keeps neither unrolled loops nor dynamically indexed
// arrays in registers: hence the named variables. No barriers, no workgroup memory.
// The including kernel declares `x: array<vec4f>`, `wte: array<vec4<weight_t>>` and `fn lens_row(r:
// u32) -> u32` (which row of x lens row r reads); D comes from lens_part.wgsl.

const ROWS: u32 = 8u; // lens rows per thread

/** The vec4 offset in x of lens row r, clamped to the last row (read, never stored). */
fn block_row(r: u32, r_last: u32) -> u32 {
  return lens_row(min(r, r_last)) * (D / 4u);
}

/** The vec4 offsets in x of lens rows r0..r0+3 (at 0) and r0+4..r0+7 (at 1), for lens_block. */
fn block_rows(r0: u32, rows: u32) -> array<vec4u, 2> {
  let r_last = rows - 1u;
  return array<vec4u, 2>(
    vec4u(block_row(r0, r_last), block_row(r0 + 1u, r_last), block_row(r0 + 2u, r_last), block_row(r0 + 3u, r_last)),
    vec4u(block_row(r0 + 4u, r_last), block_row(r0 + 5u, r_last), block_row(r0 + 6u, r_last), block_row(r0 + 7u, r_last)),
  );
}

/** (a·b0, a·b1, a·b2, a·b3) */
fn dots(a: vec4f, b0: vec4f, b1: vec4f, b2: vec4f, b3: vec4f) -> vec4f {
  return vec4f(dot(a, b0), dot(a, b1), dot(a, b2), dot(a, b3));
}

// Rows at vec4 offsets xs[0] (rows 0-3) and xs[1] (rows 4-7) of x (block_rows), tokens v0..v0+7 of
// this wte part, those at or past v_end read as v_end − 1 (the caller masks them). Returns, at i:
// row i's logits of tokens v0..v0+3; at 8 + i: of tokens v0+4..v0+7.
fn lens_block(xs: array<vec4u, 2>, v0: u32, v_end: u32) -> array<vec4f, 16> {
  let xa = xs[0];
  let xb = xs[1];
  let wa = min(vec4u(v0) + vec4u(0u, 1u, 2u, 3u), vec4u(v_end - 1u)) * (D / 4u);
  let wb = min(vec4u(v0) + vec4u(4u, 5u, 6u, 7u), vec4u(v_end - 1u)) * (D / 4u);
  // Unrolled on purpose (see the header): 16 named accumulators and 8 named rows, not arrays or a
  // loop over rows, so that SwiftShader keeps them in registers. Keep it written out.
  var l0 = vec4f(0.0);
  var h0 = vec4f(0.0);
  var l1 = vec4f(0.0);
  var h1 = vec4f(0.0);
  var l2 = vec4f(0.0);
  var h2 = vec4f(0.0);
  var l3 = vec4f(0.0);
  var h3 = vec4f(0.0);
  var l4 = vec4f(0.0);
  var h4 = vec4f(0.0);
  var l5 = vec4f(0.0);
  var h5 = vec4f(0.0);
  var l6 = vec4f(0.0);
  var h6 = vec4f(0.0);
  var l7 = vec4f(0.0);
  var h7 = vec4f(0.0);
  for (var d = 0u; d < D / 4u; d++) {
    let b0 = vec4f(wte[wa.x + d]);
    let b1 = vec4f(wte[wa.y + d]);
    let b2 = vec4f(wte[wa.z + d]);
    let b3 = vec4f(wte[wa.w + d]);
    let b4 = vec4f(wte[wb.x + d]);
    let b5 = vec4f(wte[wb.y + d]);
    let b6 = vec4f(wte[wb.z + d]);
    let b7 = vec4f(wte[wb.w + d]);
    let a0 = x[xa.x + d];
    l0 += dots(a0, b0, b1, b2, b3);
    h0 += dots(a0, b4, b5, b6, b7);
    let a1 = x[xa.y + d];
    l1 += dots(a1, b0, b1, b2, b3);
    h1 += dots(a1, b4, b5, b6, b7);
    let a2 = x[xa.z + d];
    l2 += dots(a2, b0, b1, b2, b3);
    h2 += dots(a2, b4, b5, b6, b7);
    let a3 = x[xa.w + d];
    l3 += dots(a3, b0, b1, b2, b3);
    h3 += dots(a3, b4, b5, b6, b7);
    let a4 = x[xb.x + d];
    l4 += dots(a4, b0, b1, b2, b3);
    h4 += dots(a4, b4, b5, b6, b7);
    let a5 = x[xb.y + d];
    l5 += dots(a5, b0, b1, b2, b3);
    h5 += dots(a5, b4, b5, b6, b7);
    let a6 = x[xb.z + d];
    l6 += dots(a6, b0, b1, b2, b3);
    h6 += dots(a6, b4, b5, b6, b7);
    let a7 = x[xb.w + d];
    l7 += dots(a7, b0, b1, b2, b3);
    h7 += dots(a7, b4, b5, b6, b7);
  }
  return array<vec4f, 16>(l0, l1, l2, l3, l4, l5, l6, l7, h0, h1, h2, h3, h4, h5, h6, h7);
}
