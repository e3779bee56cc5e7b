// Geometry and colours of the residual-stream flow view, shared by its WGSL renderer (through the
// uniforms; shaders/render/flow.wgsl), its component (hit tests, labels) and the tests (what a
// pixel should show). World space: x = position (column t spans [t, t+1)), y = residual boundary
// (row b spans [b, b+1), 0 the embeddings at the bottom, 2L the output at the top; boundary order
// of src/viz/depth-names.ts). In each cell:
//   - the stream: a vertical ribbon centred in the column, half-width ∝ ‖stream‖, coloured by
//     ‖stream‖ / max ‖stream‖ on the norm colormap; between two row centres its norm is
//     interpolated, so the ribbon flows from one boundary to the next;
//   - what made the boundary: attention's addition (rows "after attention", bar left of the
//     ribbon) or the MLP's (rows "after MLP", bar right of it), length ∝ ‖addition‖ / max, colour
//     its cosine with the stream it read on a diverging map (red along the stream, blue against);
//   - behind them, the logit lens's top-1 probability as a blue tint where the lens was computed.
// Columns narrower than `detailPx` framebuffer pixels draw the compact field instead: the upper
// part of each cell the norm colour, the lower part the addition's cosine colour.

import type { Camera2D, WorldRect } from './camera';
import { colormapIndex, colormapSize, colormapTable, divergingIndex } from './colormaps';
import { boundaryName, boundaryShortName, layerName } from './depth-names';

export interface LensToken {
  readonly id: number;
  readonly label: string;
  readonly p: number;
}

/** ‖stream‖'s colours: viridis, 256 RGBA8 entries (entry i = ‖stream‖ / max at i/255). */
export const flowNormTable = (): Uint8Array<ArrayBuffer> => colormapTable('viridis');

/** The panel-dark middle and the two ends of the cosine map (RdBu's mid blue and red). */
const cosMiddle = [0x24, 0x28, 0x31];
const cosAgainst = [0x43, 0x93, 0xc3];
const cosAlong = [0xd6, 0x60, 0x4d];
let cosTable: Uint8Array<ArrayBuffer> | undefined;

/**
 * The additions' cosine colours, dark in the middle so that additions orthogonal to the stream
 * (cos ≈ 0, the common case) recede and aligned (red) or opposed (blue) ones stand out on the dark
 * panel: entry i = cos (2i/255 − 1), linear from the middle to each end. Cached; do not modify.
 */
export function flowCosTable(): Uint8Array<ArrayBuffer> {
  if (!cosTable) {
    cosTable = new Uint8Array(colormapSize * 4);
    for (let i = 0; i < colormapSize; i++) {
      const c = (2 * i) / (colormapSize - 1) - 1;
      const end = c < 0 ? cosAgainst : cosAlong;
      const a = Math.abs(c);
      cosTable.set([...cosMiddle.map((m, k) => Math.round(m + (end[k]! - m) * a)), 255], 4 * i);
    }
  }
  return cosTable;
}

/** A CSS gradient of a 256-entry table, for legends. */
export function tableGradient(table: Uint8Array, direction = 'to right'): string {
  const stops = Array.from({ length: 9 }, (_, k) => {
    const i = 4 * Math.round((k / 8) * (colormapSize - 1));
    return `rgb(${table[i]}, ${table[i + 1]}, ${table[i + 2]}) ${(k / 8) * 100}%`;
  });
  return `linear-gradient(${direction}, ${stops.join(', ')})`;
}

/** Cell-local geometry (fractions of a column / row), one source for the shader and the tests. */
export const flowStyle = {
  /** The ribbon's half-width at max ‖stream‖. */
  ribbonHalf: 0.17,
  /** Space between the ribbon's widest extent and a bar. */
  barGap: 0.025,
  /** A bar's length at max ‖addition‖. */
  barMax: 0.27,
  /** A bar's vertical extent in its row (0 bottom, 1 top). */
  barLow: 0.3,
  barHigh: 0.7,
  /** Compact mode: the part of a row below this shows the addition, above it ‖stream‖. */
  compactSplit: 0.28,
  /** Framebuffer pixels per column from which cells are drawn in detail. */
  detailPx: 12,
  /** Opacity of the lens tint at p = 1. */
  lensTint: 0.32,
  /** Opacity of what lies above the level the stream has reached. */
  faint: 0.26,
} as const;

