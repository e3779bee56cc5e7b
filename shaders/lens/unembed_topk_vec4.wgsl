// unembed_topk_vec4 — unembed_topk (the logit lens, part 1) for D % 4 == 0 on CPU fallback
// adapters: for lens rows r0..r0+7 (residual rows after ln_f) and vocabulary chunk c, logits
// l_v = x_r · wte[v] for v in the chunk (tied unembedding; 8 rows × 8 tokens at a time by
// lens_block_vec4.wgsl, prepended), and of them per row: the running max, Σ exp(l_v − max), and
// the TOPK largest (id, logit). Same outputs as unembed_topk.wgsl.
//   x: (rows, D) f32, read as vec4 along D; wte: one part of the embedding, rows
//   [VOCAB_START, VOCAB_START + VOCAB_COUNT), read as vec4 along D.
//   partial: (rows, N_CHUNKS, 2 + 2·TOPK) f32: [max, sumexp, logit_0..logit_{K-1}, id_0..id_{K-1}]
//            (ids as bit patterns), chunk index global over all parts.
//   logits: (V) f32, `logits_last`: the full logits of the stack's last row, which is the last
//            position of the final residual stream (the lens points are stacked in depth order and
//            the final stream is always the last); written here because this kernel computes them
//            anyway, instead of by a separate unembed_logits pass. Or (T, V), the `logits`
//            capture: every row of the final stream (lens_logits.wgsl, prepended, says which).
// Dispatch: (ceil(chunks in this part / WG_X), ceil(rows / 8), 1); each thread owns 8 rows × one
// chunk and walks the chunk 8 tokens at a time. 7-20x faster on SwiftShader than one (row, chunk)
// per thread with scalar loads. No barriers, no workgroup memory. Rows past the end are clamped on
// read (wasted work, not wrong) and never stored; so are tokens past the chunk.
alias weight_t = f32;

override WG_X: u32 = 16u;

const MAX_K: u32 = 16u;
const NEG: f32 = -3.0e38;

// N_CHUNKS, TOPK and params (binding 0): topk_common.wgsl; D, CHUNK, VOCAB_START, VOCAB_COUNT and
// part_chunk: lens_part.wgsl and wte_part.wgsl; ROWS, block_rows and lens_block: lens_block_vec4.wgsl (all prepended).
@group(0) @binding(1) var<storage, read> x: array<vec4f>; // (rows, D/4)
@group(0) @binding(2) var<storage, read> wte: array<vec4<weight_t>>; // (VOCAB_COUNT, D/4)
@group(0) @binding(3) var<storage, read_write> partial: array<f32>; // (rows, N_CHUNKS, 2 + 2·TOPK)
@group(0) @binding(4) var<storage, read_write> logits: array<f32>; // (V) or (T, V): lens_logits.wgsl

fn lens_row(r: u32) -> u32 {
  return r;
}

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let rows = params.rows;
  let r0 = gid.y * ROWS;
  let chunk = part_chunk(gid.x);
  if (r0 >= rows || chunk.begin >= chunk.end) {
    return;
  }
  let v_end = chunk.end;
  let xs = block_rows(r0, rows);
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
  let first = logits_first(rows);
  for (var v0 = chunk.begin; v0 < v_end; v0 += 8u) {
    // ls[i]: logits of tokens v0..v0+3 for row r0+i; ls[8 + i]: tokens v0+4..v0+7 (those past the
    // chunk are masked out of the stats below).
    let ls = lens_block(xs, v0, v_end);
    // The rows from `first` on go out whole (logits_last, or the final stream's `logits`).
    for (var i = 0u; i < ROWS; i++) {
      let r = r0 + i;
      if (r >= first && r < rows) {
        for (var half = 0u; half < 2u; half++) {
          let l = ls[half * ROWS + i];
          for (var j = 0u; j < 4u; j++) {
            let v = v0 + 4u * half + j;
            if (v < v_end) {
              logits[logits_index(r, first, VOCAB_START + v)] = l[j];
            }
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
    let o = (r * N_CHUNKS + VOCAB_START / CHUNK + gid.x) * stride;
    partial[o] = m[i];
    partial[o + 1u] = s[i];
    for (var k = 0u; k < TOPK; k++) {
      partial[o + 2u + k] = top_l[i * MAX_K + k];
      partial[o + 2u + TOPK + k] = bitcast<f32>(top_i[i * MAX_K + k]);
    }
  }
}
