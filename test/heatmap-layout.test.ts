// The head grid's layout (src/viz/heatmap-layout.ts; beside or above a focused head,
// src/state/studio-layout.ts): given the pane's width and height, the largest squares that fit
// both, every head placed, nothing outside the pane; by width alone (no height) the old wrapping.
// Compare mode with a focused head: the grid above it only where the focused head keeps room for
// its smallest plot and its key labels (else it alone), nothing taller than the column.
// Beside the grid, the focused head keeps its smallest side where the pane allows (smaller squares).
import { expect, test } from 'vitest';
import { arrangeFocus, compareFocusFit, focusMinSide, gridBesideFocus } from '../src/state/studio-layout';
import {
  fitHeadGrid,
  focusGutters,
  focusLabelFont,
  headAt,
  headGridLayout,
  headTickStep,
  type HeadGridLayout,
} from '../src/viz/heatmap-layout';

const heads = [4, 12, 16, 20, 25];
/** Panes of the studio's attention view, from a 1280×800 window to a 3840×2160 one. */
const panes = [
  [660, 420],
  [900, 560],
  [1100, 900],
  [1390, 1900],
  [2500, 1900],
] as const;

function expectInside(l: HeadGridLayout, H: number, width: number, height: number) {
  expect(l.heads).toHaveLength(H);
  expect(new Set(l.heads.map((r) => `${r.x},${r.y}`)).size, 'no two heads share a place').toBe(H);
  expect(l.columns * l.rows).toBeGreaterThanOrEqual(H);
  expect(l.width).toBeLessThanOrEqual(width);
  expect(l.height).toBeLessThanOrEqual(height);
  for (const r of l.heads) {
    expect(r.width).toBe(l.cell);
    expect(r.height).toBe(l.cell);
    expect(r.y - l.label, 'the label strip').toBeGreaterThanOrEqual(0);
    expect(r.x + r.width).toBeLessThanOrEqual(l.width);
    expect(r.y + r.height).toBeLessThanOrEqual(l.height);
    // Its square and its label are its own.
    expect(headAt(l, r.x + 1, r.y - l.label + 1)).toBe(r.head);
    expect(headAt(l, r.x + r.width - 1, r.y + r.height - 1)).toBe(r.head);
  }
}

test('every head fits the pane, in the largest squares any row count allows', () => {
  for (const H of heads)
    for (const [width, height] of panes) {
      const l = headGridLayout(H, width, { height });
      expectInside(l, H, width, height);
      // No other arrangement of rows gives bigger squares inside both the width and the height.
      for (let rows = 1; rows <= H; rows++) {
        const columns = Math.ceil(H / rows);
        const byWidth = (width - (columns - 1) * 10) / columns;
        const byHeight = (height - rows * 18 - (rows - 1) * 10) / rows;
        expect(
          Math.floor(Math.min(byWidth, byHeight)),
          `H=${H} ${width}×${height} rows=${rows}`,
        ).toBeLessThanOrEqual(l.cell);
      }
      // Not much short of it either: it fills the width or the height.
      const slackX = width - l.width;
      const slackY = height - l.height;
      expect(Math.min(slackX, slackY), `H=${H} ${width}×${height}`).toBeLessThanOrEqual(
        Math.max(l.columns, l.rows),
      );
    }
});

test('a taller pane gives bigger squares, in more rows', () => {
  for (const H of [12, 16, 20, 25]) {
    const short = headGridLayout(H, 1390, { height: 200 });
    const tall = headGridLayout(H, 1390, { height: 1900 });
    expect(tall.cell, `H=${H}`).toBeGreaterThan(short.cell);
    expect(tall.rows, `H=${H}`).toBeGreaterThan(short.rows);
  }
  // 12 heads in a 4K screen's pane: 3 columns × 4 rows of 449 px squares, not one row of 105 px.
  const byWidth = headGridLayout(12, 1390);
  expect([byWidth.rows, byWidth.cell]).toEqual([1, 106]);
  const l = headGridLayout(12, 1390, { height: 1900 });
  expect([l.columns, l.rows, l.cell]).toEqual([3, 4, 449]);
  // A wider than tall pane: more columns than rows.
  expect(fitHeadGrid(12, 2500, 900)).toEqual({ columns: 6, rows: 2, cell: 408 });
});