/** Rows of the flow: the 2L+1 residual boundaries. */
export const flowRows = (nLayer: number): number => 2 * nLayer + 1;

/** The world the flow occupies. */
export const flowBounds = (nLayer: number, T: number): WorldRect => ({
  x0: 0,
  y0: 0,
  x1: T,
  y1: flowRows(nLayer),
});

/**
 * The world the camera may show in a width × height canvas: the flow, widened (to the right) and
 * heightened (above the output, so that the embeddings stay by the position labels at the bottom)
 * so that a fitted cell is at most maxColumn × maxRow pixels. Rows may grow tall (maxRow 240): the
 * rows fill a 4K screen's pane for every model of 4 layers or more, rather than leave a band of
 * spare height above the output; only a shallower model leaves one.
 */
export function flowCameraBounds(
  nLayer: number,
  T: number,
  width: number,
  height: number,
  maxColumn = 140,
  maxRow = 240,
): WorldRect {
  const rows = flowRows(nLayer);
  return {
    x0: 0,
    x1: Math.max(T, width / maxColumn),
    y0: 0,
    y1: Math.max(rows, height / maxRow),
  };
}

/** The ribbon's half-width (fraction of a column) at ‖stream‖ = norm. */
export function ribbonHalfWidth(norm: number, maxNorm: number): number {
  return flowStyle.ribbonHalf * (maxNorm > 0 ? Math.min(1, norm / maxNorm) : 0);
}

/** An addition's bar across its column, [u0, u1) (fractions of the column), at rest. */
export function barSpan(kind: 'attn' | 'mlp', norm: number, maxAdd: number): [number, number] {
  const len = flowStyle.barMax * (maxAdd > 0 ? Math.min(1, norm / maxAdd) : 0);
  const inner = flowStyle.ribbonHalf + flowStyle.barGap;
  return kind === 'attn' ? [0.5 - inner - len, 0.5 - inner] : [0.5 + inner, 0.5 + inner + len];
}

/** The norm colormap entry a ribbon of ‖stream‖ = norm shows. */
export const normIndex = (norm: number, maxNorm: number): number =>
  colormapIndex(maxNorm > 0 ? norm / maxNorm : 0);

/** The cosine colormap entry an addition with cosine `cos` shows. */
export const cosIndex = (cos: number): number => divergingIndex(cos);

/** Which addition made boundary b (none for the embeddings). */
export function additionOf(b: number): { kind: 'attn' | 'mlp'; layer: number } | undefined {
  if (b <= 0) return undefined;
  return { kind: b % 2 === 1 ? 'attn' : 'mlp', layer: Math.floor((b - 1) / 2) };
}

export interface FlowCellRef {
  /** Residual boundary, 0 … 2L. */
  readonly boundary: number;
  readonly position: number;
}

/** The cell under CSS pixel (px, py), if any. */
export function flowCellAt(
  camera: Camera2D,
  px: number,
  py: number,
  nLayer: number,
  T: number,
): FlowCellRef | undefined {
  const [x, y] = camera.toWorld(px, py);
  const t = Math.floor(x);
  const b = Math.floor(y);
  return t >= 0 && t < T && b >= 0 && b < flowRows(nLayer) ? { boundary: b, position: t } : undefined;
}

/** A cell's rectangle in CSS pixels. */
export function flowCellRect(camera: Camera2D, cell: FlowCellRef) {
  const [x0, y0] = camera.toScreen(cell.position, cell.boundary + 1);
  const [x1, y1] = camera.toScreen(cell.position + 1, cell.boundary);
  return { x: Math.min(x0, x1), y: Math.min(y0, y1), width: Math.abs(x1 - x0), height: Math.abs(y1 - y0) };
}

/** The columns and rows at least partly in sight: [t0, t1) × [b0, b1). */
export function flowVisible(camera: Camera2D, nLayer: number, T: number) {
  const v = camera.visible();
  return {
    t0: Math.max(0, Math.floor(v.x0)),
    t1: Math.min(T, Math.ceil(v.x1)),
    b0: Math.max(0, Math.floor(v.y0)),
    b1: Math.min(flowRows(nLayer), Math.ceil(v.y1)),
  };
}

