// track_count_vec4 — track_count (token tracking, part 2) for D % 4 == 0 on CPU fallback adapters:
// for track rows r0..r0+7 and one vocabulary chunk of one wte part,
//   rank[i, r] += #{ v in the chunk : v ≠ ids[i] and x[lens_row(r)] · wte[v] > tracked[i, r] }
// added up across chunks and parts by atomics (rank cleared before the first part). Same result
// as track_count.wgsl; the logits are computed as in unembed_topk_vec4.wgsl (8 rows × 8 tokens per
// step in 16 named vec4 registers: SwiftShader keeps neither unrolled loops nor dynamically indexed
// arrays in registers, and every lane-varying load is a gather).
//   x: (lens rows, D/4) vec4 after ln_f; wte: one part, (VOCAB_COUNT, D/4) vec4; ids: (n_ids);
//   points: (tracked points) lens point indices (lens_row(r) = points[r / T]·T + r % T);
//   tracked: (n_ids, rows) f32; rank: (n_ids, rows) u32.
// Dispatch: (ceil(chunks in this part / WG_X), ceil(rows / 8), 1). Rows past the end are clamped on
// read and never counted; tokens past the chunk are masked. No barriers, no workgroup memory.
alias weight_t = f32;

override D: u32; // a multiple of 4
override CHUNK: u32 = 1024u; // a multiple of 8
override VOCAB_START: u32 = 0u;
override VOCAB_COUNT: u32;
override WG_X: u32 = 16u;

// At most this many tokens tracked at once (maxTrackedTokens in src/engine/cost.ts).
const MAX_IDS: u32 = 16u;
const ROWS: u32 = 8u; // track rows per thread

struct Params {
  rows: u32, // tracked points · T
  T: u32,
  n_ids: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<vec4f>; // (lens rows, D/4)
@group(0) @binding(2) var<storage, read> wte: array<vec4<weight_t>>; // (VOCAB_COUNT, D/4)
@group(0) @binding(3) var<storage, read> ids: array<u32>; // (n_ids)
@group(0) @binding(4) var<storage, read> points: array<u32>; // (tracked points)
@group(0) @binding(5) var<storage, read> tracked: array<f32>; // (n_ids, rows)
@group(0) @binding(6) var<storage, read_write> rank: array<atomic<u32>>; // (n_ids, rows)

/** (a·b0, a·b1, a·b2, a·b3) */
fn dots(a: vec4f, b0: vec4f, b1: vec4f, b2: vec4f, b3: vec4f) -> vec4f {
  return vec4f(dot(a, b0), dot(a, b1), dot(a, b2), dot(a, b3));
}

/** The lens-stack offset (in vec4) of track row r, clamped to the last row. */
fn x_at(r: u32, r_last: u32, T: u32, D4: u32) -> u32 {
  let rr = min(r, r_last);
  return (points[rr / T] * T + rr % T) * D4;
}

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let rows = params.rows;
  let T = params.T;
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
  let n = min(params.n_ids, MAX_IDS);
  let x0 = x_at(r0, r_last, T, D4);
  let x1 = x_at(r0 + 1u, r_last, T, D4);
  let x2 = x_at(r0 + 2u, r_last, T, D4);
  let x3 = x_at(r0 + 3u, r_last, T, D4);
  let x4 = x_at(r0 + 4u, r_last, T, D4);
  let x5 = x_at(r0 + 5u, r_last, T, D4);
  let x6 = x_at(r0 + 6u, r_last, T, D4);
  let x7 = x_at(r0 + 7u, r_last, T, D4);
  // Per (row i, tracked token k), at i·MAX_IDS + k: its logit and the count so far.
  var tl: array<f32, ROWS * MAX_IDS>;
  var count: array<u32, ROWS * MAX_IDS>;
  for (var i = 0u; i < ROWS; i++) {
    let r = min(r0 + i, r_last);
    for (var k = 0u; k < n; k++) {
      tl[i * MAX_IDS + k] = tracked[k * rows + r];
      count[i * MAX_IDS + k] = 0u;
    }
  }
  for (var v0 = v_begin; v0 < v_end; v0 += 8u) {
    // Tokens v0..v0+7, clamped to the chunk's last on read; masked out of the counts below.
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
    for (var half = 0u; half < 2u; half++) {
      let vh = VOCAB_START + v0 + 4u * half; // global ids of tokens vh..vh+3
      let vs = vec4u(vh) + vec4u(0u, 1u, 2u, 3u);
      let in_chunk = vs < vec4u(VOCAB_START + v_end);
      for (var k = 0u; k < n; k++) {
        let counted = in_chunk & (vs != vec4u(ids[k]));
        for (var i = 0u; i < ROWS; i++) {
          let above = counted & (ls[half * ROWS + i] > vec4f(tl[i * MAX_IDS + k]));
          count[i * MAX_IDS + k] += dot(select(vec4u(0u), vec4u(1u), above), vec4u(1u));
        }
      }
    }
  }
  for (var i = 0u; i < ROWS; i++) {
    let r = r0 + i;
    if (r >= rows) {
      break;
    }
    for (var k = 0u; k < n; k++) {
      let c = count[i * MAX_IDS + k];
      if (c > 0u) {
        atomicAdd(&rank[k * rows + r], c);
      }
    }
  }
}
