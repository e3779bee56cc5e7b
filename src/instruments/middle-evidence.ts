// Where each middle-layer pattern peaks in depth, for the depth summary's account of which depth
// does what: per kind, the layer whose heads' mean label value (strength) on the shipped datasets is
// highest, and the best head. Pure TypeScript; every sentence is built from the numbers next to it.

import { headName, layerName } from '../viz/depth-names';
import { layerSpread } from './head-scores';
import { middleDetectors, middleNames, type MiddleDetector } from './middle-scores';

export interface MiddlePeak {
  readonly kind: MiddleDetector;
  /** The layer with the highest mean over its heads, and that mean. */
  readonly layer: number;
  readonly layerMean: number;
  /** The best head anywhere, and its score. */
  readonly best: { readonly layer: number; readonly head: number; readonly value: number };
}

/** Each measured kind's peak (kinds with no finite score are left out). */
export function middlePeaks(
  scores: Partial<Record<MiddleDetector, Float64Array>>,
  nLayer: number,
  nHead: number,
): MiddlePeak[] {
  return middleDetectors.flatMap((kind) => {
    const values = scores[kind];
    if (!values || values.length !== nLayer * nHead) return [];
    const spread = layerSpread(nLayer, nHead, values);
    let layer = -1;
    spread.forEach((s, l) => {
      if (Number.isFinite(s.mean) && (layer < 0 || s.mean > spread[layer]!.mean)) layer = l;
    });
    if (layer < 0) return [];
    let bi = -1;
    values.forEach((v, i) => {
      if (Number.isFinite(v) && (bi < 0 || v > values[bi]!)) bi = i;
    });
    const best = { layer: Math.floor(bi / nHead), head: bi % nHead, value: values[bi]! };
    return [{ kind, layer, layerMean: spread[layer]!.mean, best }];
  });
}

/** "syntactic (verb → subject) heads peak at L2 (mean 0.12; best L2.H3 0.31)". */
export function peakPhrase(p: MiddlePeak): string {
  const best = `${headName(p.best.layer, p.best.head)} ${p.best.value.toFixed(2)}`;
  const what =
    p.kind === 'coreference'
      ? 'coreference heads (excess attention on the antecedent)'
      : `${middleNames[p.kind]} heads`;
  return `${what} peak at ${layerName(p.layer)} (mean ${p.layerMean.toFixed(2)}; best ${best})`;
}
