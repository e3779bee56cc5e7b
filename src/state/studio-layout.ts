// The studio screen's sizing arithmetic (pure): how the heads grid shares a panel with the
// focused head. Squares and gaps as headGridLayout (src/viz/heatmap-layout.ts) draws them.

const gap = 10;
const label = 18;
/** The focused head's fixed parts (src/components/heatmap-focus.svelte): query labels, key labels and title bar. */
const focusGutterX = 112;
const focusGutterY = 132;
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
