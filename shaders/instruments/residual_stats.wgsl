// residual_stats — what one block reads from the residual stream and adds to it, per position, for
// the studio's flow view. For block l (one dispatch per layer) and position t < T, with
//   pre = blocks.l.hook_resid_pre, mid = blocks.l.hook_resid_mid,
//   post = blocks.{l+1}.hook_resid_pre (the final blocks.{L-1}.hook_resid_post for the last block),
//   attn = mid − pre (attention's contribution), mlp = post − mid (the MLP's):
//     out[(l·T + t)·8 + 0..7] = ‖pre‖, ‖attn‖, ‖mlp‖, cos(attn, pre), cos(mlp, mid), ‖mid‖, ‖post‖, 0
//   L2 norms over D with f32 sums; a cosine is 0 where either vector is 0.
// Bindings: params (vec4u: T, l, −, −), pre, mid, post (Tcap, D) f32, out (L, T, 8) f32.
// Dispatch: (ceil(T / WG_X), 1, 1) per block; one thread per position, no barriers.
override D: u32;
override WG_X: u32 = 64u;

const STRIDE: u32 = 8u;

@group(0) @binding(0) var<uniform> params: vec4u; // (T, layer, −, −)
@group(0) @binding(1) var<storage, read> pre: array<f32>; // (Tcap, D)
@group(0) @binding(2) var<storage, read> mid: array<f32>; // (Tcap, D)
@group(0) @binding(3) var<storage, read> post: array<f32>; // (Tcap, D)
@group(0) @binding(4) var<storage, read_write> out: array<f32>; // (L, T, STRIDE)

fn cosine(dot_ab: f32, aa: f32, bb: f32) -> f32 {
  let n = sqrt(aa) * sqrt(bb);
  return select(0.0, dot_ab / n, n > 0.0);
}

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x;
  let T = params.x;
  if (t >= T) {
    return;
  }
  let row = t * D;
  var pp = 0.0; // ‖pre‖²
  var mm = 0.0; // ‖mid‖²
  var qq = 0.0; // ‖post‖²
  var aa = 0.0; // ‖attn‖²
  var bb = 0.0; // ‖mlp‖²
  var ap = 0.0; // attn · pre
  var bm = 0.0; // mlp · mid
  for (var d = 0u; d < D; d++) {
    let p = pre[row + d];
    let m = mid[row + d];
    let q = post[row + d];
    let a = m - p;
    let b = q - m;
    pp += p * p;
    mm += m * m;
    qq += q * q;
    aa += a * a;
    bb += b * b;
    ap += a * p;
    bm += b * m;
  }
  let o = (params.y * T + t) * STRIDE;
  out[o + 0u] = sqrt(pp);
  out[o + 1u] = sqrt(aa);
  out[o + 2u] = sqrt(bb);
  out[o + 3u] = cosine(ap, aa, pp);
  out[o + 4u] = cosine(bm, bb, mm);
  out[o + 5u] = sqrt(mm);
  out[o + 6u] = sqrt(qq);
  out[o + 7u] = 0.0;
}
