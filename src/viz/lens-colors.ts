// Colours of the logit-lens and ablation panels: a sequential map for probabilities in [0, 1]
// (viridis from d3-scale-chromatic, as the detector maps: uniform in lightness, readable in
// grayscale and by most colour-blind viewers), a text colour that stays legible on every cell, and
// one categorical colour per tracked token (Tableau 10; past ten, the lines are dashed).

import { scaleSequential } from 'd3-scale';
import { interpolateViridis, schemeTableau10 } from 'd3-scale-chromatic';

const sequential = scaleSequential(interpolateViridis).domain([0, 1]).clamp(true);

/** The cell colour of a probability. */
export function probColor(p: number): string {
  return sequential(Number.isFinite(p) ? p : 0);
}

/** Text on a cell of probability p: viridis turns light (green, yellow) above ~0.55. */
export function textOnProb(p: number): string {
  return p > 0.55 ? '#111318' : '#f2f4f8';
}

/** A CSS gradient of the probability map from 0 to 1, for legends. */
export const probGradient = `linear-gradient(to right, ${Array.from({ length: 11 }, (_, i) =>
  sequential(i / 10),
).join(', ')})`;

/** The i-th tracked token's line: a colour, dashed after the first ten. */
export function trackStyle(i: number): { readonly color: string; readonly dash: string | undefined } {
  return {
    color: schemeTableau10[i % schemeTableau10.length]!,
    dash: i >= schemeTableau10.length ? '5 3' : undefined,
  };
}
