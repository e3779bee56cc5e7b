// The lifecycle of a heatmap canvas, once, for every component that has one (the head grid, the
// focused head, the difference view): a Svelte attachment (`{@attach heatmapCanvas(...)}`) that
// gets a HeatmapView for the canvas, sizes the canvas's backing store to its CSS size × the device
// pixel ratio (following the ratio when the window moves to another screen or zooms), redraws
// when what it shows changes, and disposes the view when the canvas goes.

import { untrack } from 'svelte';
import type { Attachment } from 'svelte/attachments';
import { devicePixelRatio } from 'svelte/reactivity/window';
import type { HeatmapParams, HeatmapView } from './heatmaps.svelte';

/** Where a canvas's patterns come from: a PromptRun (its own, or its difference with another). */
export interface HeatmapSource {
  attachHeatmaps(canvas: HTMLCanvasElement): HeatmapView;
  /** Read to redraw after each run. */
  readonly result: unknown;
}

export interface HeatmapCanvasOptions {
  readonly source: HeatmapSource;
  /** CSS size of the canvas; read in an effect, so it may depend on reactive state. */
  readonly size: () => { readonly width: number; readonly height: number };
  /** What to draw; read in an effect. */
  readonly params: () => HeatmapParams;
  /** Gets the view (for tooltips and export) when the canvas comes, and undefined when it goes. */
  readonly onview?: (view: HeatmapView | undefined) => void;
}

/**
 * Sizes a canvas's backing store to CSS `width` × `height` × the device pixel ratio (read
 * reactively, so an effect calling this follows the window to another screen or zoom). Setting the
 * size clears the canvas, so it is set only when it changes; the caller redraws after.
 */
export function sizeBackingStore(canvas: HTMLCanvasElement, width: number, height: number): void {
  const dpr = devicePixelRatio.current ?? 1;
  const w = Math.max(1, Math.round(width * dpr));
  const h = Math.max(1, Math.round(height * dpr));
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
}

/**
 * A Svelte attachment around a view of a canvas, for every canvas view (the heatmaps, the atlas):
 * `make` gives the view when the canvas comes (handed to `onview`); an effect sizes the canvas to
 * `size()` CSS pixels (its backing store × the device pixel ratio) and draws `params()`, again
 * whenever those or what `redraw()` reads change; the view is disposed when the canvas goes.
 */
export function viewCanvas<P, V extends { draw(params: P): void; dispose(): void }>(
  make: (canvas: HTMLCanvasElement) => V,
  options: {
    readonly size: () => { readonly width: number; readonly height: number };
    readonly params: () => P;
    readonly redraw: () => void;
    readonly onview?: (view: V | undefined) => void;
  },
): Attachment<HTMLCanvasElement> {
  return (canvas) => {
    const view = untrack(() => make(canvas));
    untrack(() => options.onview?.(view));
    $effect(() => {
      const { width, height } = options.size();
      sizeBackingStore(canvas, width, height);
      canvas.style.width = `${width}px`;
      canvas.style.height = `${height}px`;
      options.redraw();
      view.draw(options.params());
    });
    return () => {
      view.dispose();
      options.onview?.(undefined);
    };
  };
}

export function heatmapCanvas(options: HeatmapCanvasOptions): Attachment<HTMLCanvasElement> {
  return viewCanvas((canvas) => options.source.attachHeatmaps(canvas), {
    size: () => options.size(),
    params: () => options.params(),
    redraw: () => void options.source.result,
    onview: (view) => options.onview?.(view),
  });
}
