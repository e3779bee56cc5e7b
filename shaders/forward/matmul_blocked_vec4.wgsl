// matmul_blocked_vec4 — out = epilogue(a · w + bias), the variant for CPU fallback adapters when
// K % 4 == 0 and N % 4 == 0 (matmul_blocked.wgsl covers the other shapes).
//   a: (M, K) f32 activations, row-major, read as vec4 along K; w: (K, N) weights in Conv1D layout
//   [in, out], read as vec4 along N; bias: (N); residual, out: (M, N) f32 as vec4 along N.
//   M = params.rows at run time; K and N are override constants per weight.
// EPILOGUE: 0 none, 1 gelu_new (tanh form), 2 residual add (out = residual + a·w + bias).
// Dispatch: (ceil(N / (8·WG_X)), ceil(M / 8), 1) workgroups of WG_X threads. Each thread owns an
// 8×8 block of out (rows r0..r0+7, column groups c0 and c0+1 of 4 columns) in 16 vec4 registers;
// per 4 steps of K it loads 8 vec4 of a and 8 of w for 256 multiply-adds. Why this shape:
// SwiftShader turns every lane-varying load into a per-lane gather that costs far more than the
// arithmetic, and it neither unrolls loops nor keeps dynamically indexed arrays in registers; so
// the block is large, every register a named variable, and there is no workgroup memory and no
// barrier (docs/webgpu-on-cpu.md: 1.4-2.9x faster there than the 4×4 scalar-load kernel). 8×16 runs ~15%
// faster still on SwiftShader, but lavapipe (also a fallback adapter) then takes ~15 s to compile
// each pipeline instead of ~5 s. Rows and column groups past the end are clamped on read (wasted
// work, not wrong) and never stored.
alias weight_t = f32;

override WG_X: u32 = 16u;

// K, N, EPILOGUE, ROWS, the bindings a, w, bias, residual, out, epilogue() and step4():
// matmul_vec4_common.wgsl; params (rows = M): rows_uniform.wgsl (both prepended).

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
  // pI: row r0+I, column group c0; qI: row r0+I, column group c1.
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
    let x0 = a[a0 + k4];
    p0 += step4(x0, u0, u1, u2, u3);
    q0 += step4(x0, v0, v1, v2, v3);
    let x1 = a[a1 + k4];
    p1 += step4(x1, u0, u1, u2, u3);
    q1 += step4(x1, v0, v1, v2, v3);
    let x2 = a[a2 + k4];
    p2 += step4(x2, u0, u1, u2, u3);
    q2 += step4(x2, v0, v1, v2, v3);
    let x3 = a[a3 + k4];
    p3 += step4(x3, u0, u1, u2, u3);
    q3 += step4(x3, v0, v1, v2, v3);
    let x4 = a[a4 + k4];
    p4 += step4(x4, u0, u1, u2, u3);
    q4 += step4(x4, v0, v1, v2, v3);
    let x5 = a[a5 + k4];
    p5 += step4(x5, u0, u1, u2, u3);
    q5 += step4(x5, v0, v1, v2, v3);
    let x6 = a[a6 + k4];
    p6 += step4(x6, u0, u1, u2, u3);
    q6 += step4(x6, v0, v1, v2, v3);
    let x7 = a[a7 + k4];
    p7 += step4(x7, u0, u1, u2, u3);
    q7 += step4(x7, v0, v1, v2, v3);
  }
  let ps = array<vec4f, ROWS>(p0, p1, p2, p3, p4, p5, p6, p7);
  let qs = array<vec4f, ROWS>(q0, q1, q2, q3, q4, q5, q6, q7);
  let bp = vec4f(bias[c0]);
  let bq = vec4f(bias[c1]);
  let has_q = c0 + 1u < N4;
  for (var i = 0u; i < ROWS; i++) {
    let r = r0 + i;
    if (r >= m_total) {
      break;
    }
    let idx = r * N4 + c0;
    out[idx] = epilogue(ps[i] + bp, idx);
    if (has_q) {
      out[idx + 1u] = epilogue(qs[i] + bq, idx + 1u);
    }
  }
}
