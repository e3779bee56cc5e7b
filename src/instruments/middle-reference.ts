// The CPU oracle of the middle-layer detectors (definitions in middle-scores.ts): plain f64 loops
// over each definition's sums, written from the definitions rather than from the index lists the
// GPU pass reads, for tests to check shaders/instruments/detect_mass_*.wgsl against. Patterns as
// src/model/reference.ts gives them: patterns[l] is [H, T, T], [head][query][key].

import {
  offsetQueries,
  punctuationRows,
  relationKinds,
  type MiddleDetector,
  type MiddleScores,
  type MiddleSpec,
} from './middle-scores';

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

export function referenceMiddleScores(
  patterns: readonly ArrayLike<number>[],
  nHead: number,
  T: number,
  spec: MiddleSpec,
): MiddleScores {
  const L = patterns.length;
  const H = nHead;
  for (const [l, p] of patterns.entries()) {
    if (p.length !== H * T * T) {
      throw new RangeError(`patterns[${l}] has ${p.length} values, not H·T·T = ${H}·${T}·${T}`);
    }
  }
  const n = L * H;
  const scores: Partial<Record<MiddleDetector, Float64Array>> = {};
  const strength: Partial<Record<MiddleDetector, Float64Array>> = {};
  const counts: Partial<Record<MiddleDetector, number>> = {};
  const make = (k: MiddleDetector) => {
    scores[k] = new Float64Array(n);
    strength[k] = new Float64Array(n);
  };
  const aggregator = spec.aggregation ? new Int32Array(n) : undefined;
  for (const k of relationKinds) if (spec.relations?.[k]) make(k);
  if (spec.coreference) make('coreference');
  if (spec.aggregation) make('aggregation');
  if (spec.punctuation) make('punctuation');

  for (let l = 0; l < L; l++) {
    const p = patterns[l]!;
    for (let h = 0; h < H; h++) {
      const i = l * H + h;
      const at = (t: number, s: number) => (s <= t ? p[(h * T + t) * T + s]! : 0);

      for (const kind of relationKinds) {
        const pairs = spec.relations?.[kind];
        if (!pairs) continue;
        let excess = 0;
        let m = 0;
        for (const pair of pairs) {
          const us = offsetQueries(pair, T);
          if (us.length === 0) continue;
          const delta = pair.query - pair.key;
          const baseline = us.reduce((a, u) => a + at(u, u - delta), 0) / us.length;
          excess += at(pair.query, pair.key) - baseline;
          m++;
        }
        counts[kind] = m;
        scores[kind]![i] = strength[kind]![i] = m === 0 ? NaN : clamp01(excess / m);
      }

      if (spec.coreference) {
        const pairs = spec.coreference;
        let A = 0;
        let B = 0;
        for (const c of pairs) {
          A += at(c.query, c.correct);
          B += at(c.query, c.wrong);
        }
        counts.coreference = pairs.length;
        scores.coreference![i] = pairs.length === 0 ? NaN : A + B > 0 ? A / (A + B) : 0.5;
        strength.coreference![i] = pairs.length === 0 ? NaN : clamp01((A - B) / pairs.length);
      }

      if (spec.aggregation) {
        counts.aggregation = T >= 3 ? T - 1 : 0;
        let best = -1;
        let bestMass = 0;
        for (let s = 1; s < T && T >= 3; s++) {
          let column = 0;
          for (let t = s; t < T; t++) column += at(t, s);
          if (best < 0 || column > bestMass) {
            best = s;
            bestMass = column;
          }
        }
        scores.aggregation![i] = strength.aggregation![i] = T >= 3 ? bestMass / (T - 1) : NaN;
        aggregator![i] = best;
      }

      if (spec.punctuation) {
        const P = new Set(spec.punctuation);
        const rows = punctuationRows([...P], T);
        let M = 0;
        let K = 0;
        let E = 0;
        for (const { t } of rows) {
          let kept = 0;
          let punct = 0;
          let count = 0;
          for (let s = 1; s <= t; s++) {
            kept += at(t, s);
            if (P.has(s)) {
              punct += at(t, s);
              count++;
            }
          }
          M += punct;
          K += kept;
          E += (count / t) * kept;
        }
        counts.punctuation = rows.length;
        scores.punctuation![i] = strength.punctuation![i] =
          rows.length === 0 ? NaN : K - E > 0 ? clamp01((M - E) / (K - E)) : 0;
      }
    }
  }
  return { nLayer: L, nHead: H, T, scores, strength, counts, aggregator };
}
