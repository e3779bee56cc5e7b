// The studio's one grid keymap (src/state/grid-keys.ts): arrows, Home/End (with Ctrl), PageUp/Down,
// for grids drawn top-down and bottom-up, clamped at the edges; other keys are not the grid's.
import { describe, expect, it } from 'vitest';
import { gridKey, heatmapCellKey } from '../src/state/grid-keys';

const key = (k: string, ctrlKey = false) => ({ key: k, ctrlKey });

describe('gridKey', () => {
  it('steps with the arrows, rows top-down by default', () => {
    expect(gridKey(key('ArrowUp'), [2, 3], [5, 6])).toEqual([1, 3]);
    expect(gridKey(key('ArrowDown'), [2, 3], [5, 6])).toEqual([3, 3]);
    expect(gridKey(key('ArrowLeft'), [2, 3], [5, 6])).toEqual([2, 2]);
    expect(gridKey(key('ArrowRight'), [2, 3], [5, 6])).toEqual([2, 4]);
  });

  it('goes up a bottom-up grid with ArrowUp and PageUp', () => {
    expect(gridKey(key('ArrowUp'), [2, 3], [5, 6], 1)).toEqual([3, 3]);
    expect(gridKey(key('ArrowDown'), [2, 3], [5, 6], 1)).toEqual([1, 3]);
    expect(gridKey(key('PageUp'), [2, 3], [5, 6], 1)).toEqual([4, 3]);
    expect(gridKey(key('PageDown'), [2, 3], [5, 6], 1)).toEqual([0, 3]);
  });

  it('goes to the row ends with Home and End, and to the grid corners with Ctrl', () => {
    expect(gridKey(key('Home'), [2, 3], [5, 6])).toEqual([2, 0]);
    expect(gridKey(key('End'), [2, 3], [5, 6])).toEqual([2, 5]);
    expect(gridKey(key('Home', true), [2, 3], [5, 6])).toEqual([0, 0]);
    expect(gridKey(key('End', true), [2, 3], [5, 6])).toEqual([4, 5]);
    expect(gridKey(key('PageUp'), [2, 3], [5, 6])).toEqual([0, 3]);
    expect(gridKey(key('PageDown'), [2, 3], [5, 6])).toEqual([4, 3]);
  });

  it('stays inside the grid and ignores other keys', () => {
    expect(gridKey(key('ArrowUp'), [0, 0], [5, 6])).toEqual([0, 0]);
    expect(gridKey(key('ArrowRight'), [4, 5], [5, 6])).toEqual([4, 5]);
    expect(gridKey(key('Enter'), [1, 1], [5, 6])).toBeUndefined();
    expect(gridKey(key('toString'), [1, 1], [5, 6])).toBeUndefined();
  });
});

describe('the focused heatmap’s keymap', () => {
  it('the first key starts at [0, 0]; arrows step, pages step 8, Home and End (the diagonal)', () => {
    expect(heatmapCellKey('ArrowDown', undefined, 10)).toEqual([0, 0]);
    expect(heatmapCellKey('ArrowDown', { query: 3, key: 1 }, 10)).toEqual([4, 1]);
    expect(heatmapCellKey('ArrowLeft', { query: 3, key: 0 }, 10)).toEqual([3, 0]);
    expect(heatmapCellKey('PageDown', { query: 5, key: 2 }, 10)).toEqual([9, 2]);
    expect(heatmapCellKey('PageUp', { query: 5, key: 2 }, 10)).toEqual([0, 2]);
    expect(heatmapCellKey('Home', { query: 6, key: 4 }, 10)).toEqual([6, 0]);
    expect(heatmapCellKey('End', { query: 6, key: 1 }, 10)).toEqual([6, 6]);
    expect(heatmapCellKey('x', { query: 6, key: 1 }, 10)).toBeUndefined();
  });
});