test('row-major order, and arrow-key steps of one row', () => {
  const l = headGridLayout(25, 1100, { height: 900 });
  expect([l.columns, l.rows]).toEqual([5, 5]);
  for (const r of l.heads) {
    expect(r.x).toBe((r.head % l.columns) * (l.cell + 10));
    expect(r.y).toBe(Math.floor(r.head / l.columns) * (l.cell + 18 + 10) + 18);
  }
});

test('maxCell bounds the squares; too short a pane falls back to wrapping by width', () => {
  const capped = headGridLayout(4, 2500, { height: 1900, maxCell: 300 });
  expect(capped.cell).toBe(300);
  expect(capped.rows, 'ties at the cap: no empty places, then the fewest rows').toBe(1);
  // 25 heads in 60 px of height cannot be ≥ 48 px: the width decides, the grid scrolls.
  const short = headGridLayout(25, 660, { height: 60 });
  expect(short.cell).toBeGreaterThanOrEqual(48);
  expect(short.height).toBeGreaterThan(60);
  expect(short.width).toBeLessThanOrEqual(660);
  expect(short.heads).toHaveLength(25);
  // Width alone (the difference panel): as before, 88 px squares before wrapping.
  const wrap = headGridLayout(12, 660);
  expect([wrap.columns, wrap.rows]).toEqual([6, 2]);
  expect(wrap.cell).toBe(101);
});

test('a focused head: beside the grid in a wide pane, under it in a tall one, nothing outside', () => {
  for (const H of heads)
    for (const [width, height] of panes) {
      const a = arrangeFocus(H, height, width);
      const gridHeight = a.grid.rows * (a.grid.cell + 18) + (a.grid.rows - 1) * 10;
      expect(a.grid.columns * a.grid.rows).toBeGreaterThanOrEqual(H);
      expect(a.grid.width).toBeLessThanOrEqual(width);
      if (a.stacked) {
        expect(gridHeight + 20 + a.focusHeight, `H=${H} ${width}×${height}`).toBeLessThanOrEqual(height);
        expect(a.focusWidth).toBeLessThanOrEqual(width);
        expect(a.grid.cell).toBeGreaterThanOrEqual(56);
      } else {
        expect(a.grid.width + 20 + a.focusWidth, `H=${H} ${width}×${height}`).toBeLessThanOrEqual(width);
        expect(a.focusHeight).toBeLessThanOrEqual(height);
      }
      // Never a smaller focused head than beside the grid.
      const beside = gridBesideFocus(H, height, width);
      expect(a.focusSide).toBeGreaterThanOrEqual(
        Math.min(1600, height - 132, width - beside.width - 20 - 112),
      );
    }
  // A 4K screen's pane: the focused head as wide as the pane, 12 heads in 2 rows above it.
  const tall = arrangeFocus(12, 1880, 1380);
  expect(tall.stacked).toBe(true);
  expect(tall.focusSide).toBe(1380 - 112);
  expect([tall.grid.columns, tall.grid.rows]).toEqual([6, 2]);
  expect(tall.grid.cell).toBeGreaterThan(150);
  // 1280×800: beside it.
  const wide = arrangeFocus(12, 410, 680);
  expect(wide.stacked).toBe(false);
  expect(wide.grid).toEqual(gridBesideFocus(12, 410, 680));
});

test('the detector maps label every head while two-digit numbers fit, else every 2nd or 5th', () => {
  expect([4, 12, 16, 20, 25, 48].map(headTickStep)).toEqual([1, 1, 1, 2, 5, 5]);
});

