// Colours of the head-detector views: a sequential map for scores in [0, 1] (viridis, from
// d3-scale-chromatic: uniform in lightness, readable in grayscale and by most colour-blind viewers)
// and one categorical colour per detector for labels, badges and chips (Tableau 10).

import { scaleSequential } from 'd3-scale';
import { interpolateViridis, schemeTableau10 } from 'd3-scale-chromatic';
import { detectorTitles, detectors, type Detector } from '../instruments/head-scores';

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

/** A few letters per detector, for badges on small head squares. */
export const detectorShortNames: Readonly<Record<Detector, string>> = {
  previous: 'prev',
  current: 'self',
  first: 'sink',
  local: 'local',
  duplicate: 'dup',
  induction: 'ind',
};

/** What a head's badge shows: its strongest pattern, in a few letters and in full, and its colour. */
export interface HeadBadge {
  readonly detector: Detector;
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
  labels: readonly (Detector | null)[],
  nHead: number,
  layer: number,
  head: number,
): HeadBadge | undefined {
  const d = labels[layer * nHead + head];
  if (!d) return undefined;
  return { detector: d, short: detectorShortNames[d], title: detectorTitles[d], color: detectorColors[d] };
}
