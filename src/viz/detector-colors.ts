// Colours of the head-detector views: a sequential map for scores in [0, 1] (viridis, from
// d3-scale-chromatic: uniform in lightness, readable in grayscale and by most colour-blind viewers)
// and one categorical colour per detector for labels, badges and chips (Tableau 10).

import { scaleSequential } from 'd3-scale';
import { interpolateViridis, schemeTableau10 } from 'd3-scale-chromatic';
import { detectorTitles, detectors, type Detector } from '../instruments/head-scores';
import type { HeadLabel } from '../instruments/head-labels';
import { middleTitles, type MiddleDetector } from '../instruments/middle-scores';

const sequential = scaleSequential(interpolateViridis).domain([0, 1]).clamp(true);

/** The colour of a score in [0, 1]; NaN (no query in scope) gets `nanColor`. */
export function scoreColor(value: number): string {
  return Number.isNaN(value) ? nanColor : sequential(value);
}

/** Cells with no score: a dark grey the sequential map never produces. */
export const nanColor = '#2b2f38';

/** A CSS gradient of the score map from 0 to 1, for legends. */
export const scoreGradient = `linear-gradient(to right, ${Array.from({ length: 11 }, (_, i) =>
  sequential(i / 10),
).join(', ')})`;

/** One categorical colour per detector (the order of `detectors`). */
export const detectorColors: Readonly<Record<Detector, string>> = Object.fromEntries(
  detectors.map((d, i) => [d, schemeTableau10[i % schemeTableau10.length]!]),
) as Record<Detector, string>;

/** The middle-layer detectors' colours (Tableau 10's last four, and a cyan). */
export const middleColors: Readonly<Record<MiddleDetector, string>> = {
  modifier: schemeTableau10[6]!,
  subject: schemeTableau10[7]!,
  coreference: schemeTableau10[8]!,
  aggregation: schemeTableau10[9]!,
  punctuation: '#17becf',
};

/** Every head label's colour. */
export const labelColors: Readonly<Record<HeadLabel, string>> = { ...detectorColors, ...middleColors };

/** A few letters per detector, for badges on small head squares. */
export const detectorShortNames: Readonly<Record<HeadLabel, string>> = {
  previous: 'prev',
  current: 'self',
  first: 'sink',
  local: 'local',
  duplicate: 'dup',
  induction: 'ind',
  modifier: 'syn:n',
  subject: 'syn:v',
  coreference: 'coref',
  aggregation: 'agg',
  punctuation: 'punct',
};

const labelTitles: Readonly<Record<HeadLabel, string>> = { ...detectorTitles, ...middleTitles };

/** What a head's badge shows: its strongest pattern, in a few letters and in full, and its colour. */
export interface HeadBadge {
  readonly detector: HeadLabel;
  readonly short: string;
  /** The pattern's name in words ("previous token"), for a title or an accessible name. */
  readonly title: string;
  readonly color: string;
}

/**
 * The badge of head `head` of layer `layer` from Instruments.headLabels() ([L, H] row-major), or
 * undefined when the head has no label (or nothing has been measured yet).
 */
export function headBadge(
  labels: readonly (HeadLabel | null)[],
  nHead: number,
  layer: number,
  head: number,
): HeadBadge | undefined {
  const d = labels[layer * nHead + head];
  if (!d) return undefined;
  return { detector: d, short: detectorShortNames[d], title: labelTitles[d], color: labelColors[d] };
}
