// Subordinate clauses, authored by the project: template sentences with the clause spans known by
// construction — relative clauses ("The man who the dog chased ran away."), adverbial clauses first
// or last ("When the rain stopped, the children played." / "… because the …"), complement clauses —
// and four probed words per sentence: a noun and a verb inside the subordinate clause and a noun and
// a verb of the main clause, labelled subordinate / main. Nouns and verbs come from the same lists
// in both clauses and the clause comes first, in the middle or last, so neither the word nor its
// position tells the label (adverbial clauses come in both orders: "When the dog ran, the cat
// slept." / "The cat slept when the dog ran."); the subordinators themselves (who, when, because,
// …) are never probed. The words of a frame (one sentence, or both orders) share a `group`:
// probes hold out whole frames.

import type { ProbeDataset, ProbeExample } from '../../src/instruments/probe-data';
import { dataset, mulberry32, shuffled } from './common';

export const clauseLabels = ['main', 'subordinate'] as const;
type Clause = (typeof clauseLabels)[number];

const nouns = (
  'dog cat man woman boy girl teacher doctor farmer child soldier student driver writer painter ' +
  'king queen bird horse neighbor'
).split(' ');
const transitive = 'chased saw helped followed called visited watched found met thanked praised warned'.split(
  ' ',
);
const intransitive = 'ran laughed slept smiled waited left arrived cried danced shouted stayed fell'.split(
  ' ',
);
const adverbs = ['quickly', 'again', 'early', 'loudly', 'outside', 'there'];
/** Words before the sentence, of 0 to 7 tokens, so that a word's position says little of its clause. */
const openings = [
  '',
  'Then ',
  'Yesterday, ',
  'Last week, ',
  'In the morning, ',
  'Early one morning, ',
  'On a cold day last winter, ',
  'As everyone in the town knew, ',
];

/** A piece of a sentence: plain text, or a probed word with the clause it belongs to. */
type Piece = string | { readonly word: string; readonly clause: Clause };
const main = (word: string): Piece => ({ word, clause: 'main' });
const sub = (word: string): Piece => ({ word, clause: 'subordinate' });

interface Words {
  readonly n: readonly [string, string, string];
  readonly vt: readonly [string, string];
  readonly vi: readonly [string, string];
  readonly adv: string;
  /** A verb that takes a clause: one of the transitive verbs. */
  readonly say: string;
}

/** Each template: two probed words of the main clause and two of the subordinate clause. */
const templates: readonly ((w: Words) => Piece[])[] = [
  // Object relative clause in the middle.
  ({ n, vt, vi, adv }) => [
    'the ',
    main(n[0]),
    ' who the ',
    sub(n[1]),
    ' ',
    sub(vt[0]),
    ' ',
    main(vi[0]),
    ` ${adv}.`,
  ],
  // Subject relative clause in the middle.
  ({ n, vt, vi, adv }) => [
    'the ',
    main(n[0]),
    ' that ',
    sub(vt[0]),
    ' the ',
    sub(n[1]),
    ' ',
    main(vi[0]),
    ` ${adv}.`,
  ],
  // Complement clause last (its verb from the transitive list, so that it is no cue either).
  ({ n, vi, say }) => ['the ', main(n[0]), ' ', main(say), ' that the ', sub(n[1]), ' ', sub(vi[0]), '.'],
];

/**
 * Adverbial clauses: the subordinator, the subordinate clause and the main clause, each sentence
 * written in both orders ("When the dog ran, the cat slept." / "The cat slept when the dog ran."),
 * so that the same words sit early in one and late in the other.
 */
