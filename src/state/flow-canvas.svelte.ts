// The flow view's canvas: a Svelte attachment (`{@attach flowCanvas(...)}`) that owns a
// FlowRenderer for the canvas (made again when the device changes), sizes the canvas's backing
// store to its CSS size × the device pixel ratio, hands the renderer each run's numbers once (a
// GPU-to-GPU copy of the residual stats, src/render/flow-renderer.ts) and draws a frame whenever
// what it shows changes — the camera, the animated level, the selection — at most once per
// animation frame. A frame writes uniforms and records one render pass; nothing is read back
// (e2e/flow.spec.ts counts mapAsync calls).

import { untrack } from 'svelte';
import type { Attachment } from 'svelte/attachments';
import { sizeBackingStore } from './heatmap-canvas.svelte';
import { viteShaders } from '../gpu/shaders-vite';
import { FlowRenderer } from '../render/flow-renderer';
import { canvasTarget } from '../render/heatmap-renderer';
import type { Camera2D } from '../viz/camera';
import type { FlowCellRef } from '../viz/flow-layout';
import { noteDraw } from './debug';
import type { FlowField } from './flow';
import { studioGpu } from './gpu/access';

/** What one frame shows. */
export interface FlowFrame {
  readonly field: FlowField | undefined;
  readonly camera: Camera2D;
  /** Boundaries the stream has reached, 0 … 2L (animated). */
  readonly level: number;
  /** The selected block; −1: none. */
  readonly layer: number;
  readonly cursor?: FlowCellRef;
}

export interface FlowCanvasOptions {
  /** The Studio (its device). */
  readonly studio: object;
  /** What to draw; read in an effect, so it may depend on reactive state. */
  readonly frame: () => FlowFrame;
  /** Why the last frame failed (undefined once one succeeds). */
  readonly onerror?: (message: string | undefined) => void;
}

class FlowCanvasView {
  readonly #canvas: HTMLCanvasElement;
  readonly #studio: object;
  readonly #onerror: ((message: string | undefined) => void) | undefined;
  #renderer: FlowRenderer | undefined;
  #frame: FlowFrame | undefined;
  #pending: number | undefined;
  /** The field the renderer holds. */
  #field: FlowField | undefined;
  #disposed = false;

  constructor(canvas: HTMLCanvasElement, studio: object, onerror?: (message: string | undefined) => void) {
    this.#canvas = canvas;
    this.#studio = studio;
    this.#onerror = onerror;
  }

  /** Draws `frame` at the next animation frame (several calls in one frame draw once). */
  request(frame: FlowFrame): void {
    this.#frame = frame;
    this.#pending ??= requestAnimationFrame(() => {
      this.#pending = undefined;
      const f = this.#frame;
      if (!f) return;
      try {
        this.#draw(f);
        this.#onerror?.(undefined);
      } catch (e) {
        this.#onerror?.((e as Error).message ?? String(e));
      }
    });
  }

  #draw(frame: FlowFrame): void {
    const device = studioGpu(this.#studio).device();
    if (this.#disposed || !device) return;
    if (this.#renderer?.device !== device) {
      this.#renderer?.dispose();
      this.#renderer = undefined;
      const format = navigator.gpu.getPreferredCanvasFormat();
      this.#renderer = new FlowRenderer(device, viteShaders, canvasTarget(device, this.#canvas, format));
      this.#field = undefined;
    }
    const field = frame.field?.stats.buffer ? frame.field : undefined;
    if (field !== this.#field) {
      this.#renderer.setData(field && { ...field, stats: field.stats.buffer! });
      this.#field = field;
    }
    const [sx, sy] = frame.camera.scale();
    const ratio = this.#canvas.width / Math.max(1, frame.camera.width);
    this.#renderer.draw({
      clipToWorld: frame.camera.clipToWorld(),
      cellPx: [sx * ratio, sy * ratio],
      level: frame.level,
      layer: frame.layer,
      cursor: frame.cursor,
    });
    noteDraw(device, this.#canvas.dataset['testid'] ?? 'flow', field ? 1 : -1);
  }

  dispose(): void {
    this.#disposed = true;
    if (this.#pending !== undefined) cancelAnimationFrame(this.#pending);
    this.#renderer?.dispose();
    this.#renderer = undefined;
  }
}

export function flowCanvas(options: FlowCanvasOptions): Attachment<HTMLCanvasElement> {
  return (canvas) => {
    const view = untrack(() => new FlowCanvasView(canvas, options.studio, options.onerror));
    $effect(() => {
      const frame = options.frame();
      sizeBackingStore(canvas, frame.camera.width, frame.camera.height);
      view.request(frame);
    });
    return () => view.dispose();
  };
}
