// Arrow-key navigation of the studio's grids (the head maps, the ablation grid, the atlas, the lens
// table, the flow's cells): the cell a key moves a cursor to, with one keymap everywhere. The arrows
// step one cell; Home and End go to the row's first and last cell (with Ctrl, also to the first and
// last row); PageUp and PageDown to the top and the bottom row. Rows are drawn top-down (ArrowUp:
// row − 1) or, for depth, bottom-up (`up` 1: ArrowUp goes one residual boundary deeper).

/** [row, column] */
export type GridCell = readonly [number, number];

/**
 * The cell `e.key` moves a cursor at `at` to, clamped to a grid of size [rows, columns]; undefined
 * for a key the grid does not use. `up` is the row step of ArrowUp.
 */
export function gridKey(
  e: Pick<KeyboardEvent, 'key' | 'ctrlKey'>,
  at: GridCell,
  [rows, cols]: GridCell,
  up: 1 | -1 = -1,
): [number, number] | undefined {
  const [row, col] = at;
  const top = up < 0 ? 0 : rows - 1;
  const to: Record<string, GridCell> = {
    ArrowUp: [row + up, col],
    ArrowDown: [row - up, col],
    ArrowLeft: [row, col - 1],
    ArrowRight: [row, col + 1],
    Home: [e.ctrlKey ? 0 : row, 0],
    End: [e.ctrlKey ? rows - 1 : row, cols - 1],
    PageUp: [top, col],
    PageDown: [rows - 1 - top, col],
  };
  const cell = Object.hasOwn(to, e.key) ? to[e.key] : undefined;
  if (!cell) return undefined;
  const clamp = (v: number, n: number) => Math.max(0, Math.min(n - 1, v));
  return [clamp(cell[0], rows), clamp(cell[1], cols)];
}

/**
 * The focused heatmap's own keymap, [query, key] in a causal T × T pattern: the arrows step one
 * cell, PageUp/PageDown 8 queries, Home goes to the row's first key and End to the diagonal (the
 * last key a causal query sees). The first key starts at [0, 0] (`at` undefined). Clamped to T.
 */
export function heatmapCellKey(
  key: string,
  at: { readonly query: number; readonly key: number } | undefined,
  T: number,
): [number, number] | undefined {
  const steps: Record<string, GridCell> = {
    ArrowUp: [-1, 0],
    ArrowDown: [1, 0],
    ArrowLeft: [0, -1],
    ArrowRight: [0, 1],
    PageUp: [-8, 0],
    PageDown: [8, 0],
  };
  const q = at?.query ?? 0;
  const k = at?.key ?? 0;
  let to: GridCell | undefined;
  if (Object.hasOwn(steps, key)) to = at ? [q + steps[key]![0], k + steps[key]![1]] : [0, 0];
  else if (key === 'Home') to = [q, 0];
  else if (key === 'End') to = [q, q];
  if (!to) return undefined;
  const clamp = (v: number) => Math.max(0, Math.min(T - 1, v));
  return [clamp(to[0]), clamp(to[1])];
}
