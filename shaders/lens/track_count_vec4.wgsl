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

override WG_X: u32 = 16u;

// params (binding 0), MAX_IDS, lens_row: track_common.wgsl; D, CHUNK, VOCAB_START, VOCAB_COUNT and
// part_chunk: lens_part.wgsl and wte_part.wgsl; ROWS (track rows per thread), block_rows and lens_block:
// lens_block_vec4.wgsl (all prepended).
@group(0) @binding(1) var<storage, read> x: array<vec4f>; // [lens rows, D/4]
@group(0) @binding(2) var<storage, read> wte: array<vec4<weight_t>>; // [VOCAB_COUNT, D/4]
@group(0) @binding(3) var<storage, read> ids: array<u32>; // [n_ids]
@group(0) @binding(4) var<storage, read> points: array<u32>; // [tracked points]
@group(0) @binding(5) var<storage, read> tracked: array<f32>; // [n_ids, rows]
@group(0) @binding(6) var<storage, read_write> rank: array<atomic<u32>>; // [n_ids, rows]

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let rows = params.rows;
  let r0 = gid.y * ROWS;
  let chunk = part_chunk(gid.x);
  if (r0 >= rows || chunk.begin >= chunk.end) {
    return;
  }
  let v_end = chunk.end;
  let r_last = rows - 1u;
  let n = min(params.n_ids, MAX_IDS);
  let xs = block_rows(r0, rows);
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
  for (var v0 = chunk.begin; v0 < v_end; v0 += 8u) {
    // ls[i]: logits of tokens v0..v0+3 for row r0+i; ls[8 + i]: tokens v0+4..v0+7 (those past the
    // chunk are masked out of the counts below).
    let ls = lens_block(xs, v0, v_end);
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
