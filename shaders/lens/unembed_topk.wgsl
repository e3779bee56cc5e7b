// unembed_topk — the logit lens, part 1: for lens row r (a residual row after ln_f) and vocabulary
// chunk c, logits l_v = x_r · wte[v] for v in the chunk (tied unembedding), and of them:
// the running max, Σ exp(l_v − max), and the TOPK largest (id, logit). No (rows, V) logits buffer
// is ever written: at T=1024 it would be 2.7 GB for GPT-2 small.
//   x: (rows, D) f32; wte: one part of the embedding, rows [VOCAB_START, VOCAB_START+VOCAB_COUNT).
//   partial: (rows, N_CHUNKS, 2 + 2·TOPK) f32: [max, sumexp, logit_0..logit_{K-1}, id_0..id_{K-1}]
//            (ids as bit patterns), chunk index global over all parts.
// Dispatch: (ceil(chunks in this part / WG_X), rows, 1); one thread per (chunk, row), no barriers.
alias weight_t = f32;

override WG_X: u32 = 64u;

const MAX_K: u32 = 16u;

// N_CHUNKS, TOPK and params (binding 0): topk_common.wgsl; D, CHUNK, VOCAB_START, VOCAB_COUNT and
// part_chunk: lens_part.wgsl, wte_part.wgsl; lens_dot: lens_dot.wgsl (all prepended).
@group(0) @binding(1) var<storage, read> x: array<f32>; // (rows, D)
@group(0) @binding(2) var<storage, read> wte: array<weight_t>; // (VOCAB_COUNT, D)
@group(0) @binding(3) var<storage, read_write> partial: array<f32>; // (rows, N_CHUNKS, 2 + 2·TOPK)

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let r = gid.y;
  let chunk = part_chunk(gid.x);
  if (r >= params.rows || chunk.begin >= chunk.end) {
    return;
  }
  var top_l: array<f32, MAX_K>;
  var top_i: array<u32, MAX_K>;
  for (var i = 0u; i < TOPK; i++) {
    top_l[i] = -3.0e38;
    top_i[i] = 0u;
  }
  var m = -3.0e38;
  var sum = 0.0;
  let xr = r * D;
  for (var v = chunk.begin; v < chunk.end; v++) {
    let l = lens_dot(xr, v);
    // Online softmax denominator.
    if (l > m) {
      sum = sum * exp(m - l) + 1.0;
      m = l;
    } else {
      sum += exp(l - m);
    }
    // Insertion into the sorted top-K (descending; ties keep the lower id first).
    if (l > top_l[TOPK - 1u]) {
      topk_insert(&top_l, &top_i, l, VOCAB_START + v);
    }
  }
  let stride = 2u + 2u * TOPK;
  let o = (r * N_CHUNKS + VOCAB_START / CHUNK + gid.x) * stride;
  partial[o] = m;
  partial[o + 1u] = sum;
  for (var i = 0u; i < TOPK; i++) {
    partial[o + 2u + i] = top_l[i];
    partial[o + 2u + TOPK + i] = bitcast<f32>(top_i[i]);
  }
}
