// Head labels over both detector families: the pattern detectors of head-scores.ts (on the prompt,
// induction from its probe) and the middle-layer detectors of middle-scores.ts (on the shipped
// datasets, measured once per model). Each head is labelled with the kind whose label value is
// highest and at least the threshold: a detector's score, a middle-layer detector's strength (its
// score, but coreference's excess mass: middle-scores.ts). Pure TypeScript.

import { detectors, dominantDetectors, type Detector, type HeadScores } from './head-scores';
import { middleDetectors, type MiddleDetector } from './middle-scores';

export type HeadLabel = Detector | MiddleDetector;
export const labelKinds: readonly HeadLabel[] = [...detectors, ...middleDetectors];

/** The middle-layer detectors' [L, H] label values (strengths), wherever they were measured. */
export type MiddleStrengths = Partial<Record<MiddleDetector, Float64Array>>;

const isMiddle = (k: HeadLabel): k is MiddleDetector => (middleDetectors as readonly string[]).includes(k);

/** The value label `k` of head i is compared on: NaN where it was not measured. */
export function labelValue(
  scores: HeadScores | undefined,
  middle: MiddleStrengths | undefined,
  k: HeadLabel,
  i: number,
): number {
  if (isMiddle(k)) return middle?.[k]?.[i] ?? NaN;
  return scores?.scores[k][i] ?? NaN;
}

/**
 * Each head's label, [L, H] row-major: the detectors' dominant pattern (dominantDetectors, with its
 * rules) unless a middle-layer kind's strength is higher, at least `threshold`; null for neither.
 * Ties go to the pattern detectors, then to the earlier middle kind; NaN never wins.
 */
export function dominantLabels(
  nLayer: number,
  nHead: number,
  scores: HeadScores | undefined,
  middle: MiddleStrengths | undefined,
  threshold: number,
  among?: readonly Detector[],
): (HeadLabel | null)[] {
  const base: (HeadLabel | null)[] = scores
    ? dominantDetectors(scores, threshold, among)
    : Array.from({ length: nLayer * nHead }, () => null);
  return base.map((label, i) => {
    let best = label;
    let bestValue = label ? labelValue(scores, middle, label, i) : -Infinity;
    for (const k of middleDetectors) {
      const v = labelValue(scores, middle, k, i);
      if (v >= threshold && v > bestValue) {
        best = k;
        bestValue = v;
      }
    }
    return best;
  });
}
