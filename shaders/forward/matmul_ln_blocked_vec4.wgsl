// matmul_ln_blocked_vec4 — out = epilogue(LayerNorm(a) · w + bias), matmul_blocked_vec4.wgsl with
//   the LayerNorm before it folded in (ln_1 → attn.c_attn, ln_2 → mlp.c_fc), the variant for CPU
//   fallback adapters when K % 4 == 0 and N % 4 == 0 (matmul_ln_blocked.wgsl covers the others).
//   a: (M, K/4) vec4, the residual stream (the LayerNorm's input); w: (K, N/4) in Conv1D layout;
//   bias: (N/4); gamma, beta: (K/4); out: (M, N/4). EPILOGUE 0 none, 1 gelu_new.
// The fold: with y = x − x[0] (each row shifted by its first value, so that the one-pass variance
// below does not cancel when the mean is large), μ = mean(y), var = mean(y²) − μ² (biased),
// rstd = 1 / sqrt(var + EPS):
//   LayerNorm(x) · w + bias = rstd · (Σ_k y_k·γ_k·w_k − μ · Σ_k γ_k·w_k) + Σ_k β_k·w_k + bias,
// so the main loop reads a once, as matmul_blocked_vec4.wgsl does, and gathers the rows' Σy and Σy²
// and the columns' Σγw and Σβw on the way (4 more vec4 steps per 16, 2 more loads per 16): no
// prologue pass over a, no LayerNorm output written or read, no barrier.
// Dispatch: (ceil(N / (8·WG_X)), ceil(M / 8), 1) workgroups of WG_X threads; each thread owns an
// 8×8 block of out (rows r0..r0+7, column groups c0 and c0+1), as matmul_blocked_vec4.wgsl (why
// this shape: there). Rows and column groups past the end are clamped on read and never stored.
// Reference: layerNorm and linear in src/model/reference.ts.
alias weight_t = f32;

override EPS: f32 = 1e-5;
override WG_X: u32 = 16u;

// K, N, EPILOGUE, ROWS, the bindings a, w, bias, residual (unused: EPILOGUE 0 or 1), out, epilogue()
// and step4(): matmul_vec4_common.wgsl; params (rows = M): rows_uniform.wgsl (both prepended).
@group(0) @binding(7) var<storage, read> gamma: array<vec4<weight_t>>; // [K/4]
@group(0) @binding(8) var<storage, read> beta: array<vec4<weight_t>>; // [K/4]

