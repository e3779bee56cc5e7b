// track_count_tiled — track_count (token tracking, part 2) for real GPUs: for 64 track rows and
// one vocabulary chunk of one wte part,
//   rank[i, r] += #{ v in the chunk : v ≠ ids[i] and x[lens_row(r)] · wte[v] > tracked[i, r] }
// added up across chunks and parts by atomics (rank cleared before the first part). Same result
// as track_count.wgsl; the logits come tile by tile from lens_tile.wgsl (prepended).
//   x: [lens rows, D] f32 after ln_f; wte: one part, [VOCAB_COUNT, D]; ids: [n_ids];
//   points: [tracked points] lens point indices (lens_row(r) = points[r / T]·T + r % T);
//   tracked: [n_ids, rows] f32; rank: [n_ids, rows] u32.
// Dispatch: (ceil(chunks in this part), ceil(rows / 64), 1) workgroups of 16×16 threads. Counts go
// to workgroup atomics first, then one global atomic per (row, tracked token) and workgroup.
alias weight_t = f32;

// params (binding 0), MAX_IDS, lens_row: track_common.wgsl; x, wte, ids, points (1–4):
// track_inputs.wgsl; D, CHUNK, VOCAB_START, VOCAB_COUNT and part_chunk: lens_part.wgsl and wte_part.wgsl (all
// prepended, with lens_tile.wgsl).
@group(0) @binding(5) var<storage, read> tracked: array<f32>; // [n_ids, rows]
@group(0) @binding(6) var<storage, read_write> rank: array<atomic<u32>>; // [n_ids, rows]

var<workgroup> counts: array<atomic<u32>, TILE * MAX_IDS>; // [64 rows, tracked tokens], zeroed at start

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let rows = params.rows;
  let row0 = wg.y * TILE;
  let chunk = part_chunk(wg.x);
  if (row0 >= rows || chunk.begin >= chunk.end) {
    return; // the whole workgroup: no barrier is left waiting
  }
  let v_end = chunk.end;
  let n = min(params.n_ids, MAX_IDS);
  let tid = lid.y * 16u + lid.x;
  // This thread's 4 rows' tracked logits (rows past the end are never counted).
  var tl: array<f32, 4 * MAX_IDS>;
  for (var i = 0u; i < 4u; i++) {
    let r = min(row0 + lid.y * 4u + i, rows - 1u);
    for (var k = 0u; k < n; k++) {
      tl[i * MAX_IDS + k] = tracked[k * rows + r];
    }
  }
  var count: array<u32, 4 * MAX_IDS>;
  for (var v0 = chunk.begin; v0 < v_end; v0 += TILE) {
    let acc = lens_tile(row0, rows, v0, v_end, lid);
    for (var j = 0u; j < 4u; j++) {
      let v = v0 + lid.x * 4u + j;
      if (v < v_end) {
        for (var k = 0u; k < n; k++) {
          let not_self = VOCAB_START + v != ids[k];
          for (var i = 0u; i < 4u; i++) {
            if (not_self && acc[i][j] > tl[i * MAX_IDS + k]) {
              count[i * MAX_IDS + k]++;
            }
          }
        }
      }
    }
  }
  for (var i = 0u; i < 4u; i++) {
    for (var k = 0u; k < n; k++) {
      let c = count[i * MAX_IDS + k];
      if (c > 0u) {
        atomicAdd(&counts[(lid.y * 4u + i) * MAX_IDS + k], c);
      }
    }
  }
  workgroupBarrier();
  for (var e = tid; e < TILE * n; e += 256u) {
    let r = row0 + e / n;
    let k = e % n;
    let c = atomicLoad(&counts[(e / n) * MAX_IDS + k]);
    if (r < rows && c > 0u) {
      atomicAdd(&rank[k * rows + r], c);
    }
  }
}
