// detect_heads_rows — one row of one head's attention pattern reduced to the head detectors' and
// the entropy statistics' per-query terms (definitions: src/instruments/head-scores.ts; CPU oracle:
// src/instruments/detectors-reference.ts). detect_heads_reduce.wgsl then sums them over queries.
//   pattern: blocks.L.attn.hook_pattern, a texture_2d_array (ceil(Tcap/4), Tcap) × H; texel (s/4, t)
//            of array layer h holds keys s..s+3 of query t; the 8-bit capture stores √p. Only keys
//            s ≤ t < T are read (the rest is masked or stale).
//   row_stats[(h·T + t)·16 + c], with every value divided by the row's total Σ_{s≤t} p[t, s]:
//     c = d       (d = 0..5: previous, current, first, local, duplicate, induction) target mass
//                 Σ_{K_d(t)} p, or 0 when query t is out of d's scope (no target)
//     c = 6 + d   kept mass Σ_{A_d(t)} p in scope, else 0
//     c = 12      row weight: kept mass Σ_{A(t)} p when |A(t)| ≥ 2, else 0
//     c = 13..15  entropy (nats), entropy / ln|A(t)|, Hoyer sparsity of the row renormalized over A(t)
// Dispatch: (ceil(T / WG_X), H, 1); one thread per (query, head), one pass over its keys a texel
// at a time, no barriers (fine on CPU adapters).
override WG_X: u32 = 64u;
// The 8-bit capture stores √p (decoded as stored²).
override SQRT_ENCODE: bool = false;

const ROW_STRIDE: u32 = 16u;

// One 256-byte slot per layer (detect_heads_reduce reads `layer`); this kernel reads the rest.
struct DetectParams {
  rows: u32,            // T
  window: u32,          // w ≥ 1: the local band's width
  exclude_first: u32,   // 1: key 0 leaves every row (but the first-token score's)
  exclude_current: u32, // 1: key t leaves row t (but the current-token score's)
  layer: u32,           // where detect_heads_reduce writes
}

@group(0) @binding(0) var<uniform> params: DetectParams;
@group(0) @binding(1) var<storage, read> tokens: array<u32>; // (T) token ids
@group(0) @binding(2) var pattern: texture_2d_array<f32>; // (ceil(Tcap/4), Tcap) × H
@group(0) @binding(3) var<storage, read_write> row_stats: array<f32>; // (H, T, ROW_STRIDE)