test('a focused head’s label gutters fit its longest label and index', () => {
  // "·Victory 247": 12 characters of 6.7 px, and the margins.
  const labels = Array.from({ length: 248 }, (_, i) => (i === 65 ? ' Victory' : ' a'));
  expect(focusGutters(labels)).toEqual({ query: Math.ceil(12 * 6.7) + 14, key: Math.ceil(12 * 6.7) + 12 });
  // Longer labels are cut at 14 characters; a one-token prompt keeps the floors.
  expect(focusGutters([' '.repeat(40), 'x']).key).toBe(Math.ceil((14 + 1 + 1) * 6.7) + 12);
  expect(focusGutters(['a'])).toEqual({ query: 56, key: 40 });
});

test('compare mode with a focused head: the grid above it only where its labels still fit', () => {
  const gutterSets = [focusGutters(['a']), focusGutters(Array.from({ length: 250 }, () => ' Victory'))];
  for (const H of heads)
    for (const [width, height] of [
      [350, 309], // 1280×800: a prompt's column
      [350, 500],
      [480, 620],
      [750, 900],
      [750, 1794], // 3840×2160
      [300, 2000],
    ] as const)
      for (const g of gutterSets) {
        const fit = compareFocusFit(H, width, height, g);
        const at = `H=${H} ${width}×${height} key ${g.key}`;
        expect(fit.focusHeight, at).toBeLessThanOrEqual(height);
        if (fit.grid) {
          const grid = headGridLayout(H, width, { height: fit.gridHeight, minCell: 40 });
          expect(grid.height + 20 + fit.focusHeight, at).toBeLessThanOrEqual(height);
          // The focused head's smallest plot, its title bar and its key labels: nothing cut off.
          expect(fit.focusHeight, at).toBeGreaterThanOrEqual(focusMinSide + 44 + g.key);
        }
      }
  const long = gutterSets[1]!;
  // 1280×800: 12 heads and a 250-token prompt's focused head do not both fit: it alone.
  expect(compareFocusFit(12, 350, 309, long)).toEqual({ grid: false, gridHeight: 103, focusHeight: 309 });
  // 3840×2160: both, the focused head as wide as the column allows.
  const big = compareFocusFit(12, 750, 1794, long);
  expect(big.grid).toBe(true);
  expect(big.focusHeight).toBeGreaterThanOrEqual(750 - long.query - 8 + 44 + long.key);
});

test('a focused head keeps its smallest side where the pane allows it: smaller squares beside it', () => {
  // 25 heads at 1280×800 (the views ≈ 650 × 400): 56 px squares in 7 columns left the focused
  // head no width beside them, and 6 px under them.
  const a = arrangeFocus(25, 400, 650);
  expect(a.stacked).toBe(false);
  expect(a.focusSide).toBeGreaterThanOrEqual(focusMinSide);
  expect(a.grid.width + 20 + a.focusWidth).toBeLessThanOrEqual(650);
  for (const H of heads)
    for (const [width, height] of [...panes, [650, 400], [600, 380], [700, 360]] as const) {
      const f = arrangeFocus(H, height, width);
      // Room for it: its smallest side and its labels, and 200 px for the grid beside it.
      if (height >= focusMinSide + 132 && width >= focusMinSide + 112 + 20 + 200)
        expect(f.focusSide, `H=${H} ${width}×${height}`).toBeGreaterThanOrEqual(focusMinSide);
    }
});

test('a focused head’s axis labels grow with it: 11 px in a laptop’s pane, 14–16 px in a 4K one’s', () => {
  expect(focusLabelFont(300)).toBe(11); // 1280×800, beside the grid
  expect(focusLabelFont(700)).toBe(11); // 1920×1080
  const big = focusLabelFont(1380); // 3840×2160, the focused head as wide as the pane
  expect(big).toBeGreaterThanOrEqual(14);
  expect(big).toBeLessThanOrEqual(16);
  expect(focusLabelFont(5000)).toBe(16);
  // The gutters grow with the text: 16 px labels need 16/11 the room.
  const labels = Array.from({ length: 248 }, (_, i) => (i === 65 ? ' Victory' : ' a'));
  expect(focusGutters(labels, 16)).toEqual({
    query: Math.ceil((12 * 6.7 * 16) / 11) + 14,
    key: Math.ceil((12 * 6.7 * 16) / 11) + 12,
  });
});
