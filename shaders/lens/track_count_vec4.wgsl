// track_count_vec4 — track_count (token tracking, part 2) for D % 4 == 0 on CPU fallback adapters:
// for track rows r0..r0+7 and one vocabulary chunk of one wte part,
//   rank[i, r] += #{ v in the chunk : v ≠ ids[i] and x[lens_row(r)] · wte[v] > tracked[i, r] }
// added up across chunks and parts by atomics (rank cleared before the first part). Same result
// as track_count.wgsl; the logits come 8 rows × 8 tokens at a time from lens_block_vec4.wgsl
// (prepended), as in unembed_topk_vec4.wgsl.
//   x: [lens rows, D/4] vec4 after ln_f; wte: one part, [VOCAB_COUNT, D/4] vec4; ids: [n_ids];
//   points: [tracked points] lens point indices (lens_row(r) = points[r / T]·T + r % T);
//   tracked: [n_ids, rows] f32; rank: [n_ids, rows] u32.
// Dispatch: (ceil(chunks in this part / WG_X), ceil(rows / 8), 1). Rows past the end are clamped on
// read and never counted; tokens past the chunk are masked. No barriers, no workgroup memory.
alias weight_t = f32;

override D: u32; // a multiple of 4
override CHUNK: u32 = 1024u; // a multiple of 8
override VOCAB_START: u32 = 0u;
override VOCAB_COUNT: u32;
override WG_X: u32 = 16u;

const ROWS: u32 = 8u; // track rows per thread

// params (binding 0), MAX_IDS, lens_row: track_common.wgsl (prepended, with lens_block_vec4.wgsl).
@group(0) @binding(1) var<storage, read> x: array<vec4f>; // [lens rows, D/4]
@group(0) @binding(2) var<storage, read> wte: array<vec4<weight_t>>; // [VOCAB_COUNT, D/4]
@group(0) @binding(3) var<storage, read> ids: array<u32>; // [n_ids]
@group(0) @binding(4) var<storage, read> points: array<u32>; // [tracked points]
@group(0) @binding(5) var<storage, read> tracked: array<f32>; // [n_ids, rows]
@group(0) @binding(6) var<storage, read_write> rank: array<atomic<u32>>; // [n_ids, rows]

/** The lens-stack offset (in vec4) of track row r, clamped to the last row. */
fn x_at(r: u32, r_last: u32, D4: u32) -> u32 {
  return lens_row(min(r, r_last)) * D4;
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
  let n = min(params.n_ids, MAX_IDS);
  let xa = vec4u(
    x_at(r0, r_last, D4),
    x_at(r0 + 1u, r_last, D4),
    x_at(r0 + 2u, r_last, D4),
    x_at(r0 + 3u, r_last, D4),
  );
  let xb = vec4u(
    x_at(r0 + 4u, r_last, D4),
    x_at(r0 + 5u, r_last, D4),
    x_at(r0 + 6u, r_last, D4),
    x_at(r0 + 7u, r_last, D4),
  );
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
    let wa = min(vec4u(v0) + vec4u(0u, 1u, 2u, 3u), vec4u(v_last)) * D4;
    let wb = min(vec4u(v0) + vec4u(4u, 5u, 6u, 7u), vec4u(v_last)) * D4;
    // ls[i]: logits of tokens v0..v0+3 for row r0+i; ls[8 + i]: tokens v0+4..v0+7.
    let ls = lens_block(xa, xb, wa, wb);
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
