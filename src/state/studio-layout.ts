// The studio screen's sizing arithmetic (pure): how the heads grid shares a panel with the
// focused head. Squares and gaps as headGridLayout (src/viz/heatmap-layout.ts) draws them.

import { fitHeadGrid, headGridLayout } from '../viz/heatmap-layout';

const gap = 10;
const label = 18;
/** The focused head's fixed parts (src/components/heatmap-focus.svelte): query labels, key labels and title bar. */
const focusGutterX = 112;
const focusGutterY = 132;
/** The focused head's smallest side, px (src/components/heatmap-focus.svelte: below it, it overflows). */
export const focusMinSide = 160;
/** The focused head's title bar and the margin under it, px (heatmap-focus.svelte). */
const focusBar = 26 + 18;
/** The focused head's largest side, px (a 4K screen's attention pane). */
export const focusMaxSide = 1600;
const focusMax = focusMaxSide;

export interface GridFit {
  readonly columns: number;
  readonly rows: number;
  /** Side of a head's square, px. */
  readonly cell: number;
  /** The grid's width, px. */
  readonly width: number;
}

function fitColumns(nHead: number, columns: number, height: number, maxCell: number): GridFit {
  const rows = Math.ceil(nHead / columns);
  const byHeight = Math.floor((height - rows * label - (rows - 1) * gap) / rows);
  const cell = Math.max(24, Math.min(maxCell, byHeight));
  return { columns, rows, cell, width: columns * cell + (columns - 1) * gap };
}

/**
 * The grid beside a focused head in a `width` × `height` panel: the fewest columns whose squares,
 * rows stacked to the panel's height, are ≥ `minCell`; then more columns while the focused head
 * (square, bounded by the height) still has its full size in the width left.
 */
export function gridBesideFocus(nHead: number, height: number, width: number, minCell = 56): GridFit {
  const H = Math.max(1, nHead);
  let fit = fitColumns(H, H, height, 180);
  for (let c = 1; c <= H; c++) {
    const f = fitColumns(H, c, height, 180);
    if (f.cell >= minCell || c === H) {
      fit = f;
      break;
    }
  }
  const focusSide = Math.min(focusMax, height - focusGutterY);
  while (fit.columns < H) {
    const next = fitColumns(H, fit.columns + 1, height, 180);
    if (width - next.width - 2 * gap - focusGutterX < focusSide) break;
    fit = next;
  }
  return fit;
}

/** The gap between the grid and the focused head (src/components/heatmap-views.svelte: 1.25rem). */
const viewsGap = 20;

export interface FocusArrangement {
  /** The grid above the focused head (a tall pane), else beside it. */
  readonly stacked: boolean;
  /** Stacked: the grid's height and the focused head's side (px); beside: gridBesideFocus's fit. */
  readonly gridHeight: number;
  readonly focusSide: number;
  /** The focused head's box: its side with its labels and title bar (px). */
  readonly focusWidth: number;
  readonly focusHeight: number;
  readonly grid: GridFit;
}

/**
 * Where the grid goes in a `width` × `height` panel with a focused head: beside it (a wide pane:
 * gridBesideFocus), or above it (a tall one, a 4K screen's attention pane: the focused head as
 * wide as the pane, the grid in the height left, its squares ≥ `minCell`), whichever gives the
 * focused head the larger side; a tie, the larger grid squares. Beside it, the squares go below
 * `minCell` (to 24 px) where that is what keeps the focused head its smallest side.
 */
export function arrangeFocus(nHead: number, height: number, width: number, minCell = 56): FocusArrangement {
  const H = Math.max(1, nHead);
  const sideBeside = (g: GridFit) =>
    Math.max(0, Math.min(focusMax, height - focusGutterY, width - g.width - 2 * gap - focusGutterX));
  // Squares of minCell that leave the focused head less than its smallest side (25 heads at
  // 1280×800): smaller squares, down to 24 px, rather than a focused head squeezed under them.
  let beside = gridBesideFocus(H, height, width, minCell);
  for (const m of [48, 40, 32, 24])
    if (sideBeside(beside) < focusMinSide && m < minCell) beside = gridBesideFocus(H, height, width, m);
  const besideSide = sideBeside(beside);
  const box = (side: number) => ({
    focusSide: side,
    focusWidth: side + focusGutterX,
    focusHeight: side + focusGutterY,
  });
  const besideFit = { stacked: false, gridHeight: height, ...box(besideSide), grid: beside };
  // Stacked: the fewest rows whose squares of minCell fit the width, and the focused head below.
  const rows = Array.from({ length: H }, (_, i) => i + 1).find(
    (r) => Math.ceil(H / r) * (minCell + gap) - gap <= width,
  );
  if (rows === undefined) return besideFit;
  const leastGrid = rows * (minCell + label) + (rows - 1) * gap;
  const side = Math.min(focusMax, width - focusGutterX, height - focusGutterY - viewsGap - leastGrid);
  if (side < besideSide) return besideFit;
  const gridHeight = height - side - focusGutterY - viewsGap;
  const g = fitHeadGrid(H, width, gridHeight, { gap, label });
  const grid = {
    columns: g.columns,
    rows: g.rows,
    cell: g.cell,
    width: g.columns * g.cell + (g.columns - 1) * gap,
  };
  if (side === besideSide && grid.cell <= beside.cell) return besideFit;
  return { stacked: true, gridHeight, ...box(side), grid };
}

/** The height of a focused head `width` px wide, labels and title bar included (it is square). */
export const stackedFocusBox = (width: number): number =>
  Math.min(focusMax, Math.max(0, width - focusGutterX)) + focusGutterY;

/** The widest a focused head is under its grid in compare mode, labels included (heatmap-views.svelte). */
export const compareFocusMax = 830;

export interface CompareFocusFit {
  /** Whether the grid is shown above the focused head (else the focused head alone). */
  readonly grid: boolean;
  /** The height the grid may take, and the focused head's (labels and title bar included), px. */
  readonly gridHeight: number;
  readonly focusHeight: number;
}

/**
 * Compare mode with a focused head, in a prompt's column `width` px wide with `height` px below its
 * heading; `gutters`: the focused head's label gutters (focusGutters of the longer prompt). The grid
 * takes at least a third of the height, more where the focused head (as wide as the column, at
 * most compareFocusMax) leaves it; the focused head the rest — when that is room for its smallest
 * plot and its labels. Else (a short pane: 1280×800) the focused head takes the whole column and
 * the grid comes back when it closes: squeezed under the grid, its key labels would be cut off.
 */
export function compareFocusFit(
  nHead: number,
  width: number,
  height: number,
  gutters: { readonly query: number; readonly key: number },
): CompareFocusFit {
  const gutterY = focusBar + gutters.key;
  const side = Math.min(focusMax, Math.max(0, Math.min(compareFocusMax, width) - gutters.query - 8));
  const gridHeight = Math.max(Math.floor(height / 3), height - viewsGap - side - gutterY);
  const grid = headGridLayout(nHead, width, { height: gridHeight, minCell: 40 });
  const focusHeight = height - viewsGap - grid.height;
  if (focusHeight >= focusMinSide + gutterY) return { grid: true, gridHeight, focusHeight };
  return { grid: false, gridHeight, focusHeight: height };
}
