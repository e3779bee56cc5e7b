// The layout of an exported figure (PNG): a rendered matrix image (a heatmap, a patching map) with
// title lines above it, row labels on its left, column labels under it (rotated), and a colour bar
// with its scale on its right. Pure geometry: the canvas composer (src/state/figure-png.ts) draws
// what this places. Text widths are estimated from character counts in a monospace font (advance
// ≤ 0.62 em), so the layout is the same function of its inputs everywhere (tests compute it too);
// the composer passes each text's box as fillText's maxWidth, so a wider glyph never overflows.
//
// Units: figure pixels. `ratio` scales every font and margin (a canvas drawn at devicePixelRatio 2
// gets a figure at 2× with the same proportions); the image is placed at its own pixel size.

import { scaleLinear, scaleLog } from 'd3-scale';
import type { AnyColormapName } from './colormaps';

/** One axis of the matrix: a label per cell, the cells shown (a zoom shows part of them). */
export interface FigureAxis {
  /** One label per cell (token labels); drawn as given, but cut to `maxLabelChars`. */
  readonly labels: readonly string[];
  /** The cells shown along this axis: [from, to) in cells (default: all of them). */
  readonly from?: number;
  readonly to?: number;
  /** The axis's name, e.g. "query" or "key". */
  readonly title: string;
}

/** The colour bar: how a value maps to a colour of the image. */
export interface FigureColorBar {
  readonly colormap: AnyColormapName;
  /** 'sequential': [0, max] bottom to top; 'diverging': [−max, max], 0 in the middle. */
  readonly kind: 'sequential' | 'diverging';
  /** 'log': log10 over [max·10^−decades, max] (diverging: of |value|, symmetric about 0). */
  readonly scale: 'linear' | 'log';
  /** The value at the top of the bar (> 0). */
  readonly max: number;
  /** Decades a log bar spans (default 4: the heatmaps' floor of 1e-4). */
  readonly decades?: number;
  /** What the values are, written along the bar. */
  readonly title: string;
}

export interface FigureSpec {
  /** Lines above the image: the first larger (the figure's title), the rest smaller; long lines wrap. */
  readonly title: readonly string[];
  readonly rows: FigureAxis;
  readonly cols: FigureAxis;
  readonly colorBar?: FigureColorBar;
}

export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** A text to draw: at (x, y), aligned as given, at most `maxWidth` wide; `rotate`: −90° (reads upward). */
export interface FigureText {
  readonly text: string;
  readonly x: number;
  readonly y: number;
  readonly px: number;
  readonly align: 'left' | 'right' | 'center';
  readonly baseline: 'top' | 'middle' | 'alphabetic';
  readonly maxWidth: number;
  readonly font: 'title' | 'mono';
  readonly bold?: boolean;
  readonly rotate?: boolean;
}

export interface FigureLayout {
  readonly width: number;
  readonly height: number;
  /** Where the image goes, at its own size. */
  readonly plot: Rect;
  /** The colour bar's gradient (top: the largest value), when the spec has one. */
  readonly bar?: Rect;
  /** Tick marks: [x0, y0, x1, y1] lines (axis ticks and the bar's). */
  readonly marks: readonly (readonly [number, number, number, number])[];
  readonly texts: readonly FigureText[];
  /** The cells whose labels are drawn: row and column indices (thinned to what fits). */
  readonly rowTicks: readonly number[];
  readonly colTicks: readonly number[];
}

/** Token labels as the heatmaps show them: spaces as ·, newlines as ↵, cut to `max` characters. */
export function tokenLabel(label: string, max = maxLabelChars): string {
  const s = label.replaceAll(' ', '·').replaceAll('\n', '↵').replaceAll('\t', '⇥');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** An exported heatmap's masked cells (light grey) and the page around the image (white), as bytes. */
export const figureMaskedColor: readonly [number, number, number] = [0xe8, 0xe8, 0xe8];
export const figureClearColor: readonly [number, number, number] = [0xff, 0xff, 0xff];

export const maxLabelChars = 12;
const charEm = 0.62;
const labelPx = 11;
const titlePx = 15;
const subtitlePx = 12;
const pad = 14;
const tickLen = 4;
const barWidth = 14;
const maxTitleLines = 3;

/** Cells whose centres are in [from, to), one every `step` cells so labels are ≥ `minPx` apart. */
export function axisTicks(from: number, to: number, cellPx: number, minPx: number, count: number): number[] {
  const step = Math.max(1, Math.ceil(minPx / cellPx));
  const out: number[] = [];
  for (let i = Math.max(0, Math.ceil(from - 0.5)); i + 0.5 <= to && i < count; i++) {
    if (i % step === 0) out.push(i);
  }
  return out;
}

/** `text` cut into lines of at most `chars` characters, at spaces where it can; at most `lines`. */
export function wrapText(text: string, chars: number, lines = maxTitleLines): string[] {
  const out: string[] = [];
  let rest = text.replaceAll('\n', ' ↵ ');
  while (rest.length > 0 && out.length < lines) {
    if (rest.length <= chars) {
      out.push(rest);
      rest = '';
      break;
    }
    let cut = rest.lastIndexOf(' ', chars);
    if (cut < chars / 4) cut = chars;
    out.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest.length > 0) {
    const last = out.pop() ?? '';
    out.push(`${last.slice(0, Math.max(0, chars - 1))}…`);
  }
  return out;
}

const superscripts = '⁰¹²³⁴⁵⁶⁷⁸⁹';

/** A value of the bar as a short label: powers of ten on a log bar as 10⁻², others to 3 digits. */
export function formatTick(v: number, log: boolean): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  const sign = v < 0 ? '−' : '';
  const e = Math.round(Math.log10(a));
  if (log && Math.abs(Math.log10(a) - e) < 1e-9) {
    if (e === 0) return `${sign}1`;
    const digits = [...String(Math.abs(e))].map((d) => superscripts[Number(d)]).join('');
    return `${sign}10${e < 0 ? '⁻' : ''}${digits}`;
  }
  const s = a >= 1e-3 && a < 1e4 ? String(Number(a.toPrecision(3))) : a.toExponential(1);
  return `${sign}${s}`;
}

