// The middle-layer detectors' datasets (src/instruments/datasets/), labels checked by construction
// with GPT-2's real tokenizer: each sequence is the tokenization of its whole text (so the per-piece
// positions are the model's own), every relation's positions are recomputed from text prefixes
// (an independent path to the same index: the last token of the word) and carry the roles they
// claim (a noun and its determiner or adjective, a verb agreeing in number with its subject, a
// pronoun and the antecedent its gender or number picks), and the words of several tokens count
// by their last token.
import { describe, expect, test } from 'vitest';
import { defaultDatasetTokens, middleDatasets } from '../src/instruments/datasets/encode';
import {
  adjectives,
  coreferenceSentences,
  determiners,
  groups,
  men,
  nouns,
  pastVerbs,
  syntaxSentences,
  verbs,
  women,
  type TemplateText,
} from '../src/instruments/datasets/templates';
import { gpt2Tokenizer } from './support/tiny-models';

const tok = gpt2Tokenizer();
const bos = 50256;
const options = { maxTokens: defaultDatasetTokens(1024), bos };
const data = middleDatasets(tok, options);
const word = (position: number, tokens: readonly number[]) => {
  // The whole word ending at `position`: tokens back to the one that starts with a space.
  let start = position;
  while (start > 1 && !tok.decode([tokens[start]!]).startsWith(' ')) start--;
  return tok.decode(tokens.slice(start, position + 1)).trim();
};
const singular = new Set(nouns.map((n) => n[0]));
const plural = new Set(nouns.map((n) => n[1]));

/** Independent positions: for each piece, the token count of the text up to and including it. */
function prefixEnds(sentences: readonly TemplateText[], count: number): number[][] {
  let text = '';
  return sentences.slice(0, count).map((s) =>
    s.pieces.map((p) => {
      text += p;
      return tok.encode(text.replace(/^ /, ' ')).length; // + BOS − 1
    }),
  );
}

