// detect_mass_slots — the terms of detect_mass_terms.wgsl combined into each head's slots, one
// layer's slice of the output (definitions: src/instruments/middle-scores.ts): slot j holds the
// terms [start, end) (the CPU lists them grouped by slot) and combines them by its op:
//   op 0: out[…·2] = Σ values,              out[…·2 + 1] = end − start
//   op 1: out[…·2] = max values (0 if none), out[…·2 + 1] = the first maximizing n − start (−1 if none)
//   out[((layer·H + h)·S + j)·2 + c]
// Dispatch: (ceil(S / WG_X), H, 1); one thread per (slot, head), a loop over its terms; no barriers.
override WG_X: u32 = 64u;
override H: u32;

struct MassParams {
  rows: u32,  // (terms kernel only)
  terms: u32, // N
  slots: u32, // S
  layer: u32, // which layer's slice of `out` to fill
}

@group(0) @binding(0) var<uniform> params: MassParams;
@group(0) @binding(1) var<storage, read> values: array<f32>; // (H, N)
@group(0) @binding(2) var<storage, read> slots: array<vec4u>; // (S) start, end, op, 0
@group(0) @binding(3) var<storage, read_write> out: array<f32>; // (L, H, S, 2)

@compute @workgroup_size(WG_X)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let j = gid.x;
  let h = gid.y;
  let S = params.slots;
  if (j >= S || h >= H) {
    return;
  }
  let slot = slots[j];
  let base = h * params.terms;
  let dst = ((params.layer * H + h) * S + j) * 2u;
  if (slot.z == 0u) {
    var sum = 0.0;
    for (var n = slot.x; n < slot.y; n++) {
      sum += values[base + n];
    }
    out[dst] = sum;
    out[dst + 1u] = f32(slot.y - slot.x);
    return;
  }
  var best = 0.0;
  var arg = -1.0;
  for (var n = slot.x; n < slot.y; n++) {
    let v = values[base + n];
    if (arg < 0.0 || v > best) {
      best = v;
      arg = f32(n - slot.x);
    }
  }
  out[dst] = best;
  out[dst + 1u] = arg;
}
