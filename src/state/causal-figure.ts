// The causal instruments' PNG export: a labelled figure of several small maps stacked — a title,
// each map with its row labels (layers) and column labels (tokens or heads), cells in the diverging
// colormap the studio draws them in (centred at 0), one colour bar and caption lines. The pieces
// the heatmap figures have too come from there: the title wrapping and the colour bar's ticks
// (src/viz/figure-layout.ts), the fonts, colours, gradient and canvas (src/state/figure-png.ts).
// The cells are drawn from the values themselves: the maps are small results already on the CPU.

import { colormapColor } from '../viz/colormaps';
import { colorBarTicks, wrapText, type FigureColorBar } from '../viz/figure-layout';
import { drawColorBar, figureCanvas, figureColors, figureFonts } from './figure-png';

/** One map of a figure: [rows][cols] values with their labels. */
export interface FigureMap {
  readonly title: string;
  readonly values: readonly (readonly number[])[];
  readonly rowLabels: readonly string[];
  readonly colLabels: readonly string[];
}

export interface FigureSpec {
  readonly title: string;
  readonly maps: readonly FigureMap[];
  /** |value| at full colour (the colour bar runs −scale … +scale). */
  readonly scale: number;
  /** The colour bar's label, e.g. "(m − m_B) / (m_A − m_B)". */
  readonly colourLabel: string;
  /** Lines under the maps (numbers, definitions). */
  readonly caption?: readonly string[];
}

const font = `13px ${figureFonts.title}`;
const small = `11px ${figureFonts.title}`;
const titlePx = 15;
const titleFont = `600 ${titlePx}px ${figureFonts.title}`;
const cell = 22;
const pad = 16;
const bar = { width: 14, height: 160, tick: 4 };
/** The narrowest figure: a title wraps to this width rather than widen the figure past its maps. */
const minWidth = 480;

/** The diverging colour of `v` at `scale`: blue negative, white 0, red positive. */
export function divergingCss(v: number, scale: number): string {
  const x = Math.max(-1, Math.min(1, v / Math.max(scale, 1e-9)));
  const [r, g, b] = colormapColor('rdbu', 0.5 * (1 + x));
  return `rgb(${r}, ${g}, ${b})`;
}

/** Draws `spec` on a new canvas (CSS pixels × `ratio`). */
export function composeFigure(spec: FigureSpec, ratio = 2): OffscreenCanvas {
  const colorBar: FigureColorBar = {
    colormap: 'rdbu',
    kind: 'diverging',
    scale: 'linear',
    max: Math.max(spec.scale, 1e-9),
    title: spec.colourLabel,
  };
  const ticks = colorBarTicks(colorBar);
  const measure = figureCanvas(1, 1)[1];
  const textWidth = (f: string, s: string) => {
    measure.font = f;
    return measure.measureText(s).width;
  };
  const rowW = Math.max(24, ...spec.maps.flatMap((m) => m.rowLabels.map((l) => textWidth(small, l)))) + 8;
  const colH = (m: FigureMap) =>
    Math.min(110, Math.max(16, ...m.colLabels.map((l) => textWidth(small, l)))) + 8;
  // A map is as wide as its cells or its title, whichever is wider: the bar goes right of both.
  const mapW = (m: FigureMap) => Math.max(rowW + (m.values[0]?.length ?? 0) * cell, textWidth(font, m.title));
  const mapH = (m: FigureMap) => 20 + colH(m) + m.values.length * cell + 12;
  const mapsW = Math.max(...spec.maps.map(mapW));
  // The bar: its title (rotated) left of it, the tick labels right of it.
  const barX = pad + mapsW + pad + 24;
  const tickW = Math.max(...ticks.map((t) => textWidth(small, t.label)));
  const captionW = Math.max(0, ...(spec.caption ?? []).map((l) => textWidth(font, l)));
  const W = Math.ceil(Math.max(minWidth, captionW + 2 * pad, barX + bar.width + bar.tick + 4 + tickW + pad));
  const title = wrapText(spec.title, Math.max(20, Math.floor((W - 2 * pad) / (titlePx * 0.62))));
  const titleH = title.length * titlePx * 1.35 + 6;
  const mapsH = spec.maps.reduce((h, m) => h + mapH(m), 0) + 18 * (spec.caption?.length ?? 0);
  const H = Math.ceil(pad + titleH + Math.max(mapsH, 20 + bar.height + 8) + pad);

  const [canvas, g] = figureCanvas(W * ratio, H * ratio);
  g.scale(ratio, ratio);
  g.fillStyle = figureColors.background;
  g.fillRect(0, 0, W, H);
  g.fillStyle = figureColors.text;
  g.textBaseline = 'middle';
  g.font = titleFont;
  title.forEach((line, i) => g.fillText(line, pad, pad + 8 + i * titlePx * 1.35));

  let y = pad + titleH;
  for (const m of spec.maps) {
    g.font = font;
    g.fillStyle = figureColors.text;
    g.textAlign = 'left';
    g.fillText(m.title, pad, y + 8);
    y += 20;
    const top = y + colH(m);
    const left = pad + rowW;
    // Column labels, rotated to read bottom-up, ending at the map's top edge.
    g.font = small;
    g.fillStyle = figureColors.muted;
    m.colLabels.forEach((label, c) => {
      g.save();
      g.translate(left + c * cell + cell / 2, top - 4);
      g.rotate(-Math.PI / 2);
      g.textAlign = 'left';
      g.fillText(clip(g, label, colH(m) - 8), 0, 0);
      g.restore();
    });
    m.values.forEach((row, r) => {
      g.textAlign = 'right';
      g.fillStyle = figureColors.muted;
      g.fillText(m.rowLabels[r] ?? '', left - 6, top + r * cell + cell / 2);
      row.forEach((v, c) => {
        g.fillStyle = divergingCss(v, spec.scale);
        g.fillRect(left + c * cell, top + r * cell, cell - 1, cell - 1);
      });
    });
    y = top + m.values.length * cell + 12;
  }

  // The colour bar: +scale at the top, 0 in the middle, −scale at the bottom, ticks as the heatmaps'.
  const barRect = { x: barX, y: pad + titleH + 20, width: bar.width, height: bar.height };
  drawColorBar(g, colorBar.colormap, barRect);
  g.font = small;
  g.fillStyle = figureColors.text;
  g.strokeStyle = figureColors.marks;
  g.textAlign = 'left';
  g.beginPath();
  for (const t of ticks) {
    const at = barRect.y + (1 - t.at) * barRect.height;
    g.moveTo(barX + bar.width, at);
    g.lineTo(barX + bar.width + bar.tick, at);
    g.fillText(t.label, barX + bar.width + bar.tick + 4, at);
  }
  g.stroke();
  g.save();
  g.translate(barX - 14, barRect.y + barRect.height / 2);
  g.rotate(-Math.PI / 2);
  g.textAlign = 'center';
  g.fillText(clip(g, spec.colourLabel, 2 * barRect.height), 0, 0);
  g.restore();

  g.font = font;
  g.textAlign = 'left';
  (spec.caption ?? []).forEach((line, i) => g.fillText(line, pad, y + 8 + 18 * i));
  return canvas;
}

function clip(g: OffscreenCanvasRenderingContext2D, text: string, max: number): string {
  if (g.measureText(text).width <= max) return text;
  let t = text;
  while (t.length > 1 && g.measureText(`${t}…`).width > max) t = t.slice(0, -1);
  return `${t}…`;
}

/** The figure of `spec` as a PNG. */
export function figurePng(spec: FigureSpec): Promise<Blob> {
  return composeFigure(spec).convertToBlob({ type: 'image/png' });
}
