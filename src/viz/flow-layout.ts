// Geometry of the residual-stream flow view (pure, in CSS pixels): depths stacked bottom (the
// embeddings) to top (the output), positions across; each position's stream drawn as a vertical
// band whose width follows ‖stream‖ up through the layers (d3-shape area), and in the band
// between two depths the block's two additions — attention on the left, the MLP on the right —
// as bars whose height follows ‖addition‖ and whose colour is its cosine with the stream it read
// (warm: along the stream, cool: against it). d3-scale maps the numbers to pixels and colours.

import { scaleBand, scaleDiverging, scaleLinear } from 'd3-scale';
import { interpolateRdBu } from 'd3-scale-chromatic';
import { area, curveMonotoneY } from 'd3-shape';

export interface LensToken {
  readonly id: number;
  readonly label: string;
  readonly p: number;
}

/** The stream at one depth and position. */
export interface FlowCell {
  readonly depth: number;
  readonly position: number;
  /** The logit lens's top-k there, best first. */
  readonly top: readonly LensToken[];
  /** ‖stream‖. */
  readonly norm: number;
}

/** What block `layer` adds at one position. */
export interface FlowBlock {
  readonly layer: number;
  readonly position: number;
  readonly attnNorm: number;
  readonly mlpNorm: number;
  /** cos(attention's addition, the stream it read). */
  readonly attnCos: number;
  /** cos(the MLP's addition, the stream it read: resid_mid). */
  readonly mlpCos: number;
  /** ‖resid_mid‖: the stream between attention and the MLP. */
  readonly midNorm: number;
}

export interface FlowGrid {
  readonly nLayer: number;
  readonly T: number;
  readonly tokens: readonly number[];
  /** [depth][position], depth 0 … nLayer. */
  readonly cells: readonly (readonly FlowCell[])[];
  /** [layer][position]. */
  readonly blocks: readonly (readonly FlowBlock[])[];
  /** The largest ‖stream‖ and the largest ‖addition‖ (for shared scales). */
  readonly maxNorm: number;
  readonly maxAdd: number;
}

export interface FlowLayoutOptions {
  /** Width available, px. The layout grows wider (and scrolls) when positions would be too narrow. */
  readonly width: number;
  /** Gutter for the depth labels, px. */
  readonly gutter?: number;
  readonly minColumn?: number;
  /** Columns no wider than this: a short prompt does not stretch across a wide screen. */
  readonly maxColumn?: number;
  readonly rowHeight?: number;
  readonly bandHeight?: number;
  /** Space under the bottom row for the prompt's tokens, px. */
  readonly axisHeight?: number;
}

export interface FlowBar {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly color: string;
}

export interface FlowLayout {
  readonly width: number;
  readonly height: number;
  readonly gutter: number;
  readonly column: number;
  readonly rowHeight: number;
  readonly bandHeight: number;
  /** Centre x of each position. */
  readonly x: readonly number[];
  /** Top y of each depth's row. */
  readonly rowY: readonly number[];
  /** Top y of each block's band (between depths l and l+1). */
  readonly bandY: readonly number[];
  /** Top of the prompt's token labels. */
  readonly axisY: number;
  /** Per position, the SVG path of its stream. */
  readonly streams: readonly string[];
  /** [layer][position]: attention's and the MLP's bars. */
  readonly attn: readonly (readonly FlowBar[])[];
  readonly mlp: readonly (readonly FlowBar[])[];
  /** Colour of a cosine (the legend uses it too). */
  readonly cosColor: (cos: number) => string;
}

/** Cosine → colour: RdBu reversed, so +1 (the addition points along the stream) is red. */
export const cosineColor = scaleDiverging((t: number) => interpolateRdBu(1 - t)).domain([-1, 0, 1]);

export function flowLayout(grid: FlowGrid, options: FlowLayoutOptions): FlowLayout {
  const gutter = options.gutter ?? 128;
  const minColumn = options.minColumn ?? 46;
  const maxColumn = options.maxColumn ?? 120;
  const rowHeight = options.rowHeight ?? 38;
  const bandHeight = options.bandHeight ?? 34;
  const axisHeight = options.axisHeight ?? 44;
  const { nLayer: L, T } = grid;
  const width = Math.max(Math.min(options.width, gutter + 8 + T * maxColumn), gutter + 8 + T * minColumn);
  const xs = scaleBand<number>()
    .domain(Array.from({ length: T }, (_, t) => t))
    .range([gutter, width - 8]);
  const column = xs.bandwidth();
  const x = Array.from({ length: T }, (_, t) => xs(t)! + column / 2);
  const top = 4;
  const rowY = Array.from({ length: L + 1 }, (_, d) => top + (L - d) * (rowHeight + bandHeight));
  const bandY = Array.from({ length: L }, (_, l) => rowY[l + 1]! + rowHeight);
  const axisY = rowY[0]! + rowHeight + 4;
  const height = axisY + axisHeight;

  // Stream width ∝ ‖stream‖ (a shared scale: layers and positions compare).
  const streamWidth = scaleLinear()
    .domain([0, grid.maxNorm || 1])
    .range([1.5, Math.max(4, Math.min(36, column * 0.36))]);
  const barHeight = scaleLinear()
    .domain([0, grid.maxAdd || 1])
    .range([0, bandHeight - 6]);
  const barWidth = Math.max(3, Math.min(10, column * 0.16));
  const stream = area<{ y: number; w: number; cx: number }>()
    .y((p) => p.y)
    .x0((p) => p.cx - p.w / 2)
    .x1((p) => p.cx + p.w / 2)
    .curve(curveMonotoneY);

  const streams = x.map((cx, t) => {
    // From the output down to the embeddings (y increasing): depth centres, and resid_mid in each band.
    const points: { y: number; w: number; cx: number }[] = [];
    for (let d = L; d >= 0; d--) {
      points.push({ y: rowY[d]! + rowHeight / 2, w: streamWidth(grid.cells[d]![t]!.norm), cx });
      if (d > 0)
        points.push({
          y: bandY[d - 1]! + bandHeight / 2,
          w: streamWidth(grid.blocks[d - 1]![t]!.midNorm),
          cx,
        });
    }
    return stream(points) ?? '';
  });
  const bar = (l: number, cx: number, norm: number, cos: number): FlowBar => {
    const h = Math.max(1, barHeight(norm));
    return {
      x: cx - barWidth / 2,
      y: bandY[l]! + bandHeight - 3 - h,
      width: barWidth,
      height: h,
      color: cosineColor(cos),
    };
  };
  const offset = column * 0.3;
  const attn = grid.blocks.map((row, l) => row.map((b, t) => bar(l, x[t]! - offset, b.attnNorm, b.attnCos)));
  const mlp = grid.blocks.map((row, l) => row.map((b, t) => bar(l, x[t]! + offset, b.mlpNorm, b.mlpCos)));
  return {
    width,
    height,
    gutter,
    column,
    rowHeight,
    bandHeight,
    x,
    rowY,
    bandY,
    axisY,
    streams,
    attn,
    mlp,
    cosColor: (c) => cosineColor(c),
  };
}
