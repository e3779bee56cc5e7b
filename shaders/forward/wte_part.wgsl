// wte_part — a module without an entry point: the vocabulary part of wte a dispatch binds. wte may
// be split in parts along the vocabulary when it exceeds the device's storage-binding size (GPT-2's
// f32 wte is 154 MB): a dispatch binds rows [VOCAB_START, VOCAB_START + VOCAB_COUNT), one dispatch
// per part (the embedding, the unembeddings, the lens and token tracking, the causal gather).
override VOCAB_START: u32 = 0u;
override VOCAB_COUNT: u32;

/** Whether token id falls in this dispatch's part (its row in the part: id − VOCAB_START). */
fn in_part(id: u32) -> bool {
  return id >= VOCAB_START && id < VOCAB_START + VOCAB_COUNT;
}
