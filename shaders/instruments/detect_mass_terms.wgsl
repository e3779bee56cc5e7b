// detect_mass_terms — the middle-layer detectors' one generic pass over a layer's attention pattern
// (definitions: src/instruments/middle-scores.ts; CPU oracle: src/instruments/middle-reference.ts):
// every term is a weighted sum of attention weights along one segment of one head's pattern, a row
// (query t, keys lo..hi) or a column (key s, queries lo..hi), clipped to the causal triangle
// s ≤ t < T. Index lists built on the CPU from a dataset or the prompt say which segments; then
// detect_mass_slots.wgsl combines the terms of each slot (a sum or a maximum).
//   pattern: blocks.L.attn.hook_pattern, a texture_2d_array (ceil(Tcap/4), Tcap) × H; texel (s/4, t)
//            of array layer h holds keys s..s+3 of query t; the 8-bit capture stores √p.
//   terms[n] = (fixed | axis << 31, lo, hi, bitcast<u32>(weight)): axis 0 a row (fixed = t), 1 a
//              column (fixed = s)
//   values[h·N + n] = weight · Σ_segment p (raw weights, not renormalized: the oracle reads the same)
// Dispatch: (ceil(N / WG_X), H, 1); one thread per (term, head), no barriers (fine on CPU adapters).
override WG_X: u32 = 64u;
// The 8-bit capture stores √p (decoded as stored²).
override SQRT_ENCODE: bool = false;

// One 256-byte slot per layer (detect_mass_slots reads `layer`).
struct MassParams {
  rows: u32,  // T
  terms: u32, // N
  slots: u32, // S
  layer: u32,
}

@group(0) @binding(0) var<uniform> params: MassParams;
@group(0) @binding(1) var<storage, read> terms: array<vec4u>; // (N) segments
@group(0) @binding(2) var pattern: texture_2d_array<f32>; // (ceil(Tcap/4), Tcap) × H
@group(0) @binding(3) var<storage, read_write> values: array<f32>; // (H, N)

fn weight(s: u32, t: u32, h: u32) -> f32 {
  let v = textureLoad(pattern, vec2u(s / 4u, t), h, 0)[s % 4u];
  return select(v, v * v, SQRT_ENCODE);
}

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let n = gid.x;
  let h = gid.y;
  let N = params.terms;
  if (n >= N || h >= textureNumLayers(pattern)) {
    return;
  }
  let T = params.rows;
  let term = terms[n];
  let column = (term.x >> 31u) != 0u;
  let fixed = term.x & 0x7fffffffu;
  var sum = 0.0;
  if (column) {
    // Key s = fixed, queries max(lo, s) .. min(hi, T − 1).
    for (var t = max(term.y, fixed); t <= min(term.z, T - 1u); t++) {
      sum += weight(fixed, t, h);
    }
  } else if (fixed < T) {
    // Query t = fixed, keys lo .. min(hi, t).
    for (var s = term.y; s <= min(term.z, fixed); s++) {
      sum += weight(s, fixed, h);
    }
  }
  values[h * N + n] = bitcast<f32>(term.w) * sum;
}