/**
 * The bar's ticks: values, their labels and where they sit (0: bottom, 1: top). The ends are
 * labelled too (the top is the largest value shown) unless a round tick is next to them.
 */
export function colorBarTicks(bar: FigureColorBar): { value: number; label: string; at: number }[] {
  const { max } = bar;
  const decades = bar.decades ?? 4;
  const log = bar.scale === 'log';
  const lo = max * 10 ** -decades;
  /** Position in [0, 1] of a magnitude 0 ≤ m ≤ max on the bar's own scale (sequential). */
  const pos = (m: number) => (log ? (Math.log10(Math.max(m, lo) / max) + decades) / decades : m / max);
  let magnitudes: number[];
  if (log) {
    const s = scaleLog().domain([lo, max]);
    magnitudes = s.ticks().filter((v) => Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-9);
    if (magnitudes.length > 5) magnitudes = magnitudes.filter((_, i, a) => (a.length - 1 - i) % 2 === 0);
  } else {
    magnitudes = scaleLinear()
      .domain([0, max])
      .ticks(bar.kind === 'diverging' ? 3 : 5);
  }
  const ends = log ? [lo, max] : [0, max];
  for (const e of ends) {
    if (!magnitudes.some((m) => Math.abs(pos(m) - pos(e)) < 0.08)) magnitudes.push(e);
  }
  magnitudes = magnitudes.filter((m) => m >= (log ? lo * (1 - 1e-9) : 0) && m <= max * (1 + 1e-9));
  const out: { value: number; label: string; at: number }[] = [];
  for (const m of magnitudes) {
    if (bar.kind === 'sequential') out.push({ value: m, label: formatTick(m, log), at: pos(m) });
    else {
      // Diverging: ±m about the middle; a log bar's floor is its middle (0).
      const p = log && m <= lo ? 0 : pos(m);
      if (p === 0) out.push({ value: 0, label: '0', at: 0.5 });
      else {
        out.push({ value: m, label: formatTick(m, log), at: 0.5 + 0.5 * p });
        out.push({ value: -m, label: formatTick(-m, log), at: 0.5 - 0.5 * p });
      }
    }
  }
  const seen = new Set<string>();
  return out
    .filter((t) => (seen.has(t.label) ? false : (seen.add(t.label), true)))
    .sort((a, b) => a.at - b.at);
}

