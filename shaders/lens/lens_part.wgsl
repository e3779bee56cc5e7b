// lens_part — a module without an entry point, prepended to the kernels that walk one wte part
// chunk by chunk (unembed_topk, unembed_topk_vec4, unembed_topk_tiled, track_count,
// track_count_vec4, track_count_tiled): the part's overrides and the chunk a thread (or a
// workgroup) owns. wte may be split in parts along the vocabulary when it exceeds the device's
// storage-binding size (GPT-2's f32 wte is 154 MB): a dispatch binds rows [VOCAB_START,
// VOCAB_START + VOCAB_COUNT) as `wte` (wte_part.wgsl, prepended with this module; VOCAB_START a
// multiple of CHUNK) and walks them CHUNK tokens at a time, chunk c of the part holding its tokens
// [c·CHUNK, min((c + 1)·CHUNK, VOCAB_COUNT)) (indices local to the part).
override D: u32; // a multiple of 4 for the vec4 kernels
override CHUNK: u32; // a multiple of 8 for the vec4 kernels, of 64 for the tiled ones

struct Chunk {
  begin: u32, // the chunk's first token in the part
  end: u32, // one past its last; begin ≥ end for a chunk past the part's end
}

fn part_chunk(c: u32) -> Chunk {
  let begin = c * CHUNK;
  return Chunk(begin, min(begin + CHUNK, VOCAB_COUNT));
}