// The attention weight p[t, s] (s ≤ t) of head h, decoded.
fn weight(s: u32, t: u32, h: u32) -> f32 {
  let v = textureLoad(pattern, vec2u(s / 4u, t), h, 0)[s % 4u];
  return select(v, v * v, SQRT_ENCODE);
}

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let T = params.rows;
  let t = gid.x;
  let h = gid.y;
  if (t >= T || h >= textureNumLayers(pattern)) {
    return;
  }
  let ef = params.exclude_first != 0u;
  let ec = params.exclude_current != 0u;
  let tok = tokens[t];
  // The local band's keys [lo, hi] (as i32: hi is −1 for query 0 without its own key).
  let hi = i32(t) - select(0, 1, ec);
  let lo = hi - i32(params.window) + 1;

  // One pass over the row, four keys (one texel) at a time without branches: the sums that need
  // every key. Kept keys are summed directly (not as total − excluded), so that a row that keeps
  // only a sliver of its weight (a sink head without its sink) still gets it to f32 precision.
  let ones = vec4f(1.0);
  let lane = vec4u(0u, 1u, 2u, 3u);
  let tv = vec4u(t);
  let tokv = vec4u(tok);
  var total = 0.0;   // Σ_{s ≤ t} p
  var kept = 0.0;    // Σ_{A(t)} p
  var plogp = 0.0;   // Σ_{A(t)} p ln p
  var p2 = 0.0;      // Σ_{A(t)} p²
  var g_dup = 0.0;
  var g_ind = 0.0;
  var has_dup = false;
  var has_ind = false;
  var last_tok = 0u; // tokens[s − 1] for the texel's first key
  for (var x = 0u; x <= t / 4u; x++) {
    var v = textureLoad(pattern, vec2u(x, t), h, 0);
    if (SQRT_ENCODE) {
      v = v * v;
    }
    let s = vec4u(4u * x) + lane;
    let valid = s <= tv;
    let excluded = ((s == vec4u(0u)) & vec4<bool>(ef)) | ((s == tv) & vec4<bool>(ec));
    let keep = valid & !excluded;
    let p = select(vec4f(0.0), v, valid);
    let pk = select(vec4f(0.0), v, keep);
    total += dot(p, ones);
    kept += dot(pk, ones);
    plogp += dot(pk, log(max(pk, vec4f(1e-30)))); // 0 · ln(tiny) = 0 for p = 0
    p2 += dot(pk, pk);
    let sc = min(s, tv); // keys past the query read a valid token, then get masked
    let toks = vec4u(tokens[sc.x], tokens[sc.y], tokens[sc.z], tokens[sc.w]);
    let prevs = vec4u(last_tok, toks.x, toks.y, toks.z);
    last_tok = toks.w;
    let dup = keep & (s < tv) & (toks == tokv);
    let ind = keep & (s >= vec4u(1u)) & (prevs == tokv);
    g_dup += dot(select(vec4f(0.0), pk, dup), ones);
    g_ind += dot(select(vec4f(0.0), pk, ind), ones);
    has_dup = has_dup || any(dup);
    has_ind = has_ind || any(ind);
  }
  // The few single keys: first, current, previous, and the local band.
  let p_first = weight(0u, t, h);
  let p_cur = weight(t, t, h);
  let in_prev = t >= 1u && !(ef && t == 1u);
  let g_prev = select(0.0, weight(max(t, 1u) - 1u, t, h), in_prev);
  let lo0 = max(lo, 0);
  var g_local = 0.0;
  for (var sl = lo0; sl <= hi; sl++) {
    if (!(ef && sl == 0)) {
      g_local += weight(u32(sl), t, h);
    }
  }

  let out = (h * T + t) * ROW_STRIDE;
  for (var c = 0u; c < ROW_STRIDE; c++) {
    row_stats[out + c] = 0.0;
  }
  if (total <= 0.0) {
    return; // not an attention row (only a hand-made pattern has one): it counts nowhere
  }
  let inv = 1.0 / total;
  // The first- and current-token scores keep their own key whatever the options say.
  let kept_first = total - select(0.0, p_cur, ec);
  let kept_cur = total - select(0.0, p_first, ef);
  // Local band keys kept: [max(lo, 0), hi], less key 0 when it is excluded.
  let band = max(hi - lo0 + 1, 0) - select(0, 1, ef && lo0 == 0 && hi >= 0);
  // (target mass, kept mass, in scope) per detector.
  let in_cur = !(ef && t == 0u);
  let in_first = !(ec && t == 0u);
  row_stats[out + 0u] = select(0.0, g_prev * inv, in_prev);
  row_stats[out + 6u] = select(0.0, kept * inv, in_prev);
  row_stats[out + 1u] = select(0.0, p_cur * inv, in_cur);
  row_stats[out + 7u] = select(0.0, kept_cur * inv, in_cur);
  row_stats[out + 2u] = select(0.0, p_first * inv, in_first);
  row_stats[out + 8u] = select(0.0, kept_first * inv, in_first);
  row_stats[out + 3u] = select(0.0, g_local * inv, band > 0);
  row_stats[out + 9u] = select(0.0, kept * inv, band > 0);
  row_stats[out + 4u] = select(0.0, g_dup * inv, has_dup);
  row_stats[out + 10u] = select(0.0, kept * inv, has_dup);
  row_stats[out + 5u] = select(0.0, g_ind * inv, has_ind);
  row_stats[out + 11u] = select(0.0, kept * inv, has_ind);

  // Row statistics over A(t), n = |A(t)| keys, renormalized by the kept mass.
  // (For query 0 with both exclusions, key 0 is both keys: n = −1 here, and the row is left out.)
  let n = i32(t) + 1 - select(0, 1, ef) - select(0, 1, ec);
  if (n >= 2 && kept > 0.0) {
    let entropy = max(log(kept) - plogp / kept, 0.0);
    let root_n = sqrt(f32(n));
    let root_eff = kept / sqrt(p2); // √N_eff = 1/‖p̂‖₂
    row_stats[out + 12u] = kept * inv;
    row_stats[out + 13u] = entropy;
    row_stats[out + 14u] = entropy / log(f32(n));
    row_stats[out + 15u] = clamp((root_n - root_eff) / (root_n - 1.0), 0.0, 1.0);
  }
}
