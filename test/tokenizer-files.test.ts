// Tokenizer files that are not GPT-2 byte-level BPE, or are broken, are refused with a ModelError
// that names the file and the problem (src/model/tokenizer-files.ts).
import { describe, expect, test } from 'vitest';
import { Gpt2Tokenizer, type TokenizerFiles } from '../src/model/tokenizer';
import { expectModelError, tokenizerJson, toyVocab } from './support/tokenizer-fixtures';

describe('bad tokenizer files → ModelError naming the file and the problem', () => {
  const goodVocab = JSON.stringify(toyVocab(['ab']));
  const goodMerges = '#version: 0.2\na b\n';

  test('missing files', () => {
    expectModelError(() => Gpt2Tokenizer.fromFiles({}), 'vocab.json', /needed/);
    expectModelError(() => Gpt2Tokenizer.fromFiles({ vocabJson: goodVocab }), 'merges.txt', /needed/);
    expect(Gpt2Tokenizer.fromFiles({ vocabJson: goodVocab, mergesTxt: goodMerges }).encode('ab')).toEqual([
      256,
    ]);
  });

  test('malformed vocab.json', () => {
    const files = (vocabJson: string): TokenizerFiles => ({ vocabJson, mergesTxt: goodMerges });
    expectModelError(() => Gpt2Tokenizer.fromFiles(files('{"a": 1,')), 'vocab.json', /is not valid JSON/);
    expectModelError(
      () => Gpt2Tokenizer.fromFiles(files('["a"]')),
      'vocab.json',
      /must be an object of token → id/,
    );
    expectModelError(
      () => Gpt2Tokenizer.fromFiles(files(JSON.stringify({ ...toyVocab(['ab']), ab: 'x' }))),
      'vocab.json',
      /token "ab" has id "x"; ids must be integers/,
    );
    expectModelError(
      () => Gpt2Tokenizer.fromFiles(files(JSON.stringify({ ...toyVocab(['ab']), ab: 1.5 }))),
      'vocab.json',
      /token "ab" has id 1.5/,
    );
    expectModelError(
      () => Gpt2Tokenizer.fromFiles(files(JSON.stringify({ ...toyVocab(['ab']), ab: 0x24 }))),
      'vocab.json',
      /^vocab.json: tokens "\$" and "ab" both have id 36$/,
    );
    const noByte = toyVocab(['ab']);
    delete noByte['Ġ'];
    expectModelError(
      () => Gpt2Tokenizer.fromFiles(files(JSON.stringify(noByte))),
      'vocab.json',
      /no token for byte 0x20 \("Ġ"\)/,
    );
    expectModelError(
      () => Gpt2Tokenizer.fromFiles(files(JSON.stringify(toyVocab(['ab'], false)))),
      'vocab.json',
      /^vocab.json: no <\|endoftext\|> token$/,
    );
    // A WordPiece/SentencePiece vocabulary has characters that bytes_to_unicode never produces.
    expectModelError(
      () => Gpt2Tokenizer.fromFiles(files(JSON.stringify(toyVocab(['ab', '▁the'])))),
      'vocab.json',
      /token "▁the" \(id 257\) has "▁", which is not in GPT-2's byte alphabet/,
    );
  });

  test('malformed merges.txt', () => {
    const files = (mergesTxt: string): TokenizerFiles => ({ vocabJson: goodVocab, mergesTxt });
    expectModelError(
      () => Gpt2Tokenizer.fromFiles(files('#version: 0.2\na b c\n')),
      'merges.txt',
      /line 2 is not a merge "left right": "a b c"/,
    );
    expectModelError(
      () => Gpt2Tokenizer.fromFiles(files('#version: 0.2\na b\nab\n')),
      'merges.txt',
      /line 3 is not a merge/,
    );
    expectModelError(
      () => Gpt2Tokenizer.fromFiles(files('#version: 0.2\na b\nab xyz\n')),
      'merges.txt',
      /line 3: merge "ab xyz" uses "xyz", which is not in vocab.json/,
    );
    expectModelError(
      () => Gpt2Tokenizer.fromFiles(files('#version: 0.2\na c\n')),
      'merges.txt',
      /line 2: merge "a c" makes "ac", which is not in vocab.json/,
    );
    // A vocab.json given as merges.txt: its first line is not a merge.
    expectModelError(() => Gpt2Tokenizer.fromFiles(files(goodVocab)), 'merges.txt', /line 1 is not a merge/);
    // CRLF line ends are fine.
    expect(Gpt2Tokenizer.fromFiles(files('#version: 0.2\r\na b\r\n')).encode('ab')).toEqual([256]);
  });

  test('tokenizer.json that is not GPT-2 byte-level BPE, or is malformed', () => {
    const json = (changes: Record<string, unknown>) => ({ tokenizerJson: tokenizerJson('strings', changes) });
    const model = JSON.parse(tokenizerJson('strings')).model as Record<string, unknown>;
    expectModelError(
      () => Gpt2Tokenizer.fromFiles({ tokenizerJson: 'not json' }),
      'tokenizer.json',
      /is not valid JSON/,
    );
    expectModelError(
      () => Gpt2Tokenizer.fromFiles({ tokenizerJson: '[1]' }),
      'tokenizer.json',
      /must be a JSON object/,
    );
    expectModelError(
      () => Gpt2Tokenizer.fromFiles(json({ model: { ...model, type: 'WordPiece' } })),
      'tokenizer.json',
      /model.type is "WordPiece"; only byte-level BPE \(GPT-2's\) is supported/,
    );
    expectModelError(
      () => Gpt2Tokenizer.fromFiles(json({ pre_tokenizer: { type: 'Metaspace', replacement: '▁' } })),
      'tokenizer.json',
      /pre_tokenizer is "Metaspace", not ByteLevel/,
    );
    expectModelError(
      () => Gpt2Tokenizer.fromFiles(json({ pre_tokenizer: { type: 'ByteLevel', add_prefix_space: true } })),
      'tokenizer.json',
      /add_prefix_space is true/,
    );
    expectModelError(
      () => Gpt2Tokenizer.fromFiles(json({ normalizer: { type: 'NFC' } })),
      'tokenizer.json',
      /has a normalizer \("NFC"\)/,
    );
    expectModelError(
      () => Gpt2Tokenizer.fromFiles(json({ model: { ...model, merges: ['Ġ t', 'a b c'] } })),
      'tokenizer.json',
      /model.merges\[1\] is "a b c"; expected "left right" or \["left", "right"\]/,
    );
    expectModelError(
      () =>
        Gpt2Tokenizer.fromFiles(
          json({
            model: {
              ...model,
              merges: [
                ['Ġ', 't'],
                ['Ġ', 42],
              ],
            },
          }),
        ),
      'tokenizer.json',
      /model.merges\[1\] is \["Ġ",42\]/,
    );
    expectModelError(
      () => Gpt2Tokenizer.fromFiles(json({ model: { ...model, merges: [['Ġ', 'nope']] } })),
      'tokenizer.json',
      /model.merges\[0\]: merge "Ġ nope" uses "nope", which is not in model.vocab/,
    );
    expectModelError(
      () => Gpt2Tokenizer.fromFiles(json({ model: { ...model, merges: 'Ġ t' } })),
      'tokenizer.json',
      /model.merges must be an array/,
    );
    expectModelError(
      () => Gpt2Tokenizer.fromFiles(json({ model: { ...model, vocab: [] } })),
      'tokenizer.json',
      /model.vocab: must be an object/,
    );
    expectModelError(
      () => Gpt2Tokenizer.fromFiles(json({ added_tokens: [{ content: '<|endoftext|>' }] })),
      'tokenizer.json',
      /added_tokens\[0\] needs an integer "id"/,
    );
  });
});