/** The figure around an image of `imageWidth` × `imageHeight` pixels. */
export function figureLayout(
  spec: FigureSpec,
  imageWidth: number,
  imageHeight: number,
  ratio = 1,
): FigureLayout {
  const r = ratio;
  const P = pad * r;
  const lp = labelPx * r;
  const cw = lp * charEm;
  const texts: FigureText[] = [];
  const marks: [number, number, number, number][] = [];
  const { rows, cols } = spec;
  const rowFrom = rows.from ?? 0;
  const rowTo = rows.to ?? rows.labels.length;
  const colFrom = cols.from ?? 0;
  const colTo = cols.to ?? cols.labels.length;
  const rowTicks = axisTicks(rowFrom, rowTo, imageHeight / (rowTo - rowFrom), lp * 1.25, rows.labels.length);
  const colTicks = axisTicks(colFrom, colTo, imageWidth / (colTo - colFrom), lp * 1.25, cols.labels.length);
  const tickText = (labels: readonly string[], i: number) => `${tokenLabel(labels[i] ?? '')} ${i}`;
  const widest = (labels: readonly string[], ticks: readonly number[]) =>
    Math.max(1, ...ticks.map((i) => tickText(labels, i).length)) * cw;
  const rowLabelW = widest(rows.labels, rowTicks);
  const colLabelH = widest(cols.labels, colTicks);
  const axisTitleH = lp * 1.6;
  const gap = 4 * r;

  // Columns, left to right: the rows' title (rotated), their labels, ticks, the image, the bar.
  const plotX = P + axisTitleH + rowLabelW + gap + tickLen * r;
  const barGap = 18 * r;
  const bar = spec.colorBar;
  const barTicks = bar ? colorBarTicks(bar) : [];
  const barLabelW = Math.max(1, ...barTicks.map((t) => t.label.length)) * cw;
  const right = bar ? barGap + barWidth * r + tickLen * r + gap + barLabelW + gap + axisTitleH : 0;
  const width = Math.ceil(plotX + imageWidth + right + P);

  // Rows, top to bottom: the title lines, the image, the columns' ticks and labels, their title.
  const titleLines: { text: string; px: number; bold: boolean }[] = [];
  spec.title.forEach((line, i) => {
    const px = (i === 0 ? titlePx : subtitlePx) * r;
    for (const text of wrapText(line, Math.max(8, Math.floor((width - 2 * P) / (px * charEm)))))
      titleLines.push({ text, px, bold: i === 0 });
  });
  let y = P;
  for (const line of titleLines) {
    texts.push({
      text: line.text,
      x: P,
      y,
      px: line.px,
      align: 'left',
      baseline: 'top',
      maxWidth: width - 2 * P,
      font: 'title',
      bold: line.bold,
    });
    y += line.px * 1.35;
  }
  const plotY = Math.ceil(y + 10 * r);
  const plot = { x: Math.ceil(plotX), y: plotY, width: imageWidth, height: imageHeight };
  const height = Math.ceil(plotY + imageHeight + tickLen * r + gap + colLabelH + gap + axisTitleH + P);

  // Row labels: right-aligned left of the image, at each tick's cell centre.
  const rowY = (i: number) => plot.y + ((i + 0.5 - rowFrom) / (rowTo - rowFrom)) * imageHeight;
  for (const i of rowTicks) {
    const at = rowY(i);
    marks.push([plot.x - tickLen * r, at, plot.x, at]);
    texts.push({
      text: tickText(rows.labels, i),
      x: plot.x - tickLen * r - gap,
      y: at,
      px: lp,
      align: 'right',
      baseline: 'middle',
      maxWidth: rowLabelW,
      font: 'mono',
    });
  }
  // Column labels: rotated to read upward, ending under the image at each tick's cell centre.
  const colX = (i: number) => plot.x + ((i + 0.5 - colFrom) / (colTo - colFrom)) * imageWidth;
  const below = plot.y + imageHeight;
  for (const i of colTicks) {
    const at = colX(i);
    marks.push([at, below, at, below + tickLen * r]);
    texts.push({
      text: tickText(cols.labels, i),
      x: at,
      y: below + tickLen * r + gap,
      px: lp,
      align: 'right',
      baseline: 'middle',
      maxWidth: colLabelH,
      font: 'mono',
      rotate: true,
    });
  }
  const axisTitle = (text: string, x: number, yy: number, rotate: boolean, maxWidth: number): FigureText => ({
    text,
    x,
    y: yy,
    px: lp * 1.1,
    align: 'center',
    baseline: 'middle',
    maxWidth,
    font: 'title',
    bold: true,
    rotate,
  });
  texts.push(axisTitle(rows.title, P + axisTitleH / 2, plot.y + imageHeight / 2, true, imageHeight));
  texts.push(axisTitle(cols.title, plot.x + imageWidth / 2, height - P - axisTitleH / 2, false, imageWidth));

  let barRect: Rect | undefined;
  if (bar) {
    barRect = { x: plot.x + imageWidth + barGap, y: plot.y, width: barWidth * r, height: imageHeight };
    const x1 = barRect.x + barRect.width;
    for (const t of barTicks) {
      const at = barRect.y + (1 - t.at) * barRect.height;
      marks.push([x1, at, x1 + tickLen * r, at]);
      texts.push({
        text: t.label,
        x: x1 + tickLen * r + gap,
        y: at,
        px: lp,
        align: 'left',
        baseline: 'middle',
        maxWidth: barLabelW,
        font: 'title',
      });
    }
    texts.push(
      axisTitle(bar.title, width - P - axisTitleH / 2, barRect.y + barRect.height / 2, true, imageHeight),
    );
  }
  return { width, height, plot, bar: barRect, marks, texts, rowTicks, colTicks };
}

/**
 * The title lines of a head's heatmap figure: the head and its hook; the model and the prompt's
 * length; the view's settings; the prompt(s). Short lines, so that they rarely wrap.
 */
export function headFigureTitle(o: {
  readonly head: string;
  readonly hook: string;
  readonly model: string;
  readonly tokens: number;
  /** The view's settings in words (e.g. "linear scale · per-head max · first token shown"). */
  readonly view: string;
  readonly prompt: string;
  /** A difference view: prompt B (the figure shows A − B). */
  readonly promptB?: string;
}): string[] {
  const diff = o.promptB !== undefined;
  return [
    `${o.head}${diff ? ' · A − B' : ''} · ${o.hook}`,
    `${diff ? 'attention difference' : 'attention pattern'} · ${o.model} · ${o.tokens} tokens`,
    o.view,
    ...(diff ? [`A: “${o.prompt}”`, `B: “${o.promptB}”`] : [`prompt: “${o.prompt}”`]),
  ];
}
