// The all-heads atlas's state: AtlasView, the state-layer object behind the atlas canvas, and the
// Svelte attachment that gives a canvas one. The atlas component hands it the thumbnails' places
// (src/viz/atlas-layout.ts) and the colour settings; the renderer (src/render/atlas-renderer.ts),
// its GPU objects and the canvas's WebGPU context stay in here. Drawing samples every layer's
// capture texture where the forward pass left it: nothing is read back, and the canvas redraws
// only when the run, the layout or the colours change (scrubbing the layer moves a DOM highlight).

import type { Attachment } from 'svelte/attachments';
import { viewCanvas } from './heatmap-canvas.svelte';
import { viteShaders } from '../gpu/shaders-vite';
import { AtlasRenderer } from '../render/atlas-renderer';
import { canvasTarget } from '../render/heatmap-renderer';
import type { AtlasThumb } from '../viz/atlas-layout';
import { noteDraw } from './debug';
import { runCaptures, studioGpu } from './gpu/access';
import type { ColormapName, HeatmapNormalization, HeatmapScale, SinkMode } from './heatmaps.svelte';
import type { Studio } from './studio.svelte';
import type { PromptRun } from './prompt-run.svelte';

export { atlasHit, atlasLayout, type AtlasLayout, type AtlasThumb } from '../viz/atlas-layout';

/** Everything one atlas frame needs: plain data, in CSS pixels. */
export interface AtlasParams {
  readonly thumbs: readonly AtlasThumb[];
  readonly colormap: ColormapName;
  readonly scale: HeatmapScale;
  readonly normalization: HeatmapNormalization;
  readonly sink: SinkMode;
}

export class AtlasView {
  /** Why the last draw failed, if it did. */
  error = $state.raw<string | undefined>(undefined);
  readonly #canvas: HTMLCanvasElement;
  readonly #studio: Studio;
  readonly #run: PromptRun;
  #renderer: AtlasRenderer | undefined;
  #params: AtlasParams | undefined;
  #frame: number | undefined;
  #disposed = false;

  constructor(canvas: HTMLCanvasElement, studio: Studio, run: PromptRun) {
    this.#canvas = canvas;
    this.#studio = studio;
    this.#run = run;
  }

  /** Draws `params` at the next animation frame (several calls in one frame draw once). */
  draw(params: AtlasParams): void {
    if (this.#disposed) return;
    this.#params = params;
    this.#frame ??= requestAnimationFrame(() => {
      this.#frame = undefined;
      this.#render();
    });
  }

  #render(): void {
    const device = studioGpu(this.#studio).device();
    const canvas = this.#canvas;
    const params = this.#params;
    if (this.#disposed || !device || canvas.width === 0 || canvas.height === 0) return;
    try {
      if (this.#renderer?.device !== device) {
        this.#renderer?.dispose();
        this.#renderer = undefined;
        const format = navigator.gpu.getPreferredCanvasFormat();
        this.#renderer = new AtlasRenderer(device, viteShaders, canvasTarget(device, canvas, format));
      }
      const captures = runCaptures(this.#run);
      const name = canvas.dataset['testid'] ?? 'atlas';
      if (!params || !captures) {
        this.#renderer.clear();
        noteDraw(device, name, -1);
        return;
      }
      const { session, result } = captures;
      const nLayer = params.thumbs.reduce((m, t) => Math.max(m, t.layer + 1), 0);
      // CSS pixels → canvas pixels (the backing store is CSS size × devicePixelRatio).
      const s = canvas.width / (canvas.clientWidth || canvas.width);
      this.#renderer.draw({
        patterns: Array.from({ length: nLayer }, (_, l) => session.capture({ kind: 'pattern', layer: l })),
        rows: result.tokens.length,
        viewports: params.thumbs.map((t) => ({
          layer: t.layer,
          head: t.head,
          x: Math.round(t.x * s),
          y: Math.round(t.y * s),
          size: Math.round((t.x + t.size) * s) - Math.round(t.x * s),
        })),
        colormap: params.colormap,
        scale: params.scale,
        normalization: params.normalization,
        sink: params.sink,
        contentKey: captures.seq, // the heads' maxima are computed once per run (and sink mode)
      });
      noteDraw(device, name, captures.seq);
      this.error = undefined;
    } catch (e) {
      this.error = (e as Error).message ?? String(e);
    }
  }

  dispose(): void {
    this.#disposed = true;
    if (this.#frame !== undefined) cancelAnimationFrame(this.#frame);
    this.#renderer?.dispose();
    this.#renderer = undefined;
  }
}

export interface AtlasCanvasOptions {
  readonly studio: Studio;
  readonly run: PromptRun;
  /** CSS size of the canvas; read in an effect. */
  readonly size: () => { readonly width: number; readonly height: number };
  /** What to draw; read in an effect. */
  readonly params: () => AtlasParams;
  readonly onview?: (view: AtlasView | undefined) => void;
}

/**
 * A Svelte attachment (`{@attach atlasCanvas(...)}`): an AtlasView for the canvas, its backing
 * store sized to its CSS size × the device pixel ratio, redrawn after each run and when the params
 * change, disposed when the canvas goes.
 */
export function atlasCanvas(options: AtlasCanvasOptions): Attachment<HTMLCanvasElement> {
  return viewCanvas((canvas) => new AtlasView(canvas, options.studio, options.run), {
    size: () => options.size(),
    params: () => options.params(),
    redraw: () => {
      void options.run.result;
      void options.studio.modelVersion;
    },
    onview: (view) => options.onview?.(view),
  });
}
