// Is a run's output finite? Checked on what a run already reads back — the logit lens's top-k, the
// residual stream's statistics, a capture file's logits and norms — never with a readback of its
// own. Weights are checked at load (src/model/checkpoint.ts), so a non-finite run means the stream
// itself overflowed; the studio shows a banner and the CLI exits non-zero. Masked attention scores
// are −inf by definition and never reach these numbers (the softmax turns them into 0).

import type { CaptureJson } from '../engine/capture-json';
import type { LensTopK } from '../engine/session';
import { hookName, residualBoundaries } from '../model/hooks';
import { residualStatsStride, type ResidualStats } from './residual-stats';

const finiteProbability = (p: number) => Number.isFinite(p) && p >= 0 && p <= 1 + 1e-3;

/**
 * Where the lens's top-k is not a distribution: a probability that is NaN, infinite or outside
 * [0, 1], or a token id outside the vocabulary (WGSL may assume finite values, so a NaN stream can
 * come out as anything). Undefined when every entry is sound.
 */
export function nonFiniteLens(lens: LensTopK, vocabSize: number): string | undefined {
  const T = lens.points.length === 0 ? 0 : lens.probs.length / (lens.points.length * lens.k);
  for (let at = 0; at < lens.probs.length; at++) {
    if (finiteProbability(lens.probs[at]!) && lens.ids[at]! < vocabSize) continue;
    const row = Math.floor(at / lens.k);
    const point = lens.points[Math.floor(row / T)];
    const where = point ? `the logit lens at ${hookName(point)}, position ${row % T}` : 'the logit lens';
    return `${where} is not finite (probability ${lens.probs[at]})`;
  }
  return undefined;
}

/** Where the stream's norms are NaN or infinite, in depth order; undefined when all are finite. */
export function nonFiniteStats(stats: ResidualStats): string | undefined {
  const { nLayer, T, data } = stats;
  // Per (layer, position): ‖resid_pre‖, then what attention and the MLP add, ‖resid_mid‖, ‖resid_post‖.
  const fields: [number, (layer: number) => string][] = [
    [0, (l) => `blocks.${l}.hook_resid_pre`],
    [1, (l) => `blocks.${l}.hook_attn_out`],
    [5, (l) => `blocks.${l}.hook_resid_mid`],
    [2, (l) => `blocks.${l}.hook_mlp_out`],
    [6, (l) => `blocks.${l}.hook_resid_post`],
  ];
  for (let layer = 0; layer < nLayer; layer++) {
    for (const [field, name] of fields) {
      for (let t = 0; t < T; t++) {
        const value = data[(layer * T + t) * residualStatsStride + field]!;
        if (!Number.isFinite(value)) return `the run is not finite from ${name(layer)} (position ${t}) on`;
      }
    }
  }
  return undefined;
}

/** The same checks on a capture file: its residual norms, its lens and its last logits. */
export function nonFiniteCapture(capture: CaptureJson): string | undefined {
  const boundaries = residualBoundaries(capture.model.n_layer);
  for (let b = 0; b < capture.residual_norms.length; b++) {
    const t = capture.residual_norms[b]!.findIndex((x) => !Number.isFinite(x));
    if (t >= 0) {
      const point = boundaries[b];
      return `the run is not finite from ${point ? hookName(point) : `boundary ${b}`} (position ${t}) on`;
    }
  }
  const bad = capture.logits_last.filter((x) => !Number.isFinite(x)).length;
  if (bad > 0) return `${bad} of the ${capture.logits_last.length} last logits are not finite`;
  for (const depth of capture.lens) {
    for (const row of depth) {
      if (row.some((entry) => !finiteProbability(entry.p))) return 'the logit lens is not finite';
    }
  }
  return undefined;
}
