// The CPU oracle of the head detectors and attention statistics (definitions in head-scores.ts):
// plain f64 loops over explicit target and kept-key lists, written from the definitions rather than
// from the kernels, for tests to check shaders/instruments/detect_heads_*.wgsl against. Takes patterns as
// src/model/reference.ts gives them: patterns[l] is [H, T, T], [head][query][key].

import {
  checkTokens,
  detectorQueries,
  detectorTargets,
  detectors,
  keptKeys,
  resolveDetectorOptions,
  type Detector,
  type DetectorOptions,
  type HeadScores,
  type HeadStat,
} from './head-scores';

export function referenceHeadScores(
  patterns: readonly ArrayLike<number>[],
  nHead: number,
  tokens: readonly number[],
  options?: DetectorOptions,
): HeadScores {
  checkTokens(tokens);
  const o = resolveDetectorOptions(options);
  const L = patterns.length;
  const H = nHead;
  const T = tokens.length;
  for (const [l, p] of patterns.entries()) {
    if (p.length !== H * T * T) {
      throw new RangeError(`patterns[${l}] has ${p.length} values, not H·T·T = ${H}·${T}·${T}`);
    }
  }
  // Targets and kept keys depend on the tokens and options only.
  const targets = detectors.map((d) => Array.from({ length: T }, (_, t) => detectorTargets(d, tokens, t, o)));
  const kept = detectors.map((d) => Array.from({ length: T }, (_, t) => keptKeys(d, t, o)));
  const rowKeys = Array.from({ length: T }, (_, t) => keptKeys('rows', t, o));
  const allKeys = Array.from({ length: T }, (_, t) => Array.from({ length: t + 1 }, (_, s) => s));
  const queries = detectorQueries(tokens, o);

  const scores = Object.fromEntries(detectors.map((d) => [d, new Float64Array(L * H)])) as Record<
    Detector,
    Float64Array
  >;
  const stat = (): HeadStat => ({ mean: new Float64Array(L * H), std: new Float64Array(L * H) });
  const entropy = stat();
  const normalizedEntropy = stat();
  const sparsity = stat();
  const rowWeight = new Float64Array(L * H);

  for (let l = 0; l < L; l++) {
    const p = patterns[l]!;
    for (let h = 0; h < H; h++) {
      const i = l * H + h;
      const at = (t: number, s: number) => p[(h * T + t) * T + s]!;
      const sum = (t: number, keys: readonly number[]) => keys.reduce((a, s) => a + at(t, s), 0);
      // Each row's total over every key s ≤ t: 1 up to rounding (the 8-bit capture drifts).
      const totals = Array.from({ length: T }, (_, t) => sum(t, allKeys[t]!));

      for (const [k, d] of detectors.entries()) {
        let num = 0;
        let den = 0;
        for (let t = 0; t < T; t++) {
          const K = targets[k]![t]!;
          if (K.length === 0 || totals[t]! === 0) continue;
          num += sum(t, K) / totals[t]!;
          den += sum(t, kept[k]![t]!) / totals[t]!;
        }
        scores[d][i] = queries[d] === 0 ? NaN : den > 0 ? num / den : 0;
      }

      // Row statistics over the kept keys, renormalized; weight = the row's kept mass.
      const rows: { w: number; values: [number, number, number] }[] = [];
      for (let t = 0; t < T; t++) {
        const keys = rowKeys[t]!;
        const n = keys.length;
        const m = sum(t, keys);
        if (n < 2 || m <= 0 || totals[t]! === 0) continue;
        let ent = 0;
        let sq = 0;
        for (const s of keys) {
          const q = at(t, s) / m;
          if (q > 0) ent -= q * Math.log(q);
          sq += q * q;
        }
        const nEff = 1 / sq;
        const hoyer = (Math.sqrt(n) - Math.sqrt(nEff)) / (Math.sqrt(n) - 1);
        rows.push({ w: m / totals[t]!, values: [ent, ent / Math.log(n), hoyer] });
      }
      const W = rows.reduce((a, r) => a + r.w, 0);
      rowWeight[i] = W;
      for (const [j, target] of [entropy, normalizedEntropy, sparsity].entries()) {
        if (W === 0) {
          target.mean[i] = NaN;
          target.std[i] = NaN;
          continue;
        }
        const mean = rows.reduce((a, r) => a + r.w * r.values[j]!, 0) / W;
        const variance = rows.reduce((a, r) => a + r.w * (r.values[j]! - mean) ** 2, 0) / W;
        target.mean[i] = mean;
        target.std[i] = Math.sqrt(variance);
      }
    }
  }
  return {
    nLayer: L,
    nHead: H,
    tokens: [...tokens],
    options: o,
    scores,
    queries,
    entropy,
    normalizedEntropy,
    sparsity,
    rowWeight,
  };
}
