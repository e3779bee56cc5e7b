// causal_dla_layer — direct logit attribution of one layer at position p (the last):
//   thread h < H: head h's result r = z[p, h·HD : (h+1)·HD] · W_O[h·HD : (h+1)·HD, :] (no bias);
//   thread H: c_proj's bias; thread H + 1: hook_mlp_out[p]. Each component c contributes
//   ((c − mean c) / s ⊙ g) · u = (Σ c·g·u − mean(c)·Σ g·u) / s, with s = sqrt(var(x) + EPS) of the
//   final residual x = resid_post[p] (ln_f's scale frozen), g = ln_f.weight, u = wte[answer] − wte[foil].
//   out: [H + 2] f32. Reference: directLogitAttribution in src/model/reference-causal.ts.
// Dispatch: (1, 1, 1); one thread per term, no barriers.
override H: u32;
override HD: u32;

struct Params {
  p: u32, // the attributed position
}

@group(0) @binding(0) var<uniform> params: Params;
// binding 1: resid [T, D], the final residual (causal_ln_final.wgsl)
@group(0) @binding(2) var<storage, read> z: array<f32>; // [T, H, HD] blocks.l.attn.hook_z
@group(0) @binding(3) var<storage, read> wo: array<weight_t>; // [D, D] attn.c_proj.weight
@group(0) @binding(4) var<storage, read> bo: array<weight_t>; // [D] attn.c_proj.bias
@group(0) @binding(5) var<storage, read> mlp: array<f32>; // [T, D] blocks.l.hook_mlp_out
@group(0) @binding(6) var<storage, read> g: array<weight_t>; // [D] ln_f.weight
@group(0) @binding(7) var<storage, read> uf: array<f32>; // [2, D] wte[answer], wte[foil]
@group(0) @binding(8) var<storage, read_write> out: array<f32>; // [H + 2]

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= H + 2u) {
    return;
  }
  let row = params.p * D;
  let stats = resid_stats(row);
  let s = sqrt(stats.y + EPS);
  var cgu = 0.0;
  var csum = 0.0;
  var gu = 0.0;
  for (var o = 0u; o < D; o++) {
    var c = 0.0;
    if (i < H) {
      for (var j = 0u; j < HD; j++) {
        let k = i * HD + j;
        c += z[row + k] * f32(wo[k * D + o]);
      }
    } else if (i == H) {
      c = f32(bo[o]);
    } else {
      c = mlp[row + o];
    }
    let w = f32(g[o]) * (uf[o] - uf[D + o]);
    cgu += c * w;
    csum += c;
    gu += w;
  }
  out[i] = (cgu - csum / f32(D) * gu) / s;
}
