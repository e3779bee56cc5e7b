// The residual-stream flow view's model: one run's residual stats (src/instruments/residual-stats.ts,
// on the GPU and, from the run's one small readback, on the CPU) and its logit lens
// (RunResult.lens), laid out as the 2L+1 residual boundaries (rows, src/viz/depth-names.ts order:
// the embeddings, then "Ll · after attention" and "Ll · after MLP" for each layer) × positions.
// The GPU draws the picture from the stats buffer (src/render/flow-renderer.ts); the CPU numbers
// here serve the labels, the tooltip and the screen-reader description of the cells in view.
//
// The logit lens is costly at scale ((points · T) · 2·D·V FLOPs: 8 TFLOP for GPT-2 XL at
// T = 1024 at every layer), so what it reads is a choice (flowLensPoints): every layer while that
// is cheap, else the final prediction only, until the user asks for more. Cheap depends on the
// adapter: a CPU one (SwiftShader, ~1 GFLOP/s) gets a budget 25× smaller. The attention views do
// not wait for the lens (a run's second stage, PromptRun), but the next keystroke's run waits for
// a lens already on the GPU, so a lens of minutes there would stall typing.

import type { ResidualStats } from '../instruments/residual-stats';
import { residualStatsStride } from '../instruments/residual-stats';
import type { LensPoints, RunResult } from '../engine/session';
import { forwardFlops } from '../engine/cost';

export { formatBytes } from '../engine/cost';
import type { Gpt2Config } from '../model/types';
import { boundaryIndex } from '../viz/depth-names';
import { additionOf, flowRows, type LensToken } from '../viz/flow-layout';

export type { LensToken } from '../viz/flow-layout';

/** The flow view's lens choice: 'auto' is 'layers' up to autoLensFlops, else 'final'. */
export type FlowLensChoice = 'auto' | LensPoints;

/** The most lens FLOPs a run spends without being asked: 0.25 TFLOP (GPT-2 small up to T ≈ 250). */
export const autoLensFlops = 2.5e11;
/**
 * The same on a CPU adapter (GpuSummary.fallback): 10 GFLOP, ~10 s of SwiftShader (GPT-2 small's
 * shape at every layer up to T ≈ 10; the bundled model up to T ≈ 300).
 */
export const autoLensFlopsCpu = 1e10;

/** The lens points of a lens choice. */
export function lensPointCount(config: Gpt2Config, points: LensPoints): number {
  return points === 'final' ? 1 : points === 'layers' ? config.nLayer + 1 : flowRows(config.nLayer);
}

/** FLOPs of the logit lens over T positions at `points`, and the bytes of its top-k readback. */
export function lensCost(
  config: Gpt2Config,
  T: number,
  points: LensPoints,
): { flops: number; bytes: number } {
  const n = lensPointCount(config, points);
  return { flops: forwardFlops(config, T, n) - forwardFlops(config, T, 0), bytes: n * T * 5 * 8 };
}

/**
 * What a run reads the lens at, for this choice (PromptRun asks before each run); 'auto' spends up
 * to `budget` FLOPs (autoLensFlops, or autoLensFlopsCpu on a CPU adapter).
 */
export function flowLensPoints(
  config: Gpt2Config | undefined,
  T: number,
  choice: FlowLensChoice,
  budget = autoLensFlops,
): LensPoints {
  if (choice !== 'auto') return choice;
  if (!config) return 'layers';
  return lensCost(config, T, 'layers').flops <= budget ? 'layers' : 'final';
}

/** FLOPs as a person reads them. */
export function formatFlops(n: number): string {
  if (n >= 1e12) return `${(n / 1e12).toFixed(2)} TFLOP`;
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GFLOP`;
  return `${(n / 1e6).toFixed(1)} MFLOP`;
}

export interface FlowField {
  readonly nLayer: number;
  readonly T: number;
  readonly tokens: readonly number[];
  /** The run's numbers (stats.buffer: on the GPU). */
  readonly stats: ResidualStats;
  /** (2L+1, T) ‖stream‖ at each boundary and position. */
  readonly norms: Float32Array;
  /** (2L+1) the lens point each boundary's lens is at, −1 where the run did not compute it. */
  readonly lensPoint: Int32Array;
  /** (2L+1, T) the lens's top-1 probability, −1 where not computed (the renderer's tint). */
  readonly lensTop: Float32Array<ArrayBuffer>;
  readonly lens: RunResult['lens'];
  readonly maxNorm: number;
  readonly maxAdd: number;
}

export interface FlowAddition {
  readonly kind: 'attn' | 'mlp';
  readonly layer: number;
  readonly norm: number;
  /** Cosine with the stream it read (resid_pre for attention, resid_mid for the MLP). */
  readonly cos: number;
}

/** `result.lens` may be at no point yet (its run's lens pending): the field then has no lens cells. */
export function flowField(result: RunResult, stats: ResidualStats): FlowField {
  const L = stats.nLayer;
  const T = result.tokens.length;
  if (stats.T !== T) throw new Error(`residual stats cover ${stats.T} positions, the run ${T}`);
  const rows = flowRows(L);
  const d = stats.data;
  const at = (l: number, t: number, k: number) => d[(l * T + t) * residualStatsStride + k]!;
  const norms = new Float32Array(rows * T);
  let maxNorm = 0;
  let maxAdd = 0;
  for (let b = 0; b < rows; b++) {
    for (let t = 0; t < T; t++) {
      const n = b === 2 * L ? at(L - 1, t, 6) : at(Math.floor(b / 2), t, b % 2 === 1 ? 5 : 0);
      norms[b * T + t] = n;
      maxNorm = Math.max(maxNorm, n);
    }
  }
  for (let l = 0; l < L; l++) for (let t = 0; t < T; t++) maxAdd = Math.max(maxAdd, at(l, t, 1), at(l, t, 2));
  const { lens } = result;
  const lensPoint = new Int32Array(rows).fill(-1);
  lens.points.forEach((p, i) => (lensPoint[boundaryIndex(p)] = i));
  const lensTop = new Float32Array(rows * T).fill(-1);
  for (let b = 0; b < rows; b++) {
    const p = lensPoint[b]!;
    if (p < 0) continue;
    for (let t = 0; t < T; t++) lensTop[b * T + t] = lens.probs[(p * T + t) * lens.k]!;
  }
  return { nLayer: L, T, tokens: result.tokens, stats, norms, lensPoint, lensTop, lens, maxNorm, maxAdd };
}

/** The lens's top-k at boundary b, position t (undefined where the run did not compute it). */
export function flowTop(
  field: FlowField,
  b: number,
  t: number,
  label: (id: number) => string,
): LensToken[] | undefined {
  const p = field.lensPoint[b] ?? -1;
  if (p < 0 || t < 0 || t >= field.T) return undefined;
  const { lens, T } = field;
  return Array.from({ length: lens.k }, (_, i) => {
    const at = (p * T + t) * lens.k + i;
    const id = lens.ids[at]!;
    return { id, label: label(id), p: lens.probs[at]! };
  });
}

/** What made boundary b at position t (attention or the MLP of one layer), if anything. */
export function flowAddition(field: FlowField, b: number, t: number): FlowAddition | undefined {
  const a = additionOf(b);
  if (!a) return undefined;
  const o = (a.layer * field.T + t) * residualStatsStride;
  const d = field.stats.data;
  return a.kind === 'attn'
    ? { ...a, norm: d[o + 1]!, cos: d[o + 3]! }
    : { ...a, norm: d[o + 2]!, cos: d[o + 4]! };
}
