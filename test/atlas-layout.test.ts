// The atlas's geometry (src/viz/atlas-layout.ts): L × H squares inside the width and height given,
// and its row labels thinned so that no two (12 px boxes of ≈ 10 px text) are nearer than 12 px, the depth
// scrubber's layer always labelled.
import { expect, test } from 'vitest';
import { atlasLayout, atlasRowLabels } from '../src/viz/atlas-layout';

test('L × H squares fit the width and height given', () => {
  for (const [L, H, width, height] of [
    [48, 25, 660, 420], // 1280×800's pane
    [48, 25, 1400, 1690], // 3840×2160's
    [12, 12, 1400, 1690],
    [12, 12, 660, 420],
  ] as const) {
    const a = atlasLayout(L, H, width, height);
    expect(a.rowLabel + a.width, `${L}×${H} in ${width}×${height}`).toBeLessThanOrEqual(width);
    expect(a.colLabel + a.height, `${L}×${H} in ${width}×${height}`).toBeLessThanOrEqual(height);
    expect(a.thumbs).toHaveLength(L * H);
  }
});

test('row labels: all while rows are 12 px apart, else thinned, never two nearer, the current one kept', () => {
  const roomy = atlasLayout(12, 12, 1400, 1690);
  expect(atlasRowLabels(roomy, 3)).toEqual(Array.from({ length: 12 }, (_, l) => l));
  for (const [width, height] of [
    [660, 420],
    [660, 300],
    [400, 200],
    [1400, 1690],
  ] as const) {
    const a = atlasLayout(48, 25, width, height);
    const pitch = a.cell + a.gap;
    for (const current of [0, 1, 7, 24, 46, 47]) {
      const rows = atlasRowLabels(a, current);
      expect(rows).toContain(current);
      for (let i = 1; i < rows.length; i++)
        expect((rows[i]! - rows[i - 1]!) * pitch, `${width}×${height}, L${current}`).toBeGreaterThanOrEqual(
          11,
        );
      expect(rows.length, 'labels enough to find a row by').toBeGreaterThanOrEqual(
        Math.floor((48 * pitch) / 60),
      );
    }
  }
});
