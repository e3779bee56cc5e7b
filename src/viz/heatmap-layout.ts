// Where heads go on a heatmap canvas, and the zoom/pan arithmetic of a focused head: pure
// functions in CSS pixels and cells, shared by the components (labels, hit tests) and the state
// layer (the viewports it hands the renderer), so both always agree.

/** A region of (key, query) space in cells: keys [key0, key1) across, queries [query0, query1) down. */
export interface CellRect {
  readonly key0: number;
  readonly query0: number;
  readonly key1: number;
  readonly query1: number;
}

export interface HeadRect {
  readonly head: number;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface HeadGridLayout {
  readonly columns: number;
  readonly rows: number;
  /** Side of each head's square, px. */
  readonly cell: number;
  /** Height of the label strip above each square, px. */
  readonly label: number;
  readonly width: number;
  readonly height: number;
  /** Each head's square (below its label), row-major: head h at row ⌊h/columns⌋. */
  readonly heads: readonly HeadRect[];
}

export interface GridOptions {
  /**
   * Width only: the smallest square before the grid wraps to more rows. With a height: the
   * smallest square the grid shrinks to so that it fits the height; below it, the width decides
   * alone (at this size) and the grid grows taller than the height.
   */
  readonly minCell?: number;
  /** The largest square (default 180 by width alone, 1600 with a height). */
  readonly maxCell?: number;
  readonly gap?: number;
  readonly label?: number;
  /** The height the grid may take, px (labels included); none: the width decides alone. */
  readonly height?: number;
}

interface GridShape {
  readonly columns: number;
  readonly rows: number;
  readonly cell: number;
}

/**
 * The largest square that fits H heads in width × height: over every row count r (in ⌈H/r⌉
 * columns; fewer would need more rows), the side both the width and the height allow. Ties (at
 * maxCell): the fewest empty places, then the fewest rows.
 */
export function fitHeadGrid(
  nHead: number,
  width: number,
  height: number,
  { maxCell = 1600, gap = 10, label = 18 }: Pick<GridOptions, 'maxCell' | 'gap' | 'label'> = {},
): GridShape {
  const H = Math.max(1, nHead);
  let best: GridShape | undefined;
  for (let rows = 1; rows <= H; rows++) {
    const columns = Math.ceil(H / rows);
    if (Math.ceil(H / columns) !== rows) continue; // as many columns with fewer rows exists
    const byWidth = (width - (columns - 1) * gap) / columns;
    const byHeight = (height - rows * label - (rows - 1) * gap) / rows;
    const cell = Math.floor(Math.min(maxCell, byWidth, byHeight));
    const empty = (s: GridShape) => s.columns * s.rows - H;
    const shape = { columns, rows, cell };
    if (!best || cell > best.cell || (cell === best.cell && empty(shape) < empty(best))) best = shape;
  }
  return best!;
}

/**
 * A grid of H squares in `width` (and `height`, when given: the largest squares that fit both,
 * fitHeadGrid). By width alone: as many columns as fit at `minCell`, rows balanced.
 */
export function headGridLayout(nHead: number, width: number, options: GridOptions = {}): HeadGridLayout {
  const { gap = 10, label = 18, height } = options;
  const maxCell = options.maxCell ?? (height === undefined ? 180 : 1600);
  const minCell = options.minCell ?? (height === undefined ? 88 : 48);
  let shape: GridShape | undefined;
  if (height !== undefined) {
    const fit = fitHeadGrid(nHead, width, height, { maxCell, gap, label });
    if (fit.cell >= Math.min(minCell, maxCell)) shape = fit;
  }
  if (!shape) {
    const fit = Math.max(1, Math.floor((width + gap) / (minCell + gap)));
    const rows = Math.ceil(nHead / Math.min(fit, Math.max(1, nHead)));
    const columns = Math.max(1, Math.ceil(nHead / Math.max(1, rows)));
    const cell = Math.max(8, Math.min(maxCell, Math.floor((width - (columns - 1) * gap) / columns)));
    shape = { columns, rows, cell };
  }
  const { columns, rows, cell } = shape;
  const heads = Array.from({ length: nHead }, (_, head) => ({
    head,
    x: (head % columns) * (cell + gap),
    y: Math.floor(head / columns) * (cell + label + gap) + label,
    width: cell,
    height: cell,
  }));
  return {
    columns,
    rows,
    cell,
    label,
    width: columns * cell + (columns - 1) * gap,
    height: rows * (cell + label) + (rows - 1) * gap,
    heads,
  };
}

/** The head whose square or label is at (x, y), if any. */
export function headAt(layout: HeadGridLayout, x: number, y: number): number | undefined {
  return layout.heads.find(
    (r) => x >= r.x && x < r.x + r.width && y >= r.y - layout.label && y < r.y + r.height,
  )?.head;
}

/** All T × T cells. */
export const allCells = (T: number): CellRect => ({ key0: 0, query0: 0, key1: T, query1: T });

/** `cells` kept inside the T × T prompt, at least `minSpan` cells wide (and at most T). */
export function clampCells(cells: CellRect, T: number, minSpan = 2): CellRect {
  const fit = (a: number, b: number): [number, number] => {
    const span = Math.min(T, Math.max(Math.min(minSpan, T), b - a));
    const start = Math.min(Math.max(0, a), T - span);
    return [start, start + span];
  };
  const [key0, key1] = fit(cells.key0, cells.key1);
  const [query0, query1] = fit(cells.query0, cells.query1);
  return { key0, query0, key1, query1 };
}

/** Zooms by `factor` (< 1 in) keeping the cell at fractions (fx, fy) of the view in place. */
export function zoomCells(cells: CellRect, T: number, factor: number, fx = 0.5, fy = 0.5): CellRect {
  const kw = cells.key1 - cells.key0;
  const qh = cells.query1 - cells.query0;
  const ak = cells.key0 + fx * kw;
  const aq = cells.query0 + fy * qh;
  const nk = kw * factor;
  const nq = qh * factor;
  return clampCells(
    { key0: ak - fx * nk, key1: ak + (1 - fx) * nk, query0: aq - fy * nq, query1: aq + (1 - fy) * nq },
    T,
  );
}

/** Moves the view by (dk, dq) cells. */
export function panCells(cells: CellRect, T: number, dk: number, dq: number): CellRect {
  return clampCells(
    { key0: cells.key0 + dk, key1: cells.key1 + dk, query0: cells.query0 + dq, query1: cells.query1 + dq },
    T,
  );
}

/** True when `cells` shows the whole prompt. */
export function isAllCells(cells: CellRect | undefined, T: number): boolean {
  return !cells || (cells.key0 <= 0 && cells.query0 <= 0 && cells.key1 >= T && cells.query1 >= T);
}

/**
 * Which head numbers a layers × heads map labels (its cells clamp(9px, 220px / H, 20px) wide, the
 * detector maps): every one while they fit, else every 2nd or 5th, so that two-digit numbers
 * (0.62rem, about 12 px) do not run together.
 */
export function headTickStep(nHead: number): number {
  const cell = Math.min(20, Math.max(9, 220 / Math.max(1, nHead)));
  return nHead <= 10 || cell >= 13 ? 1 : cell >= 11 ? 2 : 5;
}

/** A focused head's token label as its axes show it: spaces as "·", newlines as "↵", ≤ `max` characters. */
export function focusLabel(label: string, max = 14): string {
  const s = label.replaceAll(' ', '·').replaceAll('\n', '↵');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/**
 * The size of a focused head's axis labels, CSS px, for the head's box `width` px wide: 11 in a
 * laptop's pane, growing to 16 in a 4K screen's (≈ 1400 px), so that they stay readable (DOM text:
 * drawn at the device pixel ratio).
 */
export function focusLabelFont(width: number): number {
  return Math.round(Math.min(16, Math.max(11, 5 + width / 110)));
}

/**
 * A focused head's label gutters, px, for the token labels of its prompt: the query labels' width
 * and the (rotated) key labels' height, room for the longest "index label" ("·capital 12") in the
 * monospace font of `font` px (≈ 0.61 em a character: 6.7 px at 11). Short prompts leave the plot
 * more room.
 */
export function focusGutters(
  labels: readonly string[],
  font = 11,
): { readonly query: number; readonly key: number } {
  let n = 1;
  for (const l of labels) n = Math.max(n, focusLabel(l).length);
  const chars = n + 1 + String(Math.max(0, labels.length - 1)).length;
  const text = Math.ceil((chars * 6.7 * font) / 11);
  return { query: Math.max(56, text + 14), key: Math.max(40, text + 12) };
}
