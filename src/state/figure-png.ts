// A figure as a PNG, composed on a 2D canvas: an image the GPU rendered (a heatmap's canvas, a
// patching map's) placed at its own pixel size, with title lines, row and column labels and a
// colour bar drawn in 2D around it (layout: src/viz/figure-layout.ts). No matrix values are read
// back: the image is copied from the source canvas as it was rendered, and the colour bar is
// drawn from the colormap's table.
//
//   const image = snapshotCanvas(gpuCanvas);   // in the task that rendered it (see below)
//   const blob = await figurePng(image, { title, rows, cols, colorBar });
//
// A WebGPU canvas keeps its image only until the frame is presented: take the snapshot in the same
// task as the draw that filled it (snapshotCanvas copies synchronously).

import { colormapTable, type AnyColormapName } from '../viz/colormaps';
import { figureLayout, type FigureLayout, type FigureSpec, type Rect } from '../viz/figure-layout';

export type { FigureAxis, FigureColorBar, FigureSpec } from '../viz/figure-layout';

/** Colours of the figure around the image: a white page, as papers have. */
export const figureColors = {
  background: '#ffffff',
  text: '#1a1a1a',
  muted: '#555555',
  marks: '#444444',
} as const;

export type FigureImage = HTMLCanvasElement | OffscreenCanvas | ImageBitmap;

/** A copy of `canvas` as it is now (a WebGPU canvas: before its frame is presented). */
export function snapshotCanvas(canvas: HTMLCanvasElement | OffscreenCanvas): OffscreenCanvas {
  const copy = new OffscreenCanvas(canvas.width, canvas.height);
  const ctx = copy.getContext('2d');
  if (!ctx) throw new Error('no 2D canvas to copy the image into');
  ctx.drawImage(canvas, 0, 0);
  return copy;
}

/** The font families of a figure: titles and numbers, and the token labels. */
export const figureFonts = {
  title: 'system-ui, "DejaVu Sans", "Helvetica Neue", Arial, sans-serif',
  mono: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
} as const;

type Context2D = OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D;

/** A colour bar's gradient in `rect`, from the colormap's 256 entries (the largest value at the top), framed. */
export function drawColorBar(ctx: Context2D, colormap: AnyColormapName, rect: Rect): void {
  const table = colormapTable(colormap);
  const strip = new ImageData(1, 256);
  for (let i = 0; i < 256; i++) strip.data.set(table.subarray(4 * (255 - i), 4 * (255 - i) + 4), 4 * i);
  const gradient = new OffscreenCanvas(1, 256);
  gradient.getContext('2d')!.putImageData(strip, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(gradient, rect.x, rect.y, rect.width, rect.height);
  ctx.strokeStyle = figureColors.marks;
  ctx.lineWidth = 1;
  ctx.strokeRect(rect.x - 0.5, rect.y - 0.5, rect.width + 1, rect.height + 1);
}

/** Draws `layout` with `image` in its plot rectangle onto `ctx` (sized layout.width × height). */
export function drawFigure(ctx: Context2D, image: FigureImage, spec: FigureSpec, layout: FigureLayout): void {
  const { plot, bar } = layout;
  ctx.fillStyle = figureColors.background;
  ctx.fillRect(0, 0, layout.width, layout.height);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(image, plot.x, plot.y, plot.width, plot.height);
  if (bar && spec.colorBar) drawColorBar(ctx, spec.colorBar.colormap, bar);
  ctx.strokeStyle = figureColors.marks;
  ctx.lineWidth = Math.max(1, Math.round(layout.width / 1200));
  ctx.beginPath();
  for (const [x0, y0, x1, y1] of layout.marks) {
    ctx.moveTo(Math.round(x0) + 0.5, Math.round(y0) + 0.5);
    ctx.lineTo(Math.round(x1) + 0.5, Math.round(y1) + 0.5);
  }
  ctx.stroke();
  for (const t of layout.texts) {
    ctx.save();
    ctx.font = `${t.bold ? '600 ' : ''}${t.px}px ${figureFonts[t.font]}`;
    ctx.fillStyle = t.font === 'mono' ? figureColors.muted : figureColors.text;
    ctx.textAlign = t.align;
    ctx.textBaseline = t.baseline;
    ctx.translate(t.x, t.y);
    if (t.rotate) ctx.rotate(-Math.PI / 2);
    ctx.fillText(t.text, 0, 0, t.maxWidth);
    ctx.restore();
  }
}

/**
 * The figure as a PNG: `image` (e.g. snapshotCanvas of a GPU canvas, or an ImageBitmap) with the
 * spec's title, labels and colour bar. `ratio`: the image's pixels per CSS pixel (fonts and margins
 * scale with it).
 */
export async function figurePng(image: FigureImage, spec: FigureSpec, ratio = 1): Promise<Blob> {
  const layout = figureLayout(spec, image.width, image.height, ratio);
  const [canvas, ctx] = figureCanvas(layout.width, layout.height);
  drawFigure(ctx, image, spec, layout);
  return canvas.convertToBlob({ type: 'image/png' });
}

/** A canvas of `width` × `height` pixels to compose a figure on, and its 2D context. */
export function figureCanvas(
  width: number,
  height: number,
): [OffscreenCanvas, OffscreenCanvasRenderingContext2D] {
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2D canvas to compose the figure on');
  return [canvas, ctx];
}
