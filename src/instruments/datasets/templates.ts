// The middle-layer detectors' datasets, generated from templates so that their structure is known by
// construction (docs/middle-layers.md). Pure data and a seeded generator: a text is a list of
// pieces, each one of GPT-2's pre-tokens (" keys", ",", " the"), so that tokenizing the pieces one
// by one gives the tokens of the whole text and each piece's last token is known (encode.ts).
// Relations name pieces by index; a word of several tokens counts by its last token.
//
//   syntax       "The old keys to the wooden cabinet are on the table." subject–verb pairs across an
//                intervening prepositional phrase or relative clause (the attractor noun's number
//                differs from the subject's half of the time), and every noun's determiner and
//                adjective.
//   coreference  "When Mary met John, she smiled." a pronoun and two candidate antecedents, told
//                apart by gender (she/he against a woman's and a man's name) or by number (they
//                against a plural noun phrase and a name).
//   passage      a long passage of the Brown corpus (passage.ts): aggregation and punctuation sinks.

import { mulberry32 } from '../../model/random';

/** Which dependent attends to which head word: the later word (query) and the earlier one (key). */
export type RelationKind = 'modifier' | 'subject';

export interface Relation {
  readonly kind: RelationKind;
  /** Piece index of the dependent: the noun (modifier) or the verb (subject). */
  readonly from: number;
  /** Piece index of the head word: the determiner or adjective (modifier), the subject noun. */
  readonly to: number;
}

export interface Coreference {
  /** Piece index of the pronoun. */
  readonly pronoun: number;
  /** Piece indices of the antecedent the pronoun refers to and of the other candidate. */
  readonly correct: number;
  readonly wrong: number;
  readonly cue: 'gender' | 'number';
}

export interface TemplateText {
  readonly pieces: readonly string[];
  readonly relations: readonly Relation[];
  readonly coreferences: readonly Coreference[];
}

type Grammatical = 'sg' | 'pl';
// Exported for the tests, which check the labels by construction.
export const nouns: readonly (readonly [string, string])[] = [
  ['key', 'keys'],
  ['cabinet', 'cabinets'],
  ['dog', 'dogs'],
  ['teacher', 'teachers'],
  ['book', 'books'],
  ['window', 'windows'],
  ['doctor', 'doctors'],
  ['letter', 'letters'],
  ['student', 'students'],
  ['picture', 'pictures'],
  ['house', 'houses'],
  ['child', 'children'],
  ['farmer', 'farmers'],
  ['officer', 'officers'],
  ['painting', 'paintings'],
  ['senator', 'senators'],
  // Several tokens each in GPT-2's vocabulary (the word counts by its last token):
  ['violinist', 'violinists'],
  ['carpenter', 'carpenters'],
  ['saxophone', 'saxophones'],
];
export const adjectives = [
  'old',
  'new',
  'small',
  'large',
  'red',
  'young',
  'quiet',
  'tall',
  'famous',
  'wooden',
  'gleaming',
];
export const determiners: Readonly<Record<Grammatical, readonly string[]>> = {
  sg: ['the', 'this', 'my', 'that'],
  pl: ['the', 'these', 'my', 'those'],
};
const prepositions = ['to', 'near', 'behind', 'beside', 'of', 'with', 'from'];
/** Verb (singular, plural) and a tail that follows it. */
export const verbs: readonly (readonly [string, string, readonly string[]])[] = [
  ['is', 'are', ['on', 'the', 'table']],
  ['was', 'were', ['in', 'the', 'garden']],
  ['has', 'have', ['a', 'problem']],
  ['seems', 'seem', ['happy']],
  ['stands', 'stand', ['by', 'the', 'door']],
];
export const pastVerbs = ['saw', 'liked', 'found', 'painted', 'visited'];
export const women = [
  'Mary',
  'Anna',
  'Sarah',
  'Emma',
  'Alice',
  'Linda',
  'Susan',
  'Karen',
  'Gwendolyn',
  'Priscilla',
];
export const men = [
  'John',
  'James',
  'David',
  'Peter',
  'Robert',
  'Thomas',
  'Michael',
  'George',
  'Bartholomew',
  'Mortimer',
];
export const groups = ['boys', 'girls', 'students', 'farmers', 'soldiers', 'children'];
const meetings = ['met', 'saw', 'called', 'visited', 'thanked'];
const actions = ['smiled', 'laughed', 'left', 'waved', 'sat down', 'spoke first'];

