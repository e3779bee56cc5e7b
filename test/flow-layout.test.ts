// The residual flow's axis geometry (src/viz/flow-layout.ts): the size of its axis text as the view
// grows (11 px on a laptop, 16 px on a 4K screen's pane), and the gutter's row labels: full names
// while rows are tall enough for the text, else thinned short names with the selected block as
// one label, short names never closer than a line and a gap (a clamped top row gives way), all inside the plot.
import { describe, expect, test } from 'vitest';
import { Camera2D } from '../src/viz/camera';
import { boundaryName, boundaryShortName } from '../src/viz/depth-names';
import { flowAxisFont, flowBounds, flowGutterWidth, flowRowLabels } from '../src/viz/flow-layout';

/** The flow fitted to a plot `height` px tall (as the flow view fits it). */
const fitted = (nLayer: number, T: number, width: number, height: number) =>
  Camera2D.showing(flowBounds(nLayer, T), width, height, true);

describe('flowAxisFont', () => {
  test('11 px in a 1280×800 window’s flow, 14–16 px in a 3840×2160 one’s, growing in between', () => {
    // The flow's body (gutter, plot, axis) as the studio lays it out: 1280×800 ≈ 540 × 430,
    // 3840×2160 ≈ 1070 × 1730 (one prompt) and ≈ 1000 × 800 (two, compare mode).
    expect(flowAxisFont(540, 430)).toBe(11);
    const big = flowAxisFont(1070, 1730);
    expect(big).toBeGreaterThanOrEqual(14);
    expect(big).toBeLessThanOrEqual(16);
    expect(flowAxisFont(1000, 800)).toBeGreaterThanOrEqual(12);
    expect(flowAxisFont(800, 700), '1920×1080').toBe(11);
    let last = 0;
    for (let h = 200; h <= 4000; h += 100) {
      const f = flowAxisFont(400, h);
      expect(f).toBeGreaterThanOrEqual(last);
      expect(f).toBeGreaterThanOrEqual(11);
      expect(f).toBeLessThanOrEqual(16);
      expect(Number.isInteger(f)).toBe(true);
      last = f;
    }
  });
});

describe('flowRowLabels', () => {
  test('tall rows: every boundary by its full name, the selected block marked', () => {
    const camera = fitted(12, 250, 900, 1600); // 25 rows of 64 px
    const labels = flowRowLabels(camera, 12, 1600, 3, 16);
    expect(labels.map((l) => l.b)).toEqual(Array.from({ length: 25 }, (_, b) => b));
    for (const l of labels) {
      expect(l.text).toBe(boundaryName(l.b));
      expect(l.current).toBe(l.b >= 6 && l.b <= 8);
    }
  });

  test('the rows’ height decides full names against the text size', () => {
    const camera = fitted(12, 250, 900, 350); // 25 rows of 14 px
    expect(flowRowLabels(camera, 12, 350, 0, 11).every((l) => l.text === boundaryName(l.b))).toBe(true);
    expect(flowRowLabels(camera, 12, 350, 0, 16).some((l) => l.text === boundaryName(l.b))).toBe(false);
  });

  for (const [nLayer, height, font] of [
    [48, 400, 11], // 97 rows of 4.1 px: the top row's label clamped down onto the next one
    [12, 200, 11],
    [48, 830, 14],
    [48, 1700, 16],
    [24, 300, 13],
    [48, 90, 11], // compare mode at 1280×800
  ] as const) {
    test(`short rows (${nLayer} layers in ${height} px, ${font} px text): thinned, apart, inside`, () => {
      const camera = fitted(nLayer, 250, 600, height);
      for (const layer of [0, Math.floor(nLayer / 2), nLayer - 1]) {
        const labels = flowRowLabels(camera, nLayer, height, layer, font);
        const current = labels.filter((l) => l.current);
        expect(current).toEqual([
          { b: 2 * layer + 1, y: expect.any(Number), current: true, text: `L${layer} ▸` },
        ]);
        for (const l of labels) {
          expect(l.y - font / 2).toBeGreaterThanOrEqual(0);
          expect(l.y + font / 2).toBeLessThanOrEqual(height);
          if (!l.current) expect(l.text).toBe(boundaryShortName(l.b));
          // Layer ends at a round step ("L44m, L37a, L29m": every 15 boundaries, read badly).
          if (!l.current) expect(l.b % 2, `L${layer}: ${l.text}`).toBe(0);
        }
        const ys = labels.map((l) => l.y).sort((p, q) => p - q);
        for (let i = 1; i < ys.length; i++) expect(ys[i]! - ys[i - 1]!).toBeGreaterThanOrEqual(font + 3);
        expect(labels.length).toBeGreaterThanOrEqual(Math.floor(height / (3 * (font + 3))));
      }
    });
  }
});

describe('flowGutterWidth', () => {
  test('room for the longest full name, or a short one, at the text size', () => {
    // ~0.6 em a character in the UI font, plus the 8 px right margin.
    const longest = boundaryName(23).length; // "L11 · after attention"
    for (const font of [11, 14, 16]) {
      expect(flowGutterWidth(true, font)).toBeGreaterThanOrEqual(longest * 0.6 * font + 8);
      expect(flowGutterWidth(false, font)).toBeGreaterThanOrEqual('L47 ▸'.length * 0.7 * font + 8);
      expect(flowGutterWidth(false, font)).toBeLessThan(flowGutterWidth(true, font) / 2);
    }
  });
});
