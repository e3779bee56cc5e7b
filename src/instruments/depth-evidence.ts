// The measured evidence for the loaded model, lined up by depth: which head patterns each layer
// holds (from HeadScores and their dominant labels), how far the logit lens has converged on the
// final prediction (from the small lens top-k every run reads back), the attention entropy, and
// probe accuracies. Pure TypeScript: plain numbers in, plain numbers and sentences out; every
// sentence is built from the numbers next to it, never written in advance.
//
// Depths follow the flow view: depth d < L is the stream entering block d (blocks.d.hook_resid_pre,
// depth 0 = the embeddings), depth L the final blocks.{L-1}.hook_resid_post (the model's output).
// A summary row is the embeddings (depth 0) or block l together with the stream it leaves (depth
// l + 1), so a row reads "what this block's heads do, and what the stream holds after it".

import type { LensTopK } from '../engine/session';
import type { HookPoint } from '../model/hooks';
import { headName, layerName } from '../viz/depth-names';
import { labelKinds, labelValue, type HeadLabel, type MiddleStrengths } from './head-labels';
import { layerSpread, type Detector, type HeadScores } from './head-scores';
import { middleNames } from './middle-scores';

/** Detector names as the labels and captions write them ("L3.H5: previous-token 0.870"). */
export const detectorNames: Readonly<Record<Detector, string>> = {
  previous: 'previous-token',
  current: 'current-token',
  first: 'first-token',
  local: 'local-band',
  duplicate: 'duplicate-token',
  induction: 'induction',
};

/** Every head label's name: the detectors' and the middle-layer detectors'. */
export const labelNames: Readonly<Record<HeadLabel, string>> = { ...detectorNames, ...middleNames };

/** A score as the maps and captions show it: 3 decimals, or why there is none. */
export function formatScore(value: number): string {
  return Number.isNaN(value) ? 'n/a (no query in scope)' : value.toFixed(3);
}

/** The accessible name of one detector-map cell: "L3.H5: previous-token 0.870". */
export function cellLabel(layer: number, head: number, detector: HeadLabel, value: number): string {
  return `${headName(layer, head)}: ${labelNames[detector]} ${formatScore(value)}`;
}

/**
 * The prompt's scores with the induction column replaced by the one measured on the repeated
 * random-token probe (the prompt rarely repeats itself, so its own induction score is mostly NaN).
 */
export function withProbeInduction(prompt: HeadScores, probe: HeadScores): HeadScores {
  if (prompt.nLayer !== probe.nLayer || prompt.nHead !== probe.nHead) {
    throw new RangeError(
      `the probe was scored on ${probe.nLayer}×${probe.nHead} heads, the prompt on ${prompt.nLayer}×${prompt.nHead}`,
    );
  }
  return {
    ...prompt,
    scores: { ...prompt.scores, induction: probe.scores.induction },
    queries: { ...prompt.queries, induction: probe.queries.induction },
  };
}

// ---------------------------------------------------------------------------------------------
// Logit-lens convergence

/** How close one lens point's top-1 is to the model's final prediction, over the run's positions. */
export interface LensAgreement {
  readonly point: HookPoint;
  /** Fraction of positions whose top-1 token here is the final top-1 token at that position. */
  readonly agreement: number;
  /**
   * Mean over positions of the probability this point's lens gives the final top-1 token, counting
   * 0 where that token is not in this point's top-k (a lower bound: only the top-k is read back).
   */
  readonly finalProb: number;
  /** The same mean counting the k-th probability where the token is not in the top-k (an upper bound). */
  readonly finalProbUpper: number;
  /** Fraction of positions where the final top-1 token is among this point's top-k. */
  readonly inTopK: number;
  /** Positions averaged over. */
  readonly positions: number;
}

/**
 * Per lens point (in the lens's order), the agreement of its top-1 with the final point's (the
 * last point, which must be the final resid_post: the model's own prediction).
 */
export function lensConvergence(lens: LensTopK, T: number): LensAgreement[] {
  const { points, k, ids, probs } = lens;
  const P = points.length;
  if (!Number.isInteger(T) || T < 1) throw new RangeError(`a lens needs at least one position, not ${T}`);
  if (P === 0) throw new RangeError('the lens has no points');
  if (!Number.isInteger(k) || k < 1)
    throw new RangeError(`the lens's k must be a whole number ≥ 1, not ${k}`);
  if (ids.length !== P * T * k || probs.length !== P * T * k) {
    throw new RangeError(
      `the lens holds ${ids.length} ids and ${probs.length} probabilities, not points·T·k = ${P}·${T}·${k}`,
    );
  }
  if (points[P - 1]!.kind !== 'resid_post') {
    throw new RangeError(
      "the lens's last point is not the final resid_post: no final prediction to compare with",
    );
  }
  const final = (t: number) => ids[((P - 1) * T + t) * k]!;
  return points.map((point, p) => {
    let agree = 0;
    let low = 0;
    let high = 0;
    let inTop = 0;
    for (let t = 0; t < T; t++) {
      const base = (p * T + t) * k;
      const want = final(t);
      if (ids[base] === want) agree++;
      let found = -1;
      for (let i = 0; i < k; i++) if (ids[base + i] === want) found = i;
      if (found >= 0) {
        inTop++;
        low += probs[base + found]!;
        high += probs[base + found]!;
      } else {
        high += probs[base + k - 1]!;
      }
    }
    return {
      point,
      agreement: agree / T,
      finalProb: low / T,
      finalProbUpper: high / T,
      inTopK: inTop / T,
      positions: T,
    };
  });
}

