// Entity type, authored by the project: 50 each of people's first names, cities, countries,
// animals and foods, each once, in template sentences that fit every type ("We talked about {x}
// for most of the evening."), so the sentence says nothing about the label; the probe reads the entity.
// Animals and foods are plural or mass nouns (no article), like the names. Words that belong to
// two types (Turkey, Jordan, Georgia, Chad, Mexico, Singapore) are left out.

import type { ProbeDataset, ProbeExample } from '../../src/instruments/probe-data';
import { dataset, fillTemplate, mulberry32 } from './common';

export const entityLabels = ['person', 'city', 'country', 'animal', 'food'] as const;

const words = (list: string) => list.split(' ');

const entities: Record<(typeof entityLabels)[number], readonly string[]> = {
  person: words(
    'James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara ' +
      'Richard Susan Joseph Jessica Thomas Sarah Charles Karen Daniel Nancy Matthew Lisa ' +
      'Anthony Betty Mark Margaret Donald Sandra Steven Ashley Paul Emily Andrew Donna Joshua ' +
      'Michelle Kenneth Carol Kevin Amanda Brian Melissa George Deborah Edward Stephanie Ronald ' +
      'Rebecca',
  ),
  city: words(
    'London Paris Tokyo Berlin Madrid Rome Moscow Beijing Cairo Sydney Toronto Chicago Boston ' +
      'Seattle Dallas Houston Atlanta Denver Miami Phoenix Vienna Prague Dublin Lisbon Athens ' +
      'Istanbul Mumbai Delhi Shanghai Seoul Bangkok Nairobi Lagos Lima Bogota Montreal ' +
      'Vancouver Melbourne Amsterdam Brussels Stockholm Oslo Helsinki Warsaw Budapest Munich ' +
      'Milan Barcelona Osaka Manila',
  ),
  country: words(
    'France Germany Spain Italy Japan China India Brazil Canada Russia Egypt Kenya Nigeria ' +
      'Peru Chile Argentina Australia Sweden Norway Finland Denmark Poland Greece Iran Iraq ' +
      'Pakistan Thailand Vietnam Indonesia Ireland Portugal Austria Hungary Belgium Switzerland ' +
      'Ukraine Morocco Ethiopia Colombia Venezuela Cuba Jamaica Iceland Bolivia Ecuador Uruguay ' +
      'Nepal Mongolia Cambodia Algeria',
  ),
  animal: words(
    'tigers lions elephants horses rabbits wolves foxes bears dolphins whales sharks eagles ' +
      'owls parrots penguins zebras giraffes monkeys gorillas camels donkeys goats sheep cows ' +
      'pigs deer squirrels mice rats frogs snakes lizards turtles crocodiles spiders bees ants ' +
      'butterflies beetles mosquitoes pigeons ducks geese swans crows badgers otters beavers ' +
      'hedgehogs kangaroos',
  ),
  food: words(
    'bread rice cheese butter pasta noodles soup apples bananas oranges grapes strawberries ' +
      'potatoes carrots tomatoes onions garlic beans lentils eggs yogurt honey chocolate ' +
      'cookies pancakes sandwiches pizza salad oatmeal cereal biscuits muffins sausages bacon ' +
      'dumplings tacos burritos sushi curry porridge pickles mushrooms peaches cherries lemons ' +
      'walnuts almonds popcorn pretzels crackers',
  ),
};

const templates = [
  'We talked about {x} for most of the evening.',
  'My notes mention {x} twice.',
  'The article was mostly about {x}.',
  'She kept thinking about {x} all day.',
  'Later that week, {x} came up again in conversation.',
  'Nobody expected {x} to appear in the story.',
  'The documentary spent an hour on {x}.',
  'He wrote a long essay about {x}.',
];

const seed = 5309;

export function buildEntityTypes(): ProbeDataset {
  const random = mulberry32(seed);
  const examples: ProbeExample[] = [];
  const seen = new Set<string>();
  for (const label of entityLabels) {
    for (const word of entities[label]) {
      if (seen.has(word)) throw new Error(`${word} is listed twice`);
      seen.add(word);
      const template = templates[Math.floor(random() * templates.length)]!;
      examples.push(fillTemplate(template, word, label));
    }
  }
  const n = entities.person.length;
  return dataset(
    {
      name: 'Entity type',
      description:
        `${n} each of people's first names, cities, countries, animals and foods, each once, in template ` +
        'sentences that fit every type. Held-out entities were never seen in training. Names, cities and ' +
        'countries are capitalized and animals and foods are not, so capitalization alone separates those ' +
        'two groups; within each group only meaning does.',
      license: 'MIT, authored by the Strata project (word lists and templates)',
      source: 'Written for Strata; built by tools/datasets/entity-types.ts (seeded choice of template).',
    },
    entityLabels,
    examples,
  );
}
