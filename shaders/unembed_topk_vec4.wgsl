// unembed_topk_vec4 — unembed_topk (the logit lens, part 1) for D % 4 == 0 on CPU fallback
// adapters: for lens rows r0..r0+7 (residual rows after ln_f) and vocabulary chunk c, logits
// l_v = x_r · wte[v] for v in the chunk (tied unembedding), and of them per row: the running max,
// Σ exp(l_v − max), and the TOPK largest (id, logit). Same outputs as unembed_topk.wgsl.
//   x: (rows, D) f32, read as vec4 along D; wte: one part of the embedding, rows
//   [VOCAB_START, VOCAB_START + VOCAB_COUNT), read as vec4 along D.
//   partial: (rows, N_CHUNKS, 2 + 2·TOPK) f32: [max, sumexp, logit_0..logit_{K-1}, id_0..id_{K-1}]
//            (ids as bit patterns), chunk index global over all parts.
//   logits: (V) f32, `logits_last`: the full logits of the stack's last row, which is the last
//            position of the final residual stream (the lens points are stacked in depth order and
//            the final stream is always the last); written here because this kernel computes them
//            anyway, instead of by a separate unembed_logits pass.
// Dispatch: (ceil(chunks in this part / WG_X), ceil(rows / 8), 1); each thread owns 8 rows × one
// chunk and walks the chunk 8 tokens at a time: 64 logits in 16 vec4 registers per step, each
// loaded vec4 of x used 8 times and of wte 8 times. SwiftShader turns every lane-varying load into
// a per-lane gather that costs far more than the arithmetic, and keeps neither unrolled loops nor
// dynamically indexed arrays in registers: hence the named variables. 7-20x faster there than one
// (row, chunk) per thread with scalar loads. No barriers, no workgroup memory. Rows past the end
// are clamped on read (wasted work, not wrong) and never stored; so are tokens past the chunk.
alias weight_t = f32;

override D: u32; // a multiple of 4
override CHUNK: u32 = 256u; // a multiple of 8
override N_CHUNKS: u32; // over the whole vocabulary
override VOCAB_START: u32 = 0u; // a multiple of CHUNK
override VOCAB_COUNT: u32;
override TOPK: u32 = 5u;
override WG_X: u32 = 16u;

const MAX_K: u32 = 16u;
const ROWS: u32 = 8u; // lens rows per thread
const NEG: f32 = -3.0e38;