describe('the datasets, by construction', () => {
  test('each sequence is the tokenization of its whole text, BOS first, within the budget', () => {
    for (const d of [data.syntax, data.coreference, data.passage]) {
      expect(d.tokens[0]).toBe(bos);
      expect(d.tokens.length).toBeLessThanOrEqual(options.maxTokens);
      expect(d.tokens.length).toBeGreaterThan(options.maxTokens - 24);
    }
    expect(data.syntax.tokens.slice(1)).toEqual(tok.encode(' ' + data.syntax.text));
    expect(data.coreference.tokens.slice(1)).toEqual(tok.encode(' ' + data.coreference.text));
    expect(data.passage.tokens.slice(1)).toEqual(
      tok.encode(data.passage.text).slice(0, options.maxTokens - 1),
    );
    expect(data.syntax.sentences).toBeGreaterThanOrEqual(8);
    expect(data.coreference.sentences).toBeGreaterThanOrEqual(10);
  });

  test('syntax: positions from text prefixes; nouns → determiners/adjectives, verbs → agreeing subjects', () => {
    const sentences = syntaxSentences(data.syntax.sentences);
    const ends = prefixEnds(sentences, data.syntax.sentences);
    const want = { modifier: [] as [number, number][], subject: [] as [number, number][] };
    for (const [i, s] of sentences.entries()) {
      for (const r of s.relations) want[r.kind].push([ends[i]![r.from]!, ends[i]![r.to]!]);
    }
    const tokens = data.syntax.tokens;
    for (const kind of ['modifier', 'subject'] as const) {
      const got = data.syntax.relations[kind];
      expect(got.map((p) => [p.query, p.key])).toEqual(want[kind]);
      expect(got.length).toBeGreaterThanOrEqual(kind === 'modifier' ? 20 : 8);
      for (const p of got) expect(p.key).toBeGreaterThanOrEqual(1);
      for (const p of got) expect(p.key).toBeLessThan(p.query);
    }
    const mods = new Set(
      [...determiners.sg, ...determiners.pl, 'a'].flatMap((d) => [d, d[0]!.toUpperCase() + d.slice(1)]),
    );
    for (const a of adjectives) mods.add(a);
    for (const p of data.syntax.relations.modifier) {
      const noun = word(p.query, tokens);
      expect(
        singular.has(noun) || plural.has(noun) || ['table', 'garden', 'door', 'problem'].includes(noun),
        noun,
      ).toBe(true);
      expect(mods.has(word(p.key, tokens)), word(p.key, tokens)).toBe(true);
    }
    let far = 0;
    for (const p of data.syntax.relations.subject) {
      const verb = word(p.query, tokens);
      const subject = word(p.key, tokens);
      const sg = verbs.some((v) => v[0] === verb);
      const pl = verbs.some((v) => v[1] === verb);
      if (pastVerbs.includes(verb)) expect(singular.has(subject) || plural.has(subject)).toBe(true);
      else {
        expect(sg || pl, verb).toBe(true);
        expect(sg ? singular.has(subject) : plural.has(subject), `${subject} … ${verb}`).toBe(true);
      }
      if (p.query - p.key >= 3) far++;
    }
    // Across an intervening phrase: the subject is not next to its verb.
    expect(far).toBe(
      data.syntax.relations.subject.filter((p) => !pastVerbs.includes(word(p.query, tokens))).length,
    );
  });

  test('coreference: the pronoun, the antecedent its gender or number picks, and the other candidate', () => {
    const sentences = coreferenceSentences(data.coreference.sentences);
    const ends = prefixEnds(sentences, data.coreference.sentences);
    const want = sentences.flatMap((s, i) =>
      s.coreferences.map((r) => [ends[i]![r.pronoun]!, ends[i]![r.correct]!, ends[i]![r.wrong]!]),
    );
    const pairs = data.coreference.pairs;
    expect(pairs.map((p) => [p.query, p.correct, p.wrong])).toEqual(want);
    const tokens = data.coreference.tokens;
    const cues = new Set(pairs.map((p) => p.cue));
    expect(cues).toEqual(new Set(['gender', 'number']));
    for (const p of pairs) {
      const pronoun = word(p.query, tokens);
      const correct = word(p.correct, tokens);
      const wrong = word(p.wrong, tokens);
      expect(Math.max(p.correct, p.wrong)).toBeLessThan(p.query);
      if (pronoun === 'she') expect(women).toContain(correct);
      else if (pronoun === 'he') expect(men).toContain(correct);
      else {
        expect(pronoun).toBe('they');
        expect(groups).toContain(correct);
      }
      if (p.cue === 'gender') expect(pronoun === 'she' ? men : women).toContain(wrong);
      else expect(pronoun === 'they' ? women : groups).toContain(wrong);
    }
  });

  test('words of several tokens count by their last token', () => {
    const multi = [...nouns.flat(), ...women, ...men, 'gleaming'].filter(
      (w) => tok.encode(` ${w}`).length > 1,
    );
    expect(multi.length).toBeGreaterThanOrEqual(8); // violinist, carpenters, Gwendolyn, …
    const positions = [
      ...Object.values(data.syntax.relations).flatMap((ps) => ps.flatMap((p) => [[p.query, p.key]]).flat()),
    ];
    let seen = 0;
    for (const at of positions) {
      const w = word(at, data.syntax.tokens);
      if (!multi.includes(w)) continue;
      seen++;
      const ids = tok.encode(` ${w}`);
      expect(data.syntax.tokens.slice(at - ids.length + 1, at + 1)).toEqual(ids);
      expect(
        tok.decode([data.syntax.tokens[at + 1]!]).startsWith(' ') ||
          /^[.,]$/.test(tok.decode([data.syntax.tokens[at + 1]!])),
      ).toBe(true);
    }
    for (const p of data.coreference.pairs) {
      for (const at of [p.correct, p.wrong]) {
        const w = word(at, data.coreference.tokens);
        if (multi.includes(w)) seen++;
      }
    }
    expect(seen).toBeGreaterThan(0);
  });

  test('deterministic for a seed; another seed gives other sentences; a small budget is refused clearly', () => {
    expect(middleDatasets(tok, options)).toEqual(data);
    expect(middleDatasets(tok, { ...options, seed: 5 }).syntax.text).not.toBe(data.syntax.text);
    expect(() => middleDatasets(tok, { maxTokens: 8, bos })).toThrow('at least 16 tokens, not 8');
    const noBos = middleDatasets(tok, { maxTokens: 64, bos: null });
    expect(noBos.syntax.tokens).toEqual(tok.encode(' ' + noBos.syntax.text));
  });
});
