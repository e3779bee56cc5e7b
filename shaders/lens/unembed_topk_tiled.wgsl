// unembed_topk_tiled — unembed_topk (the logit lens, part 1) for real GPUs: for 64 lens rows and
// one vocabulary chunk of CHUNK tokens, logits l_v = x_r · wte[v] (tied unembedding) computed tile
// by tile through workgroup memory (lens_tile.wgsl, prepended), and of them per row: the running
// max, Σ exp(l_v − max), and the TOPK largest (id, logit). Same outputs as unembed_topk.wgsl, plus
// `logits_last` (or `logits`) as unembed_topk_vec4.wgsl (rows written whole: lens_logits.wgsl).
//   x: (rows, D) f32 after ln_f; wte: one part of the embedding, rows [VOCAB_START, VOCAB_START +
//   VOCAB_COUNT); partial: (rows, N_CHUNKS, 2 + 2·TOPK) f32 [max, sumexp, logits.., ids..] (ids as
//   bit patterns), chunk index global over all parts; logits: (V) f32 logits_last, or (T, V) the
//   `logits` capture (lens_logits.wgsl, prepended).
// Dispatch: (ceil(chunks in this part), ceil(rows / 64), 1) workgroups of 16×16 threads. Each
// thread keeps the statistics and a top-k of its 4 rows over its 4 tokens of every 64-token tile;
// at the end of the chunk the 16 threads that share rows merge their lists through workgroup
// memory, one after another, into the first of them, which writes the partial.
alias weight_t = f32;

const MAX_K: u32 = 8u;
const NEG: f32 = -3.0e38;

// N_CHUNKS, TOPK and params (binding 0): topk_common.wgsl; D, CHUNK, VOCAB_START, VOCAB_COUNT and
// part_chunk: lens_part.wgsl and wte_part.wgsl (both prepended, with lens_tile.wgsl).
@group(0) @binding(1) var<storage, read> x: array<f32>; // (rows, D)
@group(0) @binding(2) var<storage, read> wte: array<weight_t>; // (VOCAB_COUNT, D)
@group(0) @binding(3) var<storage, read_write> partial: array<f32>; // (rows, N_CHUNKS, 2 + 2·TOPK)
@group(0) @binding(4) var<storage, read_write> logits: array<f32>; // (V) or (T, V): lens_logits.wgsl

fn lens_row(r: u32) -> u32 {
  return r;
}

// One thread's lists handed to the merging thread: (64 rows) × [max, sumexp], × TOPK logits / ids.
var<workgroup> hand_ms: array<vec2f, TILE>;
var<workgroup> hand_l: array<f32, TILE * MAX_K>;
var<workgroup> hand_i: array<u32, TILE * MAX_K>;

// Per thread: 4 rows' softmax stats and top-k lists (sorted descending, ties by lower id).
var<private> m: array<f32, 4>;
var<private> s: array<f32, 4>;
var<private> top_l: array<f32, 4 * MAX_K>;
var<private> top_i: array<u32, 4 * MAX_K>;

/** Folds (logit l, token id) into row i's stats and list. */
fn push(i: u32, l: f32, id: u32) {
  let m_new = max(m[i], l);
  s[i] = s[i] * exp(m[i] - m_new) + exp(l - m_new);
  m[i] = m_new;
  insert(i, l, id);
}

/** Inserts (l, id) into row i's top-k when it beats the last entry: higher logit, or equal and lower id. */
fn insert(i: u32, l: f32, id: u32) {
  let base = i * MAX_K;
  let last = base + TOPK - 1u;
  if (l < top_l[last] || (l == top_l[last] && id >= top_i[last])) {
    return;
  }
  var k = TOPK - 1u;
  while (k > 0u && (l > top_l[base + k - 1u] || (l == top_l[base + k - 1u] && id < top_i[base + k - 1u]))) {
    top_l[base + k] = top_l[base + k - 1u];
    top_i[base + k] = top_i[base + k - 1u];
    k--;
  }
  top_l[base + k] = l;
  top_i[base + k] = id;
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let rows = params.rows;
  let row0 = wg.y * TILE;
  let chunk = part_chunk(wg.x);
  if (row0 >= rows || chunk.begin >= chunk.end) {
    return; // the whole workgroup: no barrier is left waiting
  }
  let v_end = chunk.end;
  for (var i = 0u; i < 4u; i++) {
    m[i] = NEG;
    s[i] = 0.0;
    for (var k = 0u; k < TOPK; k++) {
      top_l[i * MAX_K + k] = NEG;
      top_i[i * MAX_K + k] = 0xffffffffu;
    }
  }
  let last_row = rows - 1u;
  let first = logits_first(rows); // rows from here on go out whole (lens_logits.wgsl)
  for (var v0 = chunk.begin; v0 < v_end; v0 += TILE) {
    let acc = lens_tile(row0, rows, v0, v_end, lid);
    for (var i = 0u; i < 4u; i++) {
      let r = row0 + lid.y * 4u + i;
      for (var j = 0u; j < 4u; j++) {
        let v = v0 + lid.x * 4u + j;
        if (r <= last_row && v < v_end) {
          let l = acc[i][j];
          push(i, l, VOCAB_START + v);
          if (r >= first) {
            logits[logits_index(r, first, VOCAB_START + v)] = l;
          }
        }
      }
    }
  }
  // Threads 1..15 of each row group hand their lists to thread 0, one at a time.
  for (var lane = 1u; lane < 16u; lane++) {
    if (lid.x == lane) {
      for (var i = 0u; i < 4u; i++) {
        let t = lid.y * 4u + i;
        hand_ms[t] = vec2f(m[i], s[i]);
        for (var k = 0u; k < TOPK; k++) {
          hand_l[t * MAX_K + k] = top_l[i * MAX_K + k];
          hand_i[t * MAX_K + k] = top_i[i * MAX_K + k];
        }
      }
    }
    workgroupBarrier();
    if (lid.x == 0u) {
      for (var i = 0u; i < 4u; i++) {
        let t = lid.y * 4u + i;
        let other = hand_ms[t];
        let m_new = max(m[i], other.x);
        s[i] = s[i] * exp(m[i] - m_new) + other.y * exp(other.x - m_new);
        m[i] = m_new;
        for (var k = 0u; k < TOPK; k++) {
          insert(i, hand_l[t * MAX_K + k], hand_i[t * MAX_K + k]);
        }
      }
    }
    workgroupBarrier();
  }
  if (lid.x != 0u) {
    return;
  }
  let stride = 2u + 2u * TOPK;
  for (var i = 0u; i < 4u; i++) {
    let r = row0 + lid.y * 4u + i;
    if (r > last_row) {
      break;
    }
    let o = (r * N_CHUNKS + VOCAB_START / CHUNK + wg.x) * stride;
    partial[o] = m[i];
    partial[o + 1u] = s[i];
    for (var k = 0u; k < TOPK; k++) {
      partial[o + 2u + k] = top_l[i * MAX_K + k];
      partial[o + 2u + TOPK + k] = bitcast<f32>(top_i[i * MAX_K + k]);
    }
  }
}
