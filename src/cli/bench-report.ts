// The ratios `npm run bench` reports from its rows (each printed as a line and kept in the JSON):
// fused against unfused, and each capture setting against the forward alone, both from runs
// interleaved in the same process.

import type { LensPoints } from '../engine/session';
import type { WeightFormat } from '../gpu/kernels';

export type Captures = 'studio' | 'every' | 'none';

export interface BenchRow {
  shape: string;
  T: number;
  weights: WeightFormat;
  lens: LensPoints;
  /**
   * 'studio': what the studio captures (the default session: every pattern and residual boundary,
   * logits_last, the lens); 'every': every hook point (namesFilter () => true) and the lens;
   * 'none': namesFilter [], the final lens only.
   */
  captures: Captures;
  /** Fused kernels (plan.ts) or the unfused forward. */
  fusion: 'on' | 'attention' | 'off';
  median_ms: number;
  /** The fastest rep (on a shared machine the least disturbed one). */
  min_ms: number;
  gflop: number;
  gflops: number;
  dispatches: number;
  /** The blocks' dispatches over n_layer (the embedding and the lens taken out). */
  dispatches_per_layer: number;
  readback_bytes: number;
  gpu_bytes: number;
  ratio_to_matmul: number;
}

/** The row of the same shape and T as `row`, and the same settings but `key`, which is `value`. */
function baseline<K extends 'fusion' | 'captures'>(
  rows: readonly BenchRow[],
  row: BenchRow,
  key: K,
  value: BenchRow[K],
): BenchRow | undefined {
  const other = key === 'fusion' ? 'captures' : 'fusion';
  return rows.find(
    (r) => r[key] === value && r.shape === row.shape && r.T === row.T && r[other] === row[other],
  );
}

/** Unfused over fused median time per (shape, T, captures): > 1 when fusion is faster. */
export function fusionReport(rows: readonly BenchRow[]) {
  return rows.flatMap((on) => {
    if (on.fusion === 'off') return [];
    const off = baseline(rows, on, 'fusion', 'off');
    if (!off) return [];
    const ratio = off.median_ms / on.median_ms;
    const minRatio = off.min_ms / on.min_ms;
    console.log(
      `fusion=${on.fusion} ${on.shape} T=${on.T} captures=${on.captures}: unfused/fused time ${ratio.toFixed(2)} ` +
        `(medians ${off.median_ms.toFixed(1)} / ${on.median_ms.toFixed(1)} ms; fastest reps ` +
        `${minRatio.toFixed(2)}), dispatches per layer ${off.dispatches_per_layer} → ${on.dispatches_per_layer}`,
    );
    return [
      {
        fusion: on.fusion,
        shape: on.shape,
        T: on.T,
        captures: on.captures,
        unfused_over_fused: ratio,
        unfused_over_fused_min: minRatio,
        dispatches_per_layer: { fused: on.dispatches_per_layer, unfused: off.dispatches_per_layer },
      },
    ];
  });
}

/** Each capture setting's median time over the forward alone (captures none), per (shape, T, fusion). */
export function captureReport(rows: readonly BenchRow[]) {
  return rows.flatMap((c) => {
    if (c.captures === 'none') return [];
    const none = baseline(rows, c, 'captures', 'none');
    if (!none) return [];
    const ratio = c.median_ms / none.median_ms;
    console.log(
      `captures=${c.captures} ${c.shape} T=${c.T} fusion=${c.fusion}: ${ratio.toFixed(2)}× the forward alone ` +
        `(medians ${c.median_ms.toFixed(1)} / ${none.median_ms.toFixed(1)} ms; fastest reps ` +
        `${(c.min_ms / none.min_ms).toFixed(2)}×)`,
    );
    return [
      {
        captures: c.captures,
        shape: c.shape,
        T: c.T,
        fusion: c.fusion,
        over_forward: ratio,
        over_forward_min: c.min_ms / none.min_ms,
      },
    ];
  });
}