/** (μ, rstd) of a row from Σy and Σy² of its shifted values (see the header). */
fn row_norm(sum: f32, sq: f32) -> vec2f {
  let mean = sum / f32(K);
  let variance = max(sq / f32(K) - mean * mean, 0.0);
  return vec2f(mean, inverseSqrt(variance + EPS));
}

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let m_total = params.rows;
  let N4 = N / 4u;
  let K4 = K / 4u;
  let c0 = gid.x * 2u; // column groups c0, c0 + 1: columns 4·c0 .. 4·c0 + 7
  let r0 = gid.y * ROWS;
  if (c0 >= N4 || r0 >= m_total) {
    return;
  }
  let c1 = min(c0 + 1u, N4 - 1u);
  let r_last = m_total - 1u;
  let a0 = r0 * K4;
  let a1 = min(r0 + 1u, r_last) * K4;
  let a2 = min(r0 + 2u, r_last) * K4;
  let a3 = min(r0 + 3u, r_last) * K4;
  let a4 = min(r0 + 4u, r_last) * K4;
  let a5 = min(r0 + 5u, r_last) * K4;
  let a6 = min(r0 + 6u, r_last) * K4;
  let a7 = min(r0 + 7u, r_last) * K4;
  // hI: row r0+I's shift; sI, nI: its Σy and Σy²; pI, qI: its accumulators, column groups c0 and c1.
  let h0 = a[a0].x;
  let h1 = a[a1].x;
  let h2 = a[a2].x;
  let h3 = a[a3].x;
  let h4 = a[a4].x;
  let h5 = a[a5].x;
  let h6 = a[a6].x;
  let h7 = a[a7].x;
  var s0 = 0.0;
  var s1 = 0.0;
  var s2 = 0.0;
  var s3 = 0.0;
  var s4 = 0.0;
  var s5 = 0.0;
  var s6 = 0.0;
  var s7 = 0.0;
  var n0 = 0.0;
  var n1 = 0.0;
  var n2 = 0.0;
  var n3 = 0.0;
  var n4 = 0.0;
  var n5 = 0.0;
  var n6 = 0.0;
  var n7 = 0.0;
  var p0 = vec4f(0.0);
  var p1 = vec4f(0.0);
  var p2 = vec4f(0.0);
  var p3 = vec4f(0.0);
  var p4 = vec4f(0.0);
  var p5 = vec4f(0.0);
  var p6 = vec4f(0.0);
  var p7 = vec4f(0.0);
  var q0 = vec4f(0.0);
  var q1 = vec4f(0.0);
  var q2 = vec4f(0.0);
  var q3 = vec4f(0.0);
  var q4 = vec4f(0.0);
  var q5 = vec4f(0.0);
  var q6 = vec4f(0.0);
  var q7 = vec4f(0.0);
  var gp = vec4f(0.0); // Σ γ·w, column group c0
  var gq = vec4f(0.0); // … c1
  var bp = vec4f(0.0); // Σ β·w, column group c0
  var bq = vec4f(0.0); // … c1
  for (var k4 = 0u; k4 < K4; k4++) {
    let wr = 4u * k4 * N4; // w row 4·k4
    let u0 = vec4f(w[wr + c0]);
    let u1 = vec4f(w[wr + N4 + c0]);
    let u2 = vec4f(w[wr + 2u * N4 + c0]);
    let u3 = vec4f(w[wr + 3u * N4 + c0]);
    let v0 = vec4f(w[wr + c1]);
    let v1 = vec4f(w[wr + N4 + c1]);
    let v2 = vec4f(w[wr + 2u * N4 + c1]);
    let v3 = vec4f(w[wr + 3u * N4 + c1]);
    let g = vec4f(gamma[k4]);
    let b = vec4f(beta[k4]);
    gp += step4(g, u0, u1, u2, u3);
    gq += step4(g, v0, v1, v2, v3);
    bp += step4(b, u0, u1, u2, u3);
    bq += step4(b, v0, v1, v2, v3);
    let y0 = a[a0 + k4] - h0;
    s0 += y0.x + y0.y + y0.z + y0.w;
    n0 += dot(y0, y0);
    let x0 = y0 * g;
    p0 += step4(x0, u0, u1, u2, u3);
    q0 += step4(x0, v0, v1, v2, v3);
    let y1 = a[a1 + k4] - h1;
    s1 += y1.x + y1.y + y1.z + y1.w;
    n1 += dot(y1, y1);
    let x1 = y1 * g;
    p1 += step4(x1, u0, u1, u2, u3);
    q1 += step4(x1, v0, v1, v2, v3);
    let y2 = a[a2 + k4] - h2;
    s2 += y2.x + y2.y + y2.z + y2.w;
    n2 += dot(y2, y2);
    let x2 = y2 * g;
    p2 += step4(x2, u0, u1, u2, u3);
    q2 += step4(x2, v0, v1, v2, v3);
    let y3 = a[a3 + k4] - h3;
    s3 += y3.x + y3.y + y3.z + y3.w;
    n3 += dot(y3, y3);
    let x3 = y3 * g;
    p3 += step4(x3, u0, u1, u2, u3);
    q3 += step4(x3, v0, v1, v2, v3);
    let y4 = a[a4 + k4] - h4;
    s4 += y4.x + y4.y + y4.z + y4.w;
    n4 += dot(y4, y4);
    let x4 = y4 * g;
    p4 += step4(x4, u0, u1, u2, u3);
    q4 += step4(x4, v0, v1, v2, v3);
    let y5 = a[a5 + k4] - h5;
    s5 += y5.x + y5.y + y5.z + y5.w;
    n5 += dot(y5, y5);
    let x5 = y5 * g;
    p5 += step4(x5, u0, u1, u2, u3);
    q5 += step4(x5, v0, v1, v2, v3);
    let y6 = a[a6 + k4] - h6;
    s6 += y6.x + y6.y + y6.z + y6.w;
    n6 += dot(y6, y6);
    let x6 = y6 * g;
    p6 += step4(x6, u0, u1, u2, u3);
    q6 += step4(x6, v0, v1, v2, v3);
    let y7 = a[a7 + k4] - h7;
    s7 += y7.x + y7.y + y7.z + y7.w;
    n7 += dot(y7, y7);
    let x7 = y7 * g;
    p7 += step4(x7, u0, u1, u2, u3);
    q7 += step4(x7, v0, v1, v2, v3);
  }
  let ps = array<vec4f, ROWS>(p0, p1, p2, p3, p4, p5, p6, p7);
  let qs = array<vec4f, ROWS>(q0, q1, q2, q3, q4, q5, q6, q7);
  let st = array<vec2f, ROWS>(row_norm(s0, n0), row_norm(s1, n1), row_norm(s2, n2), row_norm(s3, n3), row_norm(s4, n4), row_norm(s5, n5), row_norm(s6, n6), row_norm(s7, n7));
  let ep = bp + vec4f(bias[c0]);
  let eq = bq + vec4f(bias[c1]);
  let has_q = c0 + 1u < N4;
  for (var i = 0u; i < ROWS; i++) {
    let r = r0 + i;
    if (r >= m_total) {
      break;
    }
    let idx = r * N4 + c0;
    let norm = st[i];
    out[idx] = epilogue(norm.y * (ps[i] - norm.x * gp) + ep, idx);
    if (has_q) {
      out[idx + 1u] = epilogue(norm.y * (qs[i] - norm.x * gq) + eq, idx + 1u);
    }
  }
}
