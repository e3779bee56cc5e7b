// Subject number, authored by the project: template sentences "The {subject} {preposition} the
// {adjectives} {attractor} {verb} …" ("The keys to the old cabinet are …"), labelled with the
// number of the subject (singular / plural), read at the last word before the verb: the verb itself
// would give the answer away by its form. Each template instance is written four times, the subject
// and the attractor (the noun just before the verb) each singular and plural, so neither the probed
// word nor anything near it tells the label: half the examples have an attractor of the other
// number. The four share a `group`, and probes hold out whole groups (no sentence frame is seen in
// training and in testing). Every noun is one GPT-2 token in both numbers, so the four variants
// have as many tokens and their positions say nothing either (test/probes-syntax.test.ts checks).

import type { ProbeDataset, ProbeExample } from '../../src/instruments/probe-data';
import { dataset, mulberry32 } from './common';

export const subjectNumberLabels = ['singular', 'plural'] as const;

const pairs = (list: string) => list.split(' ').map((p) => p.split('/') as [string, string]);

/** Subjects and attractors, [singular, plural]. */
export const subjects = pairs(
  'key/keys dog/dogs teacher/teachers car/cars book/books girl/girls boy/boys man/men ' +
    'woman/women child/children letter/letters student/students officer/officers bird/birds ' +
    'picture/pictures farmer/farmers doctor/doctors worker/workers friend/friends report/reports ' +
    'soldier/soldiers player/players painting/paintings bottle/bottles leader/leaders author/authors',
);
export const attractors = pairs(
  'cabinet/cabinets door/doors table/tables window/windows garden/gardens building/buildings ' +
    'river/rivers school/schools office/offices road/roads wall/walls village/villages farm/farms ' +
    'station/stations hill/hills church/churches box/boxes city/cities shop/shops bridge/bridges',
);
const prepositions = [
  'to',
  'near',
  'behind',
  'beside',
  'by',
  'from',
  'in front of',
  'next to',
  'across from',
];
const adjectives =
  'old new small large red quiet dark empty narrow distant busy white ancient broken famous green'.split(' ');
/** The verb (singular / plural form) and what follows it. */
const predicates: readonly [string, string, string][] = [
  ['is', 'are', 'on the list.'],
  ['was', 'were', 'very old.'],
  ['has', 'have', 'been there for years.'],
  ['is', 'are', 'missing again.'],
  ['was', 'were', 'seen last week.'],
  ['seems', 'seem', 'out of place.'],
];
/** Words before the subject, so that positions vary across groups. */
const openings = ['', 'Yesterday, ', 'As we expected, ', 'In the end, '];

const groups = 96;
const seed = 1871;

export function buildSubjectNumber(): ProbeDataset {
  const random = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const examples: ProbeExample[] = [];
  const seen = new Set<string>();
  while (seen.size < groups) {
    const subject = pick(subjects);
    const attractor = pick(attractors);
    const preposition = pick(prepositions);
    const adjs = random() < 0.5 ? [pick(adjectives)] : [pick(adjectives), pick(adjectives)];
    if (adjs[0] === adjs[1]) continue;
    const [sg, pl, rest] = pick(predicates);
    const opening = pick(openings);
    const key = [subject[0], attractor[0], preposition, ...adjs, sg, rest, opening].join('|');
    if (seen.has(key)) continue;
    seen.add(key);
    const group = `g${seen.size}`;
    for (const s of [0, 1] as const) {
      for (const a of [0, 1] as const) {
        const the = opening === '' ? 'The' : 'the';
        const before = `${opening}${the} ${subject[s]} ${preposition} the ${adjs.join(' ')} `;
        const word = attractor[a];
        const text = `${before}${word} ${s === 0 ? sg : pl} ${rest}`;
        examples.push({
          text,
          target: [before.length, before.length + word.length],
          label: subjectNumberLabels[s],
          group,
        });
      }
    }
  }
  return dataset(
    {
      name: 'Subject number',
      description:
        `${groups} sentence frames "The keys to the old cabinet are …", each with the subject and the noun ` +
        'before the verb (the attractor) singular and plural (4 sentences); the label is the number of the ' +
        'subject, read at the last word before the verb. The attractor has the other number in half of ' +
        'them, and probes hold out whole frames.',
      license: 'MIT, authored by the Strata project (word lists and templates)',
      source:
        'Written for Strata; built by tools/datasets/subject-number.ts (seeded choice of nouns, ' +
        'preposition, adjectives and predicate per frame).',
    },
    subjectNumberLabels,
    examples,
  );
}