/** The lens point read at depth d of an L-layer model (see the file comment). */
function depthHookPoint(d: number, L: number): HookPoint {
  return d < L ? { kind: 'resid_pre', layer: d } : { kind: 'resid_post', layer: L - 1 };
}

/** lensConvergence at depths 0 … L; undefined where the lens was not read (e.g. lens: 'final'). */
export function lensByDepth(lens: LensTopK, T: number, L: number): (LensAgreement | undefined)[] {
  const all = lensConvergence(lens, T);
  return Array.from({ length: L + 1 }, (_, d) => {
    const want = depthHookPoint(d, L);
    return all.find(
      (a) =>
        a.point.kind === want.kind && 'layer' in a.point && 'layer' in want && a.point.layer === want.layer,
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Head patterns per layer

/** One layer's heads grouped by their dominant pattern. */
export interface LayerPatterns {
  readonly layer: number;
  readonly heads: number;
  /** Heads labelled with each pattern. */
  readonly counts: Readonly<Record<HeadLabel, number>>;
  /** The highest score among the heads with that label (NaN where none has it). */
  readonly best: Readonly<Record<HeadLabel, number>>;
  /** Heads with no pattern at or above the threshold. */
  readonly unlabeled: number;
}

/** Counts per layer of heads per dominant pattern (labels: dominantDetectors of the same scores). */
export function layerPatterns(
  scores: HeadScores,
  labels: readonly (HeadLabel | null)[],
  middle?: MiddleStrengths,
): LayerPatterns[] {
  const { nLayer: L, nHead: H } = scores;
  if (labels.length !== L * H) {
    throw new RangeError(`${labels.length} head labels for ${L}×${H} heads`);
  }
  return Array.from({ length: L }, (_, layer) => {
    const counts = Object.fromEntries(labelKinds.map((d) => [d, 0])) as Record<HeadLabel, number>;
    const best = Object.fromEntries(labelKinds.map((d) => [d, NaN])) as Record<HeadLabel, number>;
    let unlabeled = 0;
    for (let h = 0; h < H; h++) {
      const i = layer * H + h;
      const d = labels[i];
      if (!d) {
        unlabeled++;
        continue;
      }
      counts[d]++;
      const s = labelValue(scores, middle, d, i);
      if (Number.isNaN(best[d]) || s > best[d]) best[d] = s;
    }
    return { layer, heads: H, counts, best, unlabeled };
  });
}

// ---------------------------------------------------------------------------------------------
// The depth summary

/** A linear probe's held-out accuracy at each depth 0 … L, and its majority-class baseline. */
export interface ProbeSeries {
  readonly name: string;
  /** Accuracy in [0, 1] at depths 0 … L (the probes panel's points); shorter arrays leave depths out. */
  readonly accuracy: readonly number[];
  readonly baseline: number;
}

export interface DepthRow {
  /** Block l, or the embeddings (null) before the first block. */
  readonly layer: number | null;
  /** The depth of the stream this row leaves: 0 for the embeddings, l + 1 for block l. */
  readonly depth: number;
  /** True for the last block: the stream it leaves is the model's output. */
  readonly final: boolean;
  readonly patterns?: LayerPatterns;
  /** Mean over the layer's heads of each head's mean row entropy; normalized: / ln(keys). */
  readonly entropy?: { readonly nats: number; readonly normalized: number; readonly sparsity: number };
  readonly lens?: LensAgreement;
  readonly probes: readonly { readonly name: string; readonly accuracy: number; readonly baseline: number }[];
}

export interface DepthSummaryInput {
  readonly nLayer: number;
  /** The scores behind `labels` (the prompt's, induction from the probe where measured). */
  readonly scores?: HeadScores;
  readonly labels?: readonly (HeadLabel | null)[];
  /** The middle-layer detectors' label values behind the labels of those kinds. */
  readonly middle?: MiddleStrengths;
  /** The run's lens top-k and its number of positions. */
  readonly lens?: { readonly topk: LensTopK; readonly T: number };
  readonly probes?: readonly ProbeSeries[];
}

/** The rows of the depth summary: the embeddings, then each block with the stream it leaves. */
export function depthSummary(input: DepthSummaryInput): DepthRow[] {
  const L = input.nLayer;
  if (!Number.isInteger(L) || L < 1) throw new RangeError(`a model has at least one layer, not ${L}`);
  const { scores, labels } = input;
  if (scores && scores.nLayer !== L) {
    throw new RangeError(`the head scores cover ${scores.nLayer} layers, the model has ${L}`);
  }
  const patterns = scores && labels ? layerPatterns(scores, labels, input.middle) : undefined;
  const spread = (values: Float64Array) => (scores ? layerSpread(L, scores.nHead, values) : undefined);
  const entropy = scores && spread(scores.entropy.mean);
  const normalized = scores && spread(scores.normalizedEntropy.mean);
  const sparsity = scores && spread(scores.sparsity.mean);
  const lens = input.lens && lensByDepth(input.lens.topk, input.lens.T, L);
  const probesAt = (d: number) =>
    (input.probes ?? []).flatMap((p) =>
      d < p.accuracy.length && Number.isFinite(p.accuracy[d])
        ? [{ name: p.name, accuracy: p.accuracy[d]!, baseline: p.baseline }]
        : [],
    );
  const rows: DepthRow[] = [{ layer: null, depth: 0, final: false, lens: lens?.[0], probes: probesAt(0) }];
  for (let l = 0; l < L; l++) {
    rows.push({
      layer: l,
      depth: l + 1,
      final: l === L - 1,
      patterns: patterns?.[l],
      entropy:
        entropy && normalized && sparsity
          ? { nats: entropy[l]!.mean, normalized: normalized[l]!.mean, sparsity: sparsity[l]!.mean }
          : undefined,
      lens: lens?.[l + 1],
      probes: probesAt(l + 1),
    });
  }
  return rows;
}

const percent = (x: number) => `${Math.round(100 * x)}%`;

/** A probability in a caption: 2 decimals, or 2 significant digits below 0.01 (0 stays 0). */
export function formatProb(p: number): string {
  return p >= 0.01 || p === 0 ? p.toFixed(2) : p.toPrecision(2);
}

/** The lens's mean p(final token): one number, or the range its top-k bounds leave. */
export function formatFinalProb(lens: LensAgreement): string {
  const low = formatProb(lens.finalProb);
  const high = formatProb(lens.finalProbUpper);
  return low === high ? low : `${low}–${high}`;
}
const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** The head-pattern part of a caption: "2 previous-token heads (best 0.91), 1 induction head (0.55)". */
export function patternPhrase(p: LayerPatterns, threshold: number): string {
  const found = labelKinds
    .filter((d) => p.counts[d] > 0)
    .sort((a, b) => p.counts[b] - p.counts[a] || p.best[b] - p.best[a]);
  if (found.length === 0) {
    return `no head scores ${threshold.toFixed(2)} or more on any pattern`;
  }
  const parts = found.map((d) => {
    const n = p.counts[d];
    const best = p.best[d].toFixed(2);
    return `${plural(n, `${labelNames[d]} head`)} (${n === 1 ? best : `best ${best}`})`;
  });
  if (p.unlabeled > 0) parts.push(`${p.unlabeled} without a clear pattern`);
  return parts.join(', ');
}

/**
 * One plain-language sentence for a row, from its numbers only, e.g. "layer 0: 2 previous-token
 * heads (best 0.91); attention entropy 1.23 nats (0.45 of uniform); after it the lens's top token
 * is the final one at 3 of 9 positions (33%), p(final token) 0.12; POS probe 71% (baseline 40%)."
 */
export function depthCaption(row: DepthRow, threshold: number): string {
  const parts: string[] = [];
  if (row.patterns) parts.push(patternPhrase(row.patterns, threshold));
  if (row.entropy && !Number.isNaN(row.entropy.nats)) {
    parts.push(
      `attention entropy ${row.entropy.nats.toFixed(2)} nats (${row.entropy.normalized.toFixed(2)} of uniform, ` +
        `sparsity ${row.entropy.sparsity.toFixed(2)})`,
    );
  }
  const lens = row.lens;
  if (lens) {
    const where = row.layer === null ? 'at the embeddings' : 'after it';
    if (row.final) {
      parts.push(`${where} the stream is the model's output (the final prediction itself)`);
    } else {
      const n = Math.round(lens.agreement * lens.positions);
      const p = formatFinalProb(lens);
      parts.push(
        `${where} the lens's top token is the final one at ${n} of ${plural(lens.positions, 'position')} ` +
          `(${percent(lens.agreement)}), p(final token) ${p}`,
      );
    }
  }
  for (const probe of row.probes) {
    const gain = probe.accuracy - probe.baseline;
    parts.push(
      `${probe.name} probe ${percent(probe.accuracy)} (baseline ${percent(probe.baseline)}, ` +
        `${gain >= 0 ? '+' : '−'}${Math.round(100 * Math.abs(gain))} points)`,
    );
  }
  const name = row.layer === null ? 'Embeddings' : layerName(row.layer);
  return `${name}: ${parts.length ? parts.join('; ') : 'nothing measured yet'}.`;
}
