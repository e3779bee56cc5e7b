// The exported figure's layout (src/viz/figure-layout.ts): margins that hold the title, the token
// labels and the colour bar around the image at its own size; labels thinned to what fits; the
// colour bar's ticks where its scale puts them (linear, log, diverging).
import { expect, test } from 'vitest';
import {
  axisTicks,
  colorBarTicks,
  figureLayout,
  formatTick,
  tokenLabel,
  wrapText,
  type FigureSpec,
} from '../src/viz/figure-layout';

const labels = (n: number) => Array.from({ length: n }, (_, i) => (i % 3 === 0 ? ' the' : `tok${i}`));
const spec = (T: number, extra: Partial<FigureSpec> = {}): FigureSpec => ({
  title: ['L3.H5 · blocks.3.attn.hook_pattern', 'a model', `prompt: “${'word '.repeat(60)}”`],
  rows: { labels: labels(T), title: 'query' },
  cols: { labels: labels(T), title: 'key' },
  colorBar: { colormap: 'viridis', kind: 'sequential', scale: 'linear', max: 0.8, title: 'attention weight' },
  ...extra,
});

test('the image keeps its size inside margins that hold every text', () => {
  for (const T of [5, 200]) {
    const l = figureLayout(spec(T), 600, 600, 2);
    expect([l.plot.width, l.plot.height]).toEqual([600, 600]);
    expect(l.plot.x).toBeGreaterThan(100);
    expect(l.plot.y).toBeGreaterThan(100);
    expect(l.width).toBeGreaterThan(l.plot.x + 600 + 100); // the colour bar and its ticks
    expect(l.height).toBeGreaterThan(l.plot.y + 600 + 60); // the rotated key labels
    expect(l.bar!.x).toBeGreaterThan(l.plot.x + 600);
    for (const t of l.texts) {
      // Every text's box inside the figure: maxWidth along its run, its font size across.
      const w = t.maxWidth;
      const along = (at: number): [number, number] =>
        t.align === 'right' ? [at - w, at] : t.align === 'left' ? [at, at + w] : [at - w / 2, at + w / 2];
      const across = (at: number): [number, number] =>
        t.baseline === 'top' ? [at, at + t.px] : [at - t.px / 2, at + t.px / 2];
      // Rotated (reads upward): its run goes up from the anchor; 'right' ends there.
      const [x0, x1] = t.rotate ? across(t.x) : along(t.x);
      const [y0, y1] = t.rotate ? ((r) => [2 * t.y - r[1], 2 * t.y - r[0]])(along(t.y)) : across(t.y);
      expect(x0, t.text).toBeGreaterThanOrEqual(0);
      expect(x1, t.text).toBeLessThanOrEqual(l.width);
      expect(y0, t.text).toBeGreaterThanOrEqual(0);
      expect(y1, t.text).toBeLessThanOrEqual(l.height);
    }
  }
});

test('token labels: every one at T = 5, thinned to ≥ 1.25 label heights apart at T = 200', () => {
  const small = figureLayout(spec(5), 300, 300);
  expect(small.rowTicks).toEqual([0, 1, 2, 3, 4]);
  expect(small.colTicks).toEqual([0, 1, 2, 3, 4]);
  const big = figureLayout(spec(200), 300, 300);
  const step = big.rowTicks[1]! - big.rowTicks[0]!;
  expect(step * (300 / 200)).toBeGreaterThanOrEqual(11 * 1.25);
  expect(big.rowTicks.length).toBeGreaterThan(10);
  expect(big.rowTicks.every((i) => i % step === 0)).toBe(true);
  // A zoom shows cells 50–70 only: those are labelled, at their centres.
  expect(axisTicks(50, 70, 15, 14, 200)).toEqual(Array.from({ length: 20 }, (_, i) => 50 + i));
  const zoomed = figureLayout(
    spec(200, { rows: { labels: labels(200), from: 50, to: 70, title: 'query' } }),
    300,
    300,
  );
  const first = zoomed.texts.find((t) => t.text.endsWith(' 50'))!;
  expect(first.y).toBeCloseTo(zoomed.plot.y + 0.5 * 15, 6);
  expect(tokenLabel(' the\n')).toBe('·the↵');
  expect(tokenLabel('abcdefghijklmnop')).toBe('abcdefghijk…');
});

test('long title lines wrap at spaces, at most three lines, the last cut with an ellipsis', () => {
  expect(wrapText('aaa bbb ccc', 7)).toEqual(['aaa bbb', 'ccc']);
  const lines = wrapText('word '.repeat(60), 40);
  expect(lines).toHaveLength(3);
  expect(lines.every((l) => l.length <= 40)).toBe(true);
  expect(lines[2]!.endsWith('…')).toBe(true);
});

test('colour bar ticks: linear from 0 to max, log decades, diverging about 0', () => {
  const lin = colorBarTicks({
    colormap: 'viridis',
    kind: 'sequential',
    scale: 'linear',
    max: 0.8,
    title: '',
  });
  expect(lin.map((t) => t.label)).toEqual(['0', '0.2', '0.4', '0.6', '0.8']);
  for (const t of lin) expect(t.at).toBeCloseTo(t.value / 0.8, 9);
  const odd = colorBarTicks({
    colormap: 'viridis',
    kind: 'sequential',
    scale: 'linear',
    max: 0.8734,
    title: '',
  });
  expect(odd.at(-1)).toMatchObject({ label: '0.873', at: 1 }); // the top labelled with the head's max
  const log = colorBarTicks({ colormap: 'viridis', kind: 'sequential', scale: 'log', max: 1, title: '' });
  expect(log.map((t) => t.label)).toEqual(['10⁻⁴', '10⁻³', '10⁻²', '10⁻¹', '1']);
  log.forEach((t, i) => expect(t.at).toBeCloseTo(i / 4, 9));
  const div = colorBarTicks({ colormap: 'rdbu', kind: 'diverging', scale: 'linear', max: 0.5, title: '' });
  expect(div.find((t) => t.value === 0)!.at).toBe(0.5);
  expect(div[0]).toMatchObject({ value: -0.5, at: 0 });
  expect(div.at(-1)).toMatchObject({ value: 0.5, at: 1 });
  for (const t of div) expect(t.at).toBeCloseTo(0.5 + (0.5 * t.value) / 0.5, 9);
  const divLog = colorBarTicks({ colormap: 'rdbu', kind: 'diverging', scale: 'log', max: 1, title: '' });
  expect(divLog.find((t) => t.label === '10⁻²')!.at).toBeCloseTo(0.5 + 0.5 * 0.5, 9);
  expect(divLog.find((t) => t.label === '−10⁻²')!.at).toBeCloseTo(0.5 - 0.5 * 0.5, 9);
  expect(formatTick(0.0077, false)).toBe('0.0077');
  expect(formatTick(-2e-5, false)).toBe('−2.0e-5');
});
