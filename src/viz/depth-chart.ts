// Geometry of the token-tracking charts: one line per tracked token across the lens points (depth
// on x), probability (linear or log) or rank (log, best at the top) on y. d3-scale maps values,
// d3-shape draws the lines; the component only places the SVG elements this returns.

import { scaleLinear, scaleLog, scalePoint, type ScaleContinuousNumeric } from 'd3-scale';
import { line } from 'd3-shape';

export interface ChartSize {
  readonly width: number;
  readonly height: number;
}

export interface ChartTick {
  readonly y: number;
  readonly label: string;
}

export interface ChartLine {
  /** SVG path data through the points. */
  readonly path: string;
  readonly points: readonly { readonly x: number; readonly y: number; readonly value: number }[];
}

export interface DepthChart {
  readonly width: number;
  readonly height: number;
  /** The plot area inside the axes. */
  readonly plot: {
    readonly left: number;
    readonly right: number;
    readonly top: number;
    readonly bottom: number;
  };
  /** x of each lens point. */
  readonly xs: readonly number[];
  readonly yTicks: readonly ChartTick[];
  readonly lines: readonly ChartLine[];
}

export const chartMargin = { top: 8, right: 12, bottom: 22, left: 46 } as const;

/** The lowest probability a log axis shows: f32 softmax underflows well below it only for absurd logits. */
const minLogProb = 1e-12;

function layout(
  series: readonly (readonly number[])[],
  nPoints: number,
  size: ChartSize,
  y: ScaleContinuousNumeric<number, number>,
  ticks: readonly ChartTick[],
  value: (v: number) => number,
): DepthChart {
  const { width, height } = size;
  const plot = {
    left: chartMargin.left,
    right: width - chartMargin.right,
    top: chartMargin.top,
    bottom: height - chartMargin.bottom,
  };
  const x = scalePoint<number>()
    .domain(Array.from({ length: nPoints }, (_, i) => i))
    .range([plot.left, plot.right])
    .padding(0.3);
  const xs = Array.from({ length: nPoints }, (_, i) => x(i)!);
  const path = line<{ x: number; y: number }>()
    .x((d) => d.x)
    .y((d) => d.y);
  const lines = series.map((s) => {
    const points = s.map((v, i) => ({ x: xs[i]!, y: y(value(v)), value: v }));
    return { path: path(points) ?? '', points };
  });
  return { width, height, plot, xs, yTicks: ticks, lines };
}

/** Powers of ten from 10^lo to 10^hi, at most `max` of them (every n-th decade). */
function decades(lo: number, hi: number, max = 6): number[] {
  const step = Math.max(1, Math.ceil((hi - lo) / (max - 1)));
  const out: number[] = [];
  for (let e = hi; e >= lo; e -= step) out.unshift(e);
  return out;
}

const powerLabel = (e: number) => (e === 0 ? '1' : e >= -3 && e < 0 ? String(10 ** e) : `1e${e}`);

/**
 * Probability across depth: linear on [0, 1], or log from the decade below the smallest
 * probability (at least minLogProb; zeros are drawn at the floor) up to 1.
 */
export function probabilityChart(
  series: readonly (readonly number[])[],
  nPoints: number,
  size: ChartSize,
  log: boolean,
): DepthChart {
  const range: [number, number] = [size.height - chartMargin.bottom, chartMargin.top];
  if (!log) {
    const y = scaleLinear().domain([0, 1]).range(range);
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((v) => ({ y: y(v), label: String(v) }));
    return layout(series, nPoints, size, y, ticks, (v) => Math.min(1, Math.max(0, v)));
  }
  let min = 1;
  for (const s of series) for (const v of s) if (v > 0 && v < min) min = v;
  const lo = Math.max(Math.log10(minLogProb), Math.min(-1, Math.floor(Math.log10(min))));
  const floor = 10 ** lo;
  const y = scaleLog().domain([floor, 1]).range(range);
  const ticks = decades(lo, 0).map((e) => ({ y: y(10 ** e), label: powerLabel(e) }));
  return layout(series, nPoints, size, y, ticks, (v) => Math.min(1, Math.max(floor, v)));
}

/**
 * Rank across depth, as the 1-based place in the vocabulary (rank 0, the top token, is 1) on a log
 * axis with 1 at the top, down to the decade above the largest rank shown (at most `vocabSize`).
 */
export function rankChart(
  series: readonly (readonly number[])[],
  nPoints: number,
  size: ChartSize,
  vocabSize: number,
): DepthChart {
  let max = 1;
  for (const s of series) for (const r of s) max = Math.max(max, r + 1);
  const hi = Math.max(1, Math.ceil(Math.log10(Math.min(Math.max(max, 2), Math.max(vocabSize, 2)))));
  const y = scaleLog()
    .domain([1, 10 ** hi])
    .range([chartMargin.top, size.height - chartMargin.bottom]);
  const ticks = decades(0, hi).map((e) => ({ y: y(10 ** e), label: e <= 3 ? String(10 ** e) : `1e${e}` }));
  return layout(series, nPoints, size, y, ticks, (r) => Math.min(10 ** hi, r + 1));
}
