// The causal instruments' PNG export: a labelled figure composed on a 2D canvas — a title, each
// map with its row labels (layers) and column labels (tokens or heads), cells in the diverging
// colormap the studio draws them in (centred at 0), a colour bar and a caption line. Everything
// goes through figurePng(), one small function, so that a shared figure composer can replace it.

import { colormapColor } from '../viz/colormaps';

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

const font = '13px system-ui, sans-serif';
const small = '11px system-ui, sans-serif';
const titleFont = 'bold 15px system-ui, sans-serif';
const cell = 22;
const pad = 16;

/** The diverging colour of `v` at `scale`: blue negative, white 0, red positive. */
export function divergingCss(v: number, scale: number): string {
  const x = Math.max(-1, Math.min(1, v / Math.max(scale, 1e-9)));
  const [r, g, b] = colormapColor('rdbu', 0.5 * (1 + x));
  return `rgb(${r}, ${g}, ${b})`;
}

/** Draws `spec` on a new canvas (CSS pixels × `ratio`). */
export function composeFigure(spec: FigureSpec, ratio = 2): HTMLCanvasElement {
  const measure = document.createElement('canvas').getContext('2d')!;
  measure.font = small;
  const width = (s: string) => measure.measureText(s).width;
  const rowW = Math.max(24, ...spec.maps.flatMap((m) => m.rowLabels.map(width))) + 8;
  const colH = (m: FigureMap) => Math.min(110, Math.max(16, ...m.colLabels.map(width))) + 8;
  const mapW = (m: FigureMap) => rowW + (m.values[0]?.length ?? 0) * cell;
  const mapH = (m: FigureMap) => 20 + colH(m) + m.values.length * cell + 12;
  const barW = 80;
  const mapsW = Math.max(...spec.maps.map(mapW));
  measure.font = font;
  const captionW = Math.max(0, ...(spec.caption ?? []).map((l) => measure.measureText(l).width));
  measure.font = titleFont;
  const titleW = measure.measureText(spec.title).width;
  const W = Math.ceil(Math.max(titleW, captionW, mapsW + pad + barW) + 2 * pad);
  const H = Math.ceil(
    pad + 24 + spec.maps.reduce((h, m) => h + mapH(m), 0) + 18 * (spec.caption?.length ?? 0) + pad,
  );

  const canvas = document.createElement('canvas');
  canvas.width = W * ratio;
  canvas.height = H * ratio;
  const g = canvas.getContext('2d')!;
  g.scale(ratio, ratio);
  g.fillStyle = '#ffffff';
  g.fillRect(0, 0, W, H);
  g.fillStyle = '#111111';
  g.textBaseline = 'middle';
  g.font = titleFont;
  g.fillText(spec.title, pad, pad + 8);

  let y = pad + 24;
  for (const m of spec.maps) {
    g.font = font;
    g.fillStyle = '#111111';
    g.textAlign = 'left';
    g.fillText(m.title, pad, y + 8);
    y += 20;
    const top = y + colH(m);
    const left = pad + rowW;
    // Column labels, rotated to read bottom-up, ending at the map's top edge.
    g.font = small;
    g.fillStyle = '#333333';
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
      g.fillStyle = '#333333';
      g.fillText(m.rowLabels[r] ?? '', left - 6, top + r * cell + cell / 2);
      row.forEach((v, c) => {
        g.fillStyle = divergingCss(v, spec.scale);
        g.fillRect(left + c * cell, top + r * cell, cell - 1, cell - 1);
      });
    });
    y = top + m.values.length * cell + 12;
  }

  // The colour bar: +scale at the top, 0 in the middle, −scale at the bottom.
  const barX = pad + mapsW + pad + 24;
  const barTop = pad + 44;
  const barH = 160;
  for (let i = 0; i < barH; i++) {
    g.fillStyle = divergingCss(spec.scale * (1 - (2 * i) / (barH - 1)), spec.scale);
    g.fillRect(barX, barTop + i, 14, 1);
  }
  g.strokeStyle = '#666666';
  g.strokeRect(barX, barTop, 14, barH);
  g.font = small;
  g.fillStyle = '#111111';
  g.textAlign = 'left';
  const tick = (v: number) => (v === 0 ? '0' : `${v > 0 ? '+' : '−'}${Math.abs(v).toPrecision(2)}`);
  g.fillText(tick(spec.scale), barX + 18, barTop);
  g.fillText('0', barX + 18, barTop + barH / 2);
  g.fillText(tick(-spec.scale), barX + 18, barTop + barH);
  g.save();
  g.translate(barX - 14, barTop + barH / 2);
  g.rotate(-Math.PI / 2);
  g.textAlign = 'center';
  g.fillText(spec.colourLabel, 0, 0);
  g.restore();

  g.font = font;
  g.textAlign = 'left';
  (spec.caption ?? []).forEach((line, i) => g.fillText(line, pad, y + 8 + 18 * i));
  return canvas;
}

function clip(g: CanvasRenderingContext2D, text: string, max: number): string {
  if (g.measureText(text).width <= max) return text;
  let t = text;
  while (t.length > 1 && g.measureText(`${t}…`).width > max) t = t.slice(0, -1);
  return `${t}…`;
}

/** The figure of `spec` as a PNG. */
export function figurePng(spec: FigureSpec): Promise<Blob> {
  const canvas = composeFigure(spec);
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the browser made no PNG'))), 'image/png'),
  );
}
