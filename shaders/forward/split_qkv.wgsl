// split_qkv — blocks.L.attn.hook_q / hook_k / hook_v copied out of qkv = [q | k | v] (T, 3D) in one
//   dispatch, each only where captured (WRITE bit 0: q, bit 1: k, bit 2: v; one not captured is
//   bound to a 16-byte stand-in and never written): q[r, c] = qkv[r·3D + c], k[r, c] =
//   qkv[r·3D + D + c], v[r, c] = qkv[r·3D + 2D + c] for c < D, i.e. [T, H, d_head] each.
//   qkv: (rows, 3D) f32; q, k, v: (rows, D) f32. rows = T. Runs only when one of them is captured.
// Dispatch: (ceil(D / WG_X), T, 1); one thread per column. Reference: src/model/reference-hooks.ts.
override D: u32;
override WRITE: u32 = 7u;
override WG_X: u32 = 64u;

// params: rows_uniform.wgsl (prepended), rows = T.
@group(0) @binding(1) var<storage, read> qkv: array<f32>; // (T, 3D)
@group(0) @binding(2) var<storage, read_write> q: array<f32>; // (T, D)
@group(0) @binding(3) var<storage, read_write> k: array<f32>; // (T, D)
@group(0) @binding(4) var<storage, read_write> v: array<f32>; // (T, D)

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  let r = gid.y;
  if (c >= D || r >= params.rows) {
    return;
  }
  let src = r * 3u * D + c;
  let dst = r * D + c;
  if ((WRITE & 1u) != 0u) {
    q[dst] = qkv[src];
  }
  if ((WRITE & 2u) != 0u) {
    k[dst] = qkv[src + D];
  }
  if ((WRITE & 4u) != 0u) {
    v[dst] = qkv[src + 2u * D];
  }
}