/** A text under construction: pieces with a leading space unless they are punctuation. */
class Builder {
  readonly pieces: string[] = [];
  readonly relations: Relation[] = [];
  readonly coreferences: Coreference[] = [];
  /** Adds words (each its own piece, " word"; "," and "." bare) and returns the last one's index. */
  add(...words: string[]): number {
    for (const w of words) this.pieces.push(/^[.,;:!?]$/.test(w) ? w : ` ${w}`);
    return this.pieces.length - 1;
  }
  rel(kind: RelationKind, from: number, to: number): void {
    this.relations.push({ kind, from, to });
  }
  /** A noun phrase "det [adj] noun" with its modifier relations; returns the noun's piece. */
  phrase(rand: () => number, number: Grammatical, withAdjective: boolean, capital = false): number {
    const [sg, pl] = pick(rand, nouns);
    let det = pick(rand, determiners[number]);
    if (capital) det = det[0]!.toUpperCase() + det.slice(1);
    const d = this.add(det);
    const a = withAdjective ? this.add(pick(rand, adjectives)) : -1;
    const n = this.add(number === 'sg' ? sg : pl);
    this.rel('modifier', n, d);
    if (a >= 0) this.rel('modifier', n, a);
    return n;
  }
  text(): TemplateText {
    return { pieces: this.pieces, relations: this.relations, coreferences: this.coreferences };
  }
}

function pick<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)]!;
}

/**
 * One syntax sentence: "The [adj] N1 prep the [adj] N2 V tail." or "The N1 that the N2 Vpast V
 * tail." — V agrees with N1 (subject relation V → N1; in the relative clause also Vpast → N2).
 */
function syntaxSentence(b: Builder, rand: () => number): void {
  const number: Grammatical = rand() < 0.5 ? 'sg' : 'pl';
  const attractor: Grammatical = rand() < 0.5 ? number : number === 'sg' ? 'pl' : 'sg';
  const [vsg, vpl, tail] = pick(rand, verbs);
  const subject = b.phrase(rand, number, rand() < 0.6, true);
  if (rand() < 0.6) {
    b.add(pick(rand, prepositions));
    b.phrase(rand, attractor, rand() < 0.6);
  } else {
    b.add('that');
    const inner = b.phrase(rand, attractor, rand() < 0.4);
    const past = b.add(pick(rand, pastVerbs));
    b.rel('subject', past, inner);
  }
  const verb = b.add(number === 'sg' ? vsg : vpl);
  b.rel('subject', verb, subject);
  for (const [i, w] of tail.entries()) {
    const at = b.add(w);
    // "the table", "a problem": the tail's noun and its determiner.
    if (i > 0 && (tail[i - 1] === 'the' || tail[i - 1] === 'a')) b.rel('modifier', at, at - 1);
  }
  b.add('.');
}

/**
 * One coreference sentence. Gender: "When A met B, she/he acted." with A and B of different gender.
 * Number: "When the boys met A, they/she acted." (the group, or the woman).
 */
function coreferenceSentence(b: Builder, rand: () => number, index: number): void {
  b.add('When');
  const verb = pick(rand, meetings);
  if (index % 3 !== 2) {
    const woman = pick(rand, women);
    const man = pick(rand, men);
    const womanFirst = rand() < 0.5;
    const first = b.add(womanFirst ? woman : man);
    b.add(verb);
    const second = b.add(womanFirst ? man : woman);
    b.add(',');
    const she = index % 2 === 0;
    const pronoun = b.add(she ? 'she' : 'he');
    const [w, m] = womanFirst ? [first, second] : [second, first];
    b.coreferences.push({ pronoun, correct: she ? w : m, wrong: she ? m : w, cue: 'gender' });
  } else {
    b.add('the');
    const group = b.add(pick(rand, groups));
    b.add(verb);
    const woman = b.add(pick(rand, women));
    b.add(',');
    const they = rand() < 0.5;
    const pronoun = b.add(they ? 'they' : 'she');
    b.coreferences.push({
      pronoun,
      correct: they ? group : woman,
      wrong: they ? woman : group,
      cue: 'number',
    });
  }
  for (const w of pick(rand, actions).split(' ')) b.add(w);
  b.add('.');
}

/** The syntax dataset's first `count` sentences (seeded); encode.ts keeps as many as fit. */
export function syntaxSentences(count: number, seed = 0): TemplateText[] {
  const rand = mulberry32(seed);
  return Array.from({ length: count }, () => {
    const b = new Builder();
    syntaxSentence(b, rand);
    return b.text();
  });
}

/** The coreference dataset's first `count` sentences (seeded). */
export function coreferenceSentences(count: number, seed = 0): TemplateText[] {
  const rand = mulberry32(seed + 1);
  return Array.from({ length: count }, (_, i) => {
    const b = new Builder();
    coreferenceSentence(b, rand, i);
    return b.text();
  });
}
