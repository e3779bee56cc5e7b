// track_inputs — a module without an entry point, prepended to track_target.wgsl, track_count.wgsl
// and track_count_tiled.wgsl (with track_common.wgsl): the bindings 1–4 they read, scalar along D.
// (track_count_vec4.wgsl reads x and wte as vec4 and declares its own.) The including kernel
// declares `alias weight_t = f32;` and binds `tracked` at 5 (and `rank` at 6).

@group(0) @binding(1) var<storage, read> x: array<f32>; // [lens rows, D] after ln_f
@group(0) @binding(2) var<storage, read> wte: array<weight_t>; // [VOCAB_COUNT, D], one part
@group(0) @binding(3) var<storage, read> ids: array<u32>; // [n_ids]
@group(0) @binding(4) var<storage, read> points: array<u32>; // [tracked points]