struct Params {
  rows: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4f>; // (rows, D/4)
@group(0) @binding(2) var<storage, read> wte: array<vec4<weight_t>>; // (VOCAB_COUNT, D/4)
@group(0) @binding(3) var<storage, read_write> partial: array<f32>; // (rows, N_CHUNKS, 2 + 2·TOPK)
@group(0) @binding(4) var<storage, read_write> logits: array<f32>; // (V)

/** (a·b0, a·b1, a·b2, a·b3) */
fn dots(a: vec4f, b0: vec4f, b1: vec4f, b2: vec4f, b3: vec4f) -> vec4f {
  return vec4f(dot(a, b0), dot(a, b1), dot(a, b2), dot(a, b3));
}

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let rows = params.rows;
  let local_chunk = gid.x;
  let r0 = gid.y * ROWS;
  let v_begin = local_chunk * CHUNK;
  if (r0 >= rows || v_begin >= VOCAB_COUNT) {
    return;
  }
  let v_end = min(v_begin + CHUNK, VOCAB_COUNT);
  let v_last = v_end - 1u;
  let D4 = D / 4u;
  let r_last = rows - 1u;
  let x0 = r0 * D4;
  let x1 = min(r0 + 1u, r_last) * D4;
  let x2 = min(r0 + 2u, r_last) * D4;
  let x3 = min(r0 + 3u, r_last) * D4;
  let x4 = min(r0 + 4u, r_last) * D4;
  let x5 = min(r0 + 5u, r_last) * D4;
  let x6 = min(r0 + 6u, r_last) * D4;
  let x7 = min(r0 + 7u, r_last) * D4;
  // Per row i: softmax stats m, s; the top-k sorted descending in top_l[i·MAX_K ..] (ties keep the
  // lower id first); thr[i], its TOPK-th logit, the bar a new logit must pass.
  var m: array<f32, ROWS>;
  var s: array<f32, ROWS>;
  var thr: array<f32, ROWS>;
  var top_l: array<f32, ROWS * MAX_K>;
  var top_i: array<u32, ROWS * MAX_K>;
  for (var i = 0u; i < ROWS; i++) {
    m[i] = NEG;
    s[i] = 0.0;
    thr[i] = NEG;
    for (var k = 0u; k < TOPK; k++) {
      top_l[i * MAX_K + k] = NEG;
      top_i[i * MAX_K + k] = 0u;
    }
  }
  for (var v0 = v_begin; v0 < v_end; v0 += 8u) {
    // Tokens v0..v0+7, clamped to the chunk's last on read; masked out of the stats below.
    let w0 = v0 * D4;
    let w1 = min(v0 + 1u, v_last) * D4;
    let w2 = min(v0 + 2u, v_last) * D4;
    let w3 = min(v0 + 3u, v_last) * D4;
    let w4 = min(v0 + 4u, v_last) * D4;
    let w5 = min(v0 + 5u, v_last) * D4;
    let w6 = min(v0 + 6u, v_last) * D4;
    let w7 = min(v0 + 7u, v_last) * D4;
    // lI: logits of tokens v0..v0+3 for row r0+I; hI: tokens v0+4..v0+7.
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
    for (var d = 0u; d < D4; d++) {
      let b0 = vec4f(wte[w0 + d]);
      let b1 = vec4f(wte[w1 + d]);
      let b2 = vec4f(wte[w2 + d]);
      let b3 = vec4f(wte[w3 + d]);
      let b4 = vec4f(wte[w4 + d]);
      let b5 = vec4f(wte[w5 + d]);
      let b6 = vec4f(wte[w6 + d]);
      let b7 = vec4f(wte[w7 + d]);
      let a0 = x[x0 + d];
      l0 += dots(a0, b0, b1, b2, b3);
      h0 += dots(a0, b4, b5, b6, b7);
      let a1 = x[x1 + d];
      l1 += dots(a1, b0, b1, b2, b3);
      h1 += dots(a1, b4, b5, b6, b7);
      let a2 = x[x2 + d];
      l2 += dots(a2, b0, b1, b2, b3);
      h2 += dots(a2, b4, b5, b6, b7);
      let a3 = x[x3 + d];
      l3 += dots(a3, b0, b1, b2, b3);
      h3 += dots(a3, b4, b5, b6, b7);
      let a4 = x[x4 + d];
      l4 += dots(a4, b0, b1, b2, b3);
      h4 += dots(a4, b4, b5, b6, b7);
      let a5 = x[x5 + d];
      l5 += dots(a5, b0, b1, b2, b3);
      h5 += dots(a5, b4, b5, b6, b7);
      let a6 = x[x6 + d];
      l6 += dots(a6, b0, b1, b2, b3);
      h6 += dots(a6, b4, b5, b6, b7);
      let a7 = x[x7 + d];
      l7 += dots(a7, b0, b1, b2, b3);
      h7 += dots(a7, b4, b5, b6, b7);
    }
    let ls = array<vec4f, 2u * ROWS>(l0, l1, l2, l3, l4, l5, l6, l7, h0, h1, h2, h3, h4, h5, h6, h7);
    // The last row's logits go out whole (logits_last).
    let last = rows - 1u - r0;
    if (last < ROWS) {
      for (var half = 0u; half < 2u; half++) {
        let l = ls[half * ROWS + last];
        for (var j = 0u; j < 4u; j++) {
          let v = v0 + 4u * half + j;
          if (v < v_end) {
            logits[VOCAB_START + v] = l[j];
          }
        }
      }
    }
    for (var half = 0u; half < 2u; half++) {
      let vh = v0 + 4u * half; // tokens vh..vh+3
      let past_end = vec4u(vh) + vec4u(0u, 1u, 2u, 3u) >= vec4u(v_end);
      for (var i = 0u; i < ROWS; i++) {
        let l = select(ls[half * ROWS + i], vec4f(NEG), past_end);
        // Online softmax denominator.
        let m_new = max(m[i], max(max(l.x, l.y), max(l.z, l.w)));
        s[i] = s[i] * exp(m[i] - m_new) + dot(exp(l - m_new), vec4f(1.0));
        m[i] = m_new;
        // Insertion into the sorted top-k, tokens in increasing id order.
        if (any(l > vec4f(thr[i]))) {
          for (var j = 0u; j < 4u; j++) {
            let lj = l[j];
            if (lj > thr[i]) {
              let base = i * MAX_K;
              var k = TOPK - 1u;
              while (k > 0u && lj > top_l[base + k - 1u]) {
                top_l[base + k] = top_l[base + k - 1u];
                top_i[base + k] = top_i[base + k - 1u];
                k--;
              }
              top_l[base + k] = lj;
              top_i[base + k] = VOCAB_START + vh + j;
              thr[i] = top_l[base + TOPK - 1u];
            }
          }
        }
      }
    }
  }
  let stride = 2u + 2u * TOPK;
  for (var i = 0u; i < ROWS; i++) {
    let r = r0 + i;
    if (r >= rows) {
      break;
    }
    let o = (r * N_CHUNKS + VOCAB_START / CHUNK + local_chunk) * stride;
    partial[o] = m[i];
    partial[o + 1u] = s[i];
    for (var k = 0u; k < TOPK; k++) {
      partial[o + 2u + k] = top_l[i * MAX_K + k];
      partial[o + 2u + TOPK + k] = bitcast<f32>(top_i[i * MAX_K + k]);
    }
  }
}
