// unembed_rows — `logits` at every position: logits[t, v] = x[t] · wte[v] (tied unembedding),
//   [T, V]. Runs only when captured (the lens keeps only each row's top-k and logits_last).
//   x: (T, D) f32, ln_final.hook_normalized; wte: one part, rows [VOCAB_START, VOCAB_START +
//   VOCAB_COUNT); logits: (T, V) f32.
// Dispatch: (ceil(VOCAB_COUNT / WG_X), T, 1); one thread per (token, position); one dispatch per
// wte part. Reference: unembedF32 in src/model/reference.ts.
alias weight_t = f32;

override D: u32;
override V: u32;
override WG_X: u32 = 64u;

// params: rows_uniform.wgsl, rows = T; VOCAB_START, VOCAB_COUNT: wte_part.wgsl; lens_dot:
// lens_dot.wgsl (all prepended).
@group(0) @binding(1) var<storage, read> x: array<f32>; // (T, D)
@group(0) @binding(2) var<storage, read> wte: array<weight_t>; // (VOCAB_COUNT, D)
@group(0) @binding(3) var<storage, read_write> logits: array<f32>; // (T, V)

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let v = gid.x;
  let t = gid.y;
  if (v >= VOCAB_COUNT || t >= params.rows) {
    return;
  }
  logits[t * V + VOCAB_START + v] = lens_dot(t * D, v);
}
