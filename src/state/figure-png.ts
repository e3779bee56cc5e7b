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

import { colormapTable } from '../viz/colormaps';
import { figureLayout, type FigureLayout, type FigureSpec } from '../viz/figure-layout';

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

const fonts = {
  title: 'system-ui, "DejaVu Sans", "Helvetica Neue", Arial, sans-serif',
  mono: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
} as const;

/** Draws `layout` with `image` in its plot rectangle onto `ctx` (sized layout.width × height). */
export function drawFigure(
  ctx: OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D,
  image: FigureImage,
  spec: FigureSpec,
  layout: FigureLayout,
): void {
  const { plot, bar } = layout;
  ctx.fillStyle = figureColors.background;
  ctx.fillRect(0, 0, layout.width, layout.height);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(image, plot.x, plot.y, plot.width, plot.height);
  if (bar && spec.colorBar) {
    // The gradient from the colormap's 256 entries, the largest value at the top.
    const table = colormapTable(spec.colorBar.colormap);
    const strip = new ImageData(1, 256);
    for (let i = 0; i < 256; i++) strip.data.set(table.subarray(4 * (255 - i), 4 * (255 - i) + 4), 4 * i);
    const gradient = new OffscreenCanvas(1, 256);
    gradient.getContext('2d')!.putImageData(strip, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(gradient, bar.x, bar.y, bar.width, bar.height);
    ctx.strokeStyle = figureColors.marks;
    ctx.lineWidth = 1;
    ctx.strokeRect(bar.x - 0.5, bar.y - 0.5, bar.width + 1, bar.height + 1);
  }
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
    ctx.font = `${t.bold ? '600 ' : ''}${t.px}px ${fonts[t.font]}`;
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
  const canvas = new OffscreenCanvas(layout.width, layout.height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2D canvas to compose the figure on');
  drawFigure(ctx, image, spec, layout);
  return canvas.convertToBlob({ type: 'image/png' });
}
