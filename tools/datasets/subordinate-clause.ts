// Subordinate clauses, authored by the project: template sentences with the clause spans known by
// construction — relative clauses ("The man who the dog chased ran away."), adverbial clauses first
// or last ("When the rain stopped, the children played." / "… because the …"), complement clauses —
// and four probed words per sentence: a noun and a verb inside the subordinate clause and a noun and
// a verb of the main clause, labelled subordinate / main. Nouns and verbs come from the same lists
// in both clauses and the clause comes first, in the middle or last, so neither the word nor its
// position tells the label; the subordinators themselves (who, when, because, …) are never probed.
// The four words of a sentence share a `group`: probes hold out whole sentences.

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
const openings = ['', 'Yesterday, ', 'Last week, ', 'In the morning, '];

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
  // Adverbial clause first.
  ({ n, vi }) => ['when the ', sub(n[0]), ' ', sub(vi[0]), ', the ', main(n[1]), ' ', main(vi[1]), '.'],
  ({ n, vt, vi }) => [
    'although the ',
    sub(n[0]),
    ' ',
    sub(vt[0]),
    ' the ',
    n[2],
    ', the ',
    main(n[1]),
    ' ',
    main(vi[0]),
    '.',
  ],
  ({ n, vt }) => [
    'before the ',
    sub(n[0]),
    ' ',
    sub(vt[0]),
    ' the ',
    n[2],
    ', the ',
    main(n[1]),
    ' ',
    main(vt[1]),
    ' us.',
  ],
  // Adverbial clause last.
  ({ n, vi }) => ['the ', main(n[0]), ' ', main(vi[0]), ' because the ', sub(n[1]), ' ', sub(vi[1]), '.'],
  ({ n, vt, vi }) => [
    'the ',
    main(n[0]),
    ' ',
    main(vi[0]),
    ' while the ',
    sub(n[1]),
    ' ',
    sub(vt[0]),
    ' the ',
    n[2],
    '.',
  ],
  ({ n, vt, vi }) => [
    'the ',
    main(n[0]),
    ' ',
    main(vt[0]),
    ' the ',
    n[2],
    ' after the ',
    sub(n[1]),
    ' ',
    sub(vi[0]),
    '.',
  ],
  // Complement clause last (its verb from the transitive list, so that it is no cue either).
  ({ n, vi, say }) => ['the ', main(n[0]), ' ', main(say), ' that the ', sub(n[1]), ' ', sub(vi[0]), '.'],
];

const perTemplate = 10;
const seed = 1957;

export function buildSubordinateClause(): ProbeDataset {
  const random = mulberry32(seed);
  const draw = <T>(items: readonly T[], k: number): T[] => shuffled(items, random).slice(0, k);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const examples: ProbeExample[] = [];
  let sentences = 0;
  for (const [t, template] of templates.entries()) {
    for (let i = 0; i < perTemplate; i++) {
      const words: Words = {
        n: draw(nouns, 3) as [string, string, string],
        vt: draw(transitive, 2) as [string, string],
        vi: draw(intransitive, 2) as [string, string],
        adv: pick(adverbs),
        say: pick(['saw', 'found']),
      };
      const opening = pick(openings);
      const pieces = template(words);
      const group = `t${t}s${i}`;
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
        throw new Error(`template ${t} needs 2 main and 2 subordinate words`);
      for (const x of targets) examples.push({ text, target: [x.start, x.end], label: x.clause, group });
    }
  }
  return dataset(
    {
      name: 'Subordinate clause',
      description:
        `${sentences} template sentences with a relative, adverbial or complement clause ("The man who the ` +
        'dog chased ran away.", "When the rain stopped, the children played."), 4 words each: a noun and a ' +
        'verb inside the subordinate clause and a noun and a verb of the main clause. The label says ' +
        'which clause the word is in; probes hold out whole sentences.',
      license: 'MIT, authored by the Strata project (word lists and templates)',
      source:
        'Written for Strata; built by tools/datasets/subordinate-clause.ts (seeded choice of words and ' +
        'opening per sentence, clause spans known by construction).',
    },
    clauseLabels,
    examples,
  );
}