const adverbials: readonly [string, (w: Words) => Piece[], (w: Words) => Piece[]][] = [
  [
    'when',
    ({ n, vi }) => ['the ', sub(n[0]), ' ', sub(vi[0])],
    ({ n, vi }) => ['the ', main(n[1]), ' ', main(vi[1])],
  ],
  [
    'although',
    ({ n, vt }) => ['the ', sub(n[0]), ' ', sub(vt[0]), ' the ', n[2]],
    ({ n, vi }) => ['the ', main(n[1]), ' ', main(vi[0])],
  ],
  [
    'before',
    ({ n, vt }) => ['the ', sub(n[0]), ' ', sub(vt[0]), ' the ', n[2]],
    ({ n, vt }) => ['the ', main(n[1]), ' ', main(vt[1]), ' us'],
  ],
  [
    'because',
    ({ n, vi }) => ['the ', sub(n[1]), ' ', sub(vi[1])],
    ({ n, vi }) => ['the ', main(n[0]), ' ', main(vi[0])],
  ],
  [
    'while',
    ({ n, vt }) => ['the ', sub(n[1]), ' ', sub(vt[0]), ' the ', n[2]],
    ({ n, vi }) => ['the ', main(n[0]), ' ', main(vi[0])],
  ],
  [
    'after',
    ({ n, vi }) => ['the ', sub(n[1]), ' ', sub(vi[0])],
    ({ n, vt }) => ['the ', main(n[0]), ' ', main(vt[0]), ' the ', n[2]],
  ],
];

/** Every sentence frame's sentences: one for the templates, both orders for the adverbials. */
const frames: readonly { readonly name: string; readonly sentences: (w: Words) => Piece[][] }[] = [
  ...templates.map((t, i) => ({ name: `t${i}`, sentences: (w: Words) => [[...t(w), '']] })),
  ...adverbials.map(([subordinator, clause, mainClause]) => ({
    name: subordinator,
    sentences: (w: Words) => [
      [`${subordinator} `, ...clause(w), ', ', ...mainClause(w), '.'],
      [...mainClause(w), ` ${subordinator} `, ...clause(w), '.'],
    ],
  })),
];

/** Frames per template or adverbial: 10 × 3 sentences + 5 × 6 × 2 sentences. */
const perFrame = (name: string) => (name.startsWith('t') ? 10 : 5);
const seed = 1957;

export function buildSubordinateClause(): ProbeDataset {
  const random = mulberry32(seed);
  const draw = <T>(items: readonly T[], k: number): T[] => shuffled(items, random).slice(0, k);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const examples: ProbeExample[] = [];
  let sentences = 0;
  for (const frame of frames) {
    for (let i = 0; i < perFrame(frame.name); i++) {
      const words: Words = {
        n: draw(nouns, 3) as [string, string, string],
        vt: draw(transitive, 2) as [string, string],
        vi: draw(intransitive, 2) as [string, string],
        adv: pick(adverbs),
        say: pick(['saw', 'found']),
      };
      const opening = pick(openings);
      const group = `${frame.name}-${i}`;
      for (const pieces of frame.sentences(words)) {
        sentences++;
        let text = '';
        const targets: { start: number; end: number; clause: Clause }[] = [];
        for (const [p, piece] of [opening, ...pieces].entries()) {
          // The sentence's first letter is a capital, after the opening or without one.
          const capital = (s: string) => (text === '' && s !== '' ? s[0]!.toUpperCase() + s.slice(1) : s);
          if (typeof piece === 'string') {
            text += capital(piece);
          } else {
            if (p <= 1) throw new Error('template bug: a probed word cannot open the sentence');
            targets.push({ start: text.length, end: text.length + piece.word.length, clause: piece.clause });
            text += piece.word;
          }
        }
        const count = (c: Clause) => targets.filter((x) => x.clause === c).length;
        if (count('main') !== 2 || count('subordinate') !== 2)
          throw new Error(`${frame.name} needs 2 main and 2 subordinate words`);
        for (const x of targets) examples.push({ text, target: [x.start, x.end], label: x.clause, group });
      }
    }
  }
  return dataset(
    {
      name: 'Subordinate clause',
      description:
        `${sentences} template sentences with a relative, adverbial or complement clause ("The man who the ` +
        'dog chased ran away.", "When the rain stopped, the children played."), 4 words each: a noun and a ' +
        'verb inside the subordinate clause and a noun and a verb of the main clause; adverbial clauses in ' +
        'both orders. The label says which clause the word is in; probes hold out whole frames.',
      license: 'MIT, authored by the Strata project (word lists and templates)',
      source:
        'Written for Strata; built by tools/datasets/subordinate-clause.ts (seeded choice of words and ' +
        'opening per sentence, clause spans known by construction).',
    },
    clauseLabels,
    examples,
  );
}
