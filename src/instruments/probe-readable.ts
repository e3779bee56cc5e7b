// Where a probe's information becomes linearly readable: the first depth whose held-out accuracy
// has gained at least 90% of the task's best gain over its baseline (the majority class),
//   first d with acc(d) − base ≥ 0.9 · (max_d acc(d) − base).
// One rule for every probe task, used by the depth summary and the probes chart. Pure TypeScript.

/** The share of the best gain over the baseline that counts as "readable". */
export const readableShare = 0.9;

export interface ReadableDepth {
  /** The first depth (index into the accuracies: 0 = the embeddings) that reaches the share. */
  readonly depth: number;
  readonly accuracy: number;
  /** The best depth (the first, on ties) and its accuracy. */
  readonly best: { readonly depth: number; readonly accuracy: number };
  readonly baseline: number;
}

/**
 * The first depth reaching `share` of the best gain over `baseline`, or undefined when no depth
 * beats the baseline (nothing is readable) or there are no finite accuracies. Missing or NaN
 * entries (depths not probed) are skipped.
 */
export function readableDepth(
  accuracy: readonly (number | undefined)[],
  baseline: number,
  share = readableShare,
): ReadableDepth | undefined {
  if (!(share > 0 && share <= 1)) throw new RangeError(`the share must be in (0, 1], not ${share}`);
  if (!Number.isFinite(baseline)) return undefined;
  let best: { depth: number; accuracy: number } | undefined;
  for (let d = 0; d < accuracy.length; d++) {
    const a = accuracy[d];
    if (a !== undefined && Number.isFinite(a) && (!best || a > best.accuracy))
      best = { depth: d, accuracy: a };
  }
  if (!best || !(best.accuracy > baseline)) return undefined;
  // The bar in accuracy, with a little slack so that the best depth itself always passes in floats.
  const bar = baseline + share * (best.accuracy - baseline) - 1e-12;
  for (let d = 0; d <= best.depth; d++) {
    const a = accuracy[d];
    if (a !== undefined && Number.isFinite(a) && a >= bar) return { depth: d, accuracy: a, best, baseline };
  }
  /* c8 ignore next */
  throw new Error('unreachable: the best depth passes its own bar');
}