export interface FlowLabelOptions {
  /** A cell gets a label when it is at least this wide and tall, CSS px. */
  readonly minWidth?: number;
  readonly minHeight?: number;
  /** At most this many labels (a bounded DOM overlay). */
  readonly max?: number;
}

/**
 * The visible cells that have room for a label, at most `max` (none when more would be needed:
 * the cells are then too small to read anyway). `has(b)`: rows that have something to label.
 */
export function flowLabelCells(
  camera: Camera2D,
  nLayer: number,
  T: number,
  has: (boundary: number) => boolean,
  options: FlowLabelOptions = {},
): FlowCellRef[] {
  const { minWidth = 24, minHeight = 13, max = 600 } = options;
  const [sx, sy] = camera.scale();
  if (sx < minWidth || sy < minHeight) return [];
  const { t0, t1, b0, b1 } = flowVisible(camera, nLayer, T);
  const rows: number[] = [];
  for (let b = b0; b < b1; b++) if (has(b)) rows.push(b);
  if (rows.length * (t1 - t0) > max) return [];
  return rows.flatMap((b) => Array.from({ length: t1 - t0 }, (_, i) => ({ boundary: b, position: t0 + i })));
}

/**
 * The size of the flow's axis text (row and column labels), CSS px, for a flow body (labels and
 * plot) of `width` × `height` CSS px: 11 at a laptop's pane, growing with the body's larger side to
 * 16 at a 4K screen's (≈ 1700 px tall). DOM text, so it is drawn at the device pixel ratio.
 */
export function flowAxisFont(width: number, height: number): number {
  return Math.round(Math.min(16, Math.max(11, 4 + Math.max(width, height) / 125)));
}

/** Whether rows `rowPx` tall get their full names in `font` px text (else thinned short names). */
export const flowFullRowNames = (rowPx: number, font: number): boolean => rowPx >= font + 2;

/** The gutter's width for the row labels, CSS px: full names ("L11 · after attention") or short ("L47m"). */
export const flowGutterWidth = (full: boolean, font: number): number => Math.ceil((full ? 13.8 : 5.4) * font);

export interface FlowRowLabel {
  /** Residual boundary, 0 … 2L. */
  readonly b: number;
  /** Centre of the label, CSS px from the plot's top (kept inside the plot). */
  readonly y: number;
  /** In the selected layer's block. */
  readonly current: boolean;
  readonly text: string;
}

/**
 * The gutter's row labels for a plot `height` px tall with text `font` px: every visible row by
 * its full name while rows are at least font + 2 px tall; shorter rows thinned to every k-th
 * (short names; k even from 2: the ends of every 1, 2, 3, 5, 10… layers), the selected block as
 * one label ("L3 ▸"). Labels are kept inside the plot, and
 * none lies closer than a line to another (a clamped top or bottom row gives way), top down.
 */
export function flowRowLabels(
  camera: Camera2D,
  nLayer: number,
  height: number,
  layer: number,
  font = 11,
): FlowRowLabel[] {
  const { b0, b1 } = flowVisible(camera, nLayer, 1);
  const sy = camera.scale()[1];
  const half = font / 2 + 1;
  const at = (b: number) => Math.max(half, Math.min(height - half, camera.toScreen(0, b + 0.5)[1]));
  const band = { pre: 2 * layer, mid: 2 * layer + 1, post: 2 * layer + 2 };
  const full = flowFullRowNames(sy, font);
  const gap = full ? font + 1 : font + 3;
  const kept: FlowRowLabel[] = [];
  if (!full && band.mid >= b0 && band.mid < b1)
    kept.push({ b: band.mid, y: at(band.mid), current: true, text: `${layerName(layer)} ▸` });
  // Every k-th boundary, k even from 2 (layer ends, "after MLP": every 1, 2, 3, 5, 10… layers).
  const least = gap / sy;
  const step = full ? 1 : ([1, 2, 4, 6, 10, 20, 40, 100, 200].find((k) => k >= least) ?? 400);
  for (let b = b1 - 1; b >= b0; b--) {
    if (b % step !== 0 || (!full && b === band.mid)) continue;
    const y = at(b);
    if (kept.some((k) => Math.abs(k.y - y) < gap)) continue;
    const current = full && b >= band.pre && b <= band.post;
    kept.push({ b, y, current, text: full ? boundaryName(b) : boundaryShortName(b) });
  }
  return kept.sort((p, q) => p.b - q.b);
}
