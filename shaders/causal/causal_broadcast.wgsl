// causal_broadcast — the start of a batch of patched runs: every run's residual is the corrupted
// prompt's resid_pre at the batch's layer. out[b·T + t, :] = src[t, :] for b < N.
//   src: [T, D]; out: [N·T, D] (rows = N·T). Reference: activationPatching (reference-causal.ts).
// Dispatch: (ceil(D / 64), rows, 1); one thread per element.
override D: u32;

// params (rows = N·T, T, N): causal_batch.wgsl (prepended).
@group(0) @binding(1) var<storage, read> src: array<f32>; // [T, D]
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // [N·T, D]

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  let r = gid.y;
  if (i >= D || r >= params.rows) {
    return;
  }
  out[r * D + i] = src[(r % params.T) * D + i];
}
