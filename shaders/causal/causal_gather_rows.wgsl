// causal_gather_rows — rows of wte as f32 for the causal instruments (the answer's and the foil's
// unembedding vectors, a token's embedding): out[i, :] = wte[ids[i], :] for the ids that fall in
// this vocabulary part [VOCAB_START, VOCAB_START + VOCAB_COUNT); other rows are left as they are.
//   part: [VOCAB_COUNT, D] weights; ids: [n] u32; out: [n, D] f32.
// Dispatch: (ceil(D / 64), n, 1) per vocabulary part; one thread per element.
alias weight_t = f32;

override D: u32;

// VOCAB_START, VOCAB_COUNT and in_part: wte_part.wgsl (prepended).

struct Params {
  n: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ids: array<u32>; // [n]
@group(0) @binding(2) var<storage, read> part: array<weight_t>; // [VOCAB_COUNT, D]
@group(0) @binding(3) var<storage, read_write> out: array<f32>; // [n, D]

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let d = gid.x;
  let i = gid.y;
  if (d >= D || i >= params.n) {
    return;
  }
  let id = ids[i];
  if (!in_part(id)) {
    return;
  }
  out[i * D + d] = f32(part[(id - VOCAB_START) * D + d]);
}
