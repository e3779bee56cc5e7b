// Probe datasets of your own (src/instruments/probe-data.ts): CSV and JSON read as a spreadsheet
// or a script writes them, each example's target word located in the real GPT-2 tokenization, and
// every malformed file refused with a ProbeDataError that says where and why.
import { describe, expect, test } from 'vitest';
import {
  datasetFromJson,
  findWord,
  lastWordSpan,
  locateTarget,
  parseCsvRecords,
  parseDatasetCsv,
  parseDatasetFile,
  parseDatasetJson,
  prepareProbeInputs,
  ProbeDataError,
} from '../src/instruments/probe-data';
import { gpt2Tokenizer } from './support/tiny-models';

const tokenizer = gpt2Tokenizer();

describe('your own data: CSV and JSON', () => {
  const rows = (n: number, label: (i: number) => string) =>
    Array.from({ length: n }, (_, i) => `"The ${i}th cat, sat",${label(i)}`).join('\n');

  test('CSV: header in any order and case, quoted commas and quotes, CRLF, BOM, blank lines', () => {
    const csv =
      '\ufeffLabel , TEXT,target\r\n' +
      'pos,"I loved it, truly",loved\r\n' +
      '\r\n' +
      'neg,"He said ""awful"" twice",awful\r\n' +
      'pos,A fine day,\r\n' +
      'neg,"Dull,\nslow film",Dull\n' +
      'pos,Good,\n' +
      'neg,Bad stuff,\n' +
      'pos,Nice one,nice\n' +
      'neg,Poor show,\n';
    const d = parseDatasetCsv(csv, 'mine.csv');
    expect(d.name).toBe('mine');
    expect(d.labels).toEqual(['pos', 'neg']);
    expect(d.examples).toHaveLength(8);
    expect(d.examples[0]).toEqual({ text: 'I loved it, truly', target: [2, 7], label: 'pos' });
    expect(d.examples[1]!.text).toBe('He said "awful" twice');
    expect(d.examples[1]!.target).toEqual([9, 14]);
    // No target: the last word.
    expect(d.examples[2]!.target).toEqual([7, 10]);
    expect(d.examples[3]!.text).toBe('Dull,\nslow film');
    // Case-insensitive when the exact case is not there.
    expect(d.examples[6]!.target).toEqual([0, 4]);
  });

  test('CSV errors name the file, the line and the fix', () => {
    const err = (csv: string) => {
      try {
        parseDatasetCsv(csv, 'x.csv');
      } catch (e) {
        expect(e).toBeInstanceOf(ProbeDataError);
        return (e as Error).message;
      }
      throw new Error('no error');
    };
    expect(err('')).toBe('x.csv is empty: expected a header row "text,label" (or "text,label,target")');
    expect(err('sentence,label\na,b')).toBe(
      'x.csv, line 1: the header has no "text" column (found "sentence", "label"); expected text,label[,target]',
    );
    expect(err('text,tag\na,b')).toMatch(/line 1: the header has no "label" column/);
    expect(err(`text,label\n${rows(9, (i) => String(i % 2))}\nA dog, runs,1`)).toBe(
      'x.csv, line 11: 3 fields, the header has 2 (quote a text that contains commas: "like, this")',
    );
    expect(err(`text,label\n${rows(3, () => 'a')}\n"An open quote,b\nmore,a`)).toBe(
      'x.csv, line 5: a quoted field is not closed (missing ")',
    );
    expect(err(`text,label\n"A" b,c`)).toMatch(/line 2: unexpected "b" after a closing quote/);
    expect(err(`text,label\n${rows(12, () => 'same')}`)).toBe(
      'x.csv: every example has the label "same"; a probe needs at least 2 labels',
    );
    expect(err(`text,label\n${rows(5, (i) => String(i % 2))}`)).toBe(
      'x.csv: 5 examples; a probe needs at least 8 (a few hundred give a clear picture)',
    );
    expect(err(`text,label\n${rows(11, (i) => (i === 4 ? 'rare' : String(i % 2)))}`)).toBe(
      'x.csv: the label "rare" has 1 example; each label needs at least 2 (one to train on, one to hold out)',
    );
    expect(err(`text,label,target\n${rows(9, (i) => `${i % 2},cat`)}\nThe dog barked,1,cat`)).toBe(
      'x.csv, line 11: the target word "cat" is not in the text "The dog barked"',
    );
    expect(err(`text,label\n${rows(9, (i) => String(i % 2))}\n  ,1`)).toBe(
      'x.csv, line 11: the text is empty or missing',
    );
    expect(err(`text,label\n${rows(9, (i) => String(i % 2))}\nHello,`)).toBe(
      'x.csv, line 11: the label is empty or missing',
    );
    // Records keep the line they start on, across quoted newlines.
    expect(parseCsvRecords('a,b\n"x\ny",z\nw,v', 'r.csv').map((r) => r.line)).toEqual([1, 2, 4]);
  });

  test('JSON: the shipped format, a bare array, targets as spans, words or absent', () => {
    const examples = [
      { text: 'A red apple', target: [2, 5], label: 'colour' },
      { text: 'A green leaf', target: 'green', label: 'colour' },
      { text: 'She ran home', label: 'verb' },
      { text: 'They swim daily', target: 'swim', label: 'verb' },
      { text: 'Blue sky', target: [0, 4], label: 'colour' },
      { text: 'We sang', label: 'verb' },
      { text: 'Pink', label: 'colour' },
      { text: 'He jumps.', target: 'jumps', label: 'verb' },
    ];
    const d = parseDatasetJson(
      JSON.stringify({ name: 'Mine', labels: ['verb', 'colour'], license: 'CC0', examples }),
      'mine.json',
    );
    expect(d.name).toBe('Mine');
    expect(d.license).toBe('CC0');
    expect(d.labels).toEqual(['verb', 'colour']);
    expect(d.examples.map((e) => e.text.slice(...e.target))).toEqual([
      'red',
      'green',
      'home',
      'swim',
      'Blue',
      'sang',
      'Pink',
      'jumps',
    ]);
    const bare = parseDatasetFile('list.json', JSON.stringify(examples));
    expect(bare.name).toBe('list');
    expect(bare.labels).toEqual(['colour', 'verb']);
    // A .csv name with JSON content is read as JSON; a .csv is read as CSV.
    expect(parseDatasetFile('odd.csv', JSON.stringify(examples)).examples).toHaveLength(8);
    expect(parseDatasetFile('x.csv', `text,label\n${rows(8, (i) => String(i % 2))}`).labels).toEqual([
      '0',
      '1',
    ]);
    expect(() => parseDatasetFile('x.xlsx', 'PK\u0003\u0004')).toThrow(
      /expected a \.csv .* or a \.json file/,
    );
  });

  test('JSON errors', () => {
    const base = Array.from({ length: 8 }, (_, i) => ({
      text: `Word number ${i}`,
      label: i % 2 ? 'a' : 'b',
    }));
    const err = (value: unknown) => () => datasetFromJson(value, 'd.json');
    expect(() => parseDatasetJson('{"examples": [', 'd.json')).toThrow(/^d\.json is not valid JSON: /);
    expect(err({ items: base })).toThrow('d.json: expected an object with an "examples" array');
    expect(err({ labels: ['a'], examples: base })).toThrow(
      'd.json, examples[0]: the label "b" is not one of "labels" ("a")',
    );
    expect(err({ labels: ['a', 'b', 'a'], examples: base })).toThrow('d.json: the label "a" is listed twice');
    expect(err({ labels: ['a', 'b', 'c'], examples: base })).toThrow(
      'd.json: the label "c" has 0 examples; each label needs at least 2',
    );
    expect(err([...base, { text: 'Short', target: [2, 9], label: 'a' }])).toThrow(
      'd.json, examples[8]: the target span [2, 9] is not inside the text (5 characters)',
    );
    expect(err([...base, { text: 'Two words', target: [3, 5], label: 'a' }])).toThrow(
      'd.json, examples[8]: the target span [3, 5] starts or ends with white space (" w")',
    );
    expect(err([...base, { text: 'Two words', target: { start: 0 }, label: 'a' }])).toThrow(
      /examples\[8\]: the target must be a word of the text or a \[start, end\] character span/,
    );
    expect(err([...base, 'just text'])).toThrow('d.json, examples[8]: the text is empty or missing');
    expect(err([...base, { text: '...', label: 'a' }])).toThrow(
      'd.json, examples[8]: the text has no word to probe',
    );
  });

  test('whole words only; the last word skips punctuation', () => {
    expect(findWord('cats and a cat.', 'cat')).toEqual([11, 14]);
    expect(findWord('The Cat sat', 'cat')).toEqual([4, 7]);
    expect(findWord('concatenate', 'cat')).toBeUndefined();
    expect(findWord("the dog's bone", "dog's")).toEqual([4, 9]);
    expect(findWord("the dog's bone", 'dog')).toEqual([4, 7]);
    expect(findWord('a well-known fact', 'known')).toEqual([7, 12]);
    expect(lastWordSpan('He said "well-known"!')).toEqual([9, 19]);
    expect(lastWordSpan('?!')).toBeUndefined();
  });

  test('tokens: the position of the last token of the target, with and without <|endoftext|>', () => {
    // GPT-2 splits "unbelievable" into several tokens: the probe reads the last one.
    const text = 'The unbelievable jury said';
    const span = findWord(text, 'unbelievable')!;
    const plain = locateTarget(tokenizer, text, span, false);
    const ids = tokenizer.encode(text);
    expect(plain.tokens).toEqual(ids);
    expect(tokenizer.decode(ids.slice(0, plain.position + 1))).toBe('The unbelievable');
    expect(tokenizer.decode(ids.slice(0, plain.position))).not.toContain('unbelievable');
    const bos = locateTarget(tokenizer, text, span, true);
    expect(bos.tokens[0]).toBe(50256);
    expect(bos.position).toBe(plain.position + 1);
    // Multi-byte characters: offsets are UTF-16 in the text, bytes in the tokens.
    const accents = 'Le café était très bon';
    const at = locateTarget(tokenizer, accents, findWord(accents, 'très')!, false);
    expect(tokenizer.decode(at.tokens.slice(0, at.position + 1))).toBe('Le café était très');

    const dataset = datasetFromJson(
      Array.from({ length: 8 }, (_, i) => ({
        text: `word ${i} and then some more words`,
        target: `${i}`,
        label: `${i % 2}`,
      })),
      'd.json',
    );
    const { inputs, labels } = prepareProbeInputs(dataset, tokenizer, { bos: true, nCtx: 64 });
    // Only the tokens up to the target run (the model is causal).
    expect(inputs[0]!.tokens).toEqual([50256, ...tokenizer.encode('word 0')]);
    expect(inputs[0]!.position).toBe(inputs[0]!.tokens.length - 1);
    expect([...labels]).toEqual([0, 1, 0, 1, 0, 1, 0, 1]);
    // The context limits the tokens up to the target, not the whole text.
    expect(prepareProbeInputs(dataset, tokenizer, { bos: true, nCtx: 3 }).skipped).toBe(0);
    // Examples that do not fit are left out…
    const mixed = datasetFromJson(
      Array.from({ length: 10 }, (_, i) => ({
        text: i < 2 ? 'a b c d e f g h i j k' : `w${i} x`,
        label: `${i % 2}`,
      })),
      'm.json',
    );
    const fit = prepareProbeInputs(mixed, tokenizer, { bos: false, nCtx: 5 });
    expect(fit.skipped).toBe(2);
    expect(fit.kept).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect([...fit.labels]).toEqual([0, 1, 0, 1, 0, 1, 0, 1]);
    // …unless too few are left.
    expect(() => prepareProbeInputs(dataset, tokenizer, { bos: true, nCtx: 2 })).toThrow(
      "d: 8 of 8 examples have more tokens up to their target word than the model's context (2), and too " +
        'few are left to probe (the label "0" has 0); shorten the texts or use a model with a longer context',
    );
  });
});
