// causal_patch — one activation of the clean run A patched into each run b of a batch of the
// corrupted run B (in place, between two steps of the batched forward):
//   MODE 0 (resid_pre, attn_out, mlp_out at position b): out[b·T + b, :] += a[b, :] − bsrc[b, :],
//          applied to the residual right after the activation was added (or, for resid_pre, to B's
//          resid_pre), so that row holds A's activation in place of B's;
//   MODE 1 (hook_z of head b, every position): out[b·T + t, b·HD + j] = a[t, b·HD + j].
//   a, bsrc: [T, D] (z: [T, H, HD]); out: [N·T, D]. Reference: patchedLogitDiff (reference-causal.ts).
// Dispatch: (ceil(D / 64), T, N); one thread per element of one run's [T, D].
override D: u32;
override HD: u32;
override MODE: u32;

// params (rows = N·T, T, N): causal_batch.wgsl (prepended).
@group(0) @binding(1) var<storage, read> a: array<f32>; // [T, D] clean
@group(0) @binding(2) var<storage, read> bsrc: array<f32>; // [T, D] corrupted (MODE 0)
@group(0) @binding(3) var<storage, read_write> out: array<f32>; // [N·T, D]

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  let t = gid.y;
  let b = gid.z;
  if (i >= D || t >= params.T || b >= params.N) {
    return;
  }
  let src = t * D + i;
  let dst = (b * params.T + t) * D + i;
  if (MODE == 0u) {
    if (t == b) {
      out[dst] += a[src] - bsrc[src];
    }
  } else if (i / HD == b) {
    out[dst] = a[src];
  }
}
