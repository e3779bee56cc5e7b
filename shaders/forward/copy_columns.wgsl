// copy_columns — a capture copied out of a wider buffer: out[r, c] = x[r * STRIDE + OFFSET + c]
//   for c < N. blocks.L.attn.hook_q / hook_k / hook_v from qkv = [q | k | v] (T, 3D) (STRIDE 3D,
//   OFFSET 0, D or 2D; N = D, i.e. [T, H, d_head]); ln1/ln2.hook_normalized from the ln scratch and
//   mlp.hook_post from mlp.hidden (STRIDE = N, OFFSET 0). Runs only when the hook is captured.
//   x: (rows, STRIDE) f32; out: (rows, N) f32. rows = T.
// Dispatch: (ceil(N / WG_X), T, 1); one thread per value. Reference: src/model/reference-hooks.ts.
override STRIDE: u32;
override OFFSET: u32 = 0u;
override N: u32;
override WG_X: u32 = 64u;

// params: rows_uniform.wgsl (prepended), rows = T.
@group(0) @binding(1) var<storage, read> x: array<f32>; // (T, STRIDE)
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // (T, N)

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let c = gid.x;
  let r = gid.y;
  if (c >= N || r >= params.rows) {
    return;
  }
  out[r * N + c] = x[r * STRIDE + OFFSET + c];
}
