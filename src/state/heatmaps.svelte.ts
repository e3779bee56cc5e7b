// The attention heatmaps' state: the view settings the panel's components share (plain data), and
// HeatmapView, the state-layer object behind one heatmap canvas. A component gets a HeatmapView
// from PromptRun.attachHeatmaps(canvas), calls draw(params) when what it shows changes, and
// dispose() when it goes; the renderer, its GPU objects and the canvas's WebGPU context stay in here.
//
// Drawing reads the capture textures where the forward pass left them (src/viz/heatmap-renderer.ts);
// the only copies to the CPU are probe(): one or two texels for the tooltip under the pointer,
// throttled, and never part of drawing; and exportPng(), which the user asks for: it copies the
// canvas's image (not the captures) into a figure, and reads back one number, the head's maximum,
// for the colour bar's scale.
//
// A view may draw two prompts' captures as their difference (compare mode): the renderer samples
// both textures in place.

import type { PromptSession } from '../engine/session';
import { captureBytesPerValue, decodeCapture, type CaptureFormat } from '../gpu/kernels';
import { viteShaders } from '../gpu/shaders-vite';
import { f16ToF32 } from '../model/dtype';
import type { AnyColormapName, ColormapName, DivergingColormapName } from '../viz/colormaps';
import { measure, noteDraw } from './debug';
import {
  HeatmapRenderer,
  canvasTarget,
  maskedColor,
  type CellRect,
  type HeatmapNormalization,
  type HeatmapScale,
  type Rgb,
  type SinkMode,
} from '../render/heatmap-renderer';
import type { HeadRect } from '../viz/heatmap-layout';
import { figureClearColor, figureMaskedColor } from '../viz/figure-layout';
import { figurePng, snapshotCanvas, type FigureSpec } from './figure-png';
import { LatestRequest } from './latest';

export {
  colormapGradient,
  colormapNames,
  divergingColormapNames,
  type AnyColormapName,
  type ColormapName,
  type DivergingColormapName,
} from '../viz/colormaps';
export type { CellRect, HeatmapNormalization, HeatmapScale, SinkMode } from '../render/heatmap-renderer';
export {
  allCells,
  clampCells,
  headAt,
  headGridLayout,
  isAllCells,
  panCells,
  zoomCells,
  type HeadGridLayout,
  type HeadRect,
} from '../viz/heatmap-layout';

/** The colours of an exported figure's heatmap: masked cells light grey, outside them the white page. */
export { figureClearColor, figureMaskedColor } from '../viz/figure-layout';

/** What a heatmap's figure (exportPng) shows besides the image: the component knows the words. */
export interface HeatmapFigure {
  /** Title lines: the head and hook, the model, the prompt(s). */
  readonly title: readonly string[];
  /** A label per token: rows (queries) and columns (keys). */
  readonly rowLabels: readonly string[];
  readonly colLabels: readonly string[];
  /** What the colour bar's values are. */
  readonly valueTitle: string;
}

/** The masked-cell colour as CSS, for legends. */
export const maskedCss = `rgb(${maskedColor.join(', ')})`;

/** What the attention panel shows: the layer, the focused head, and how weights become colours. */
export class HeatmapSettings {
  layer = $state(0);
  /** The head shown large; undefined: the grid of all heads only. */
  focus = $state<number | undefined>(undefined);
  colormap = $state<ColormapName>('viridis');
  /** The diverging map of difference views (compare mode). */
  diffColormap = $state<DivergingColormapName>('rdbu');
  scale = $state<HeatmapScale>('linear');
  normalization = $state<HeatmapNormalization>('head');
  sink = $state<SinkMode>('show');
  /** The part of the focused head's pattern shown; undefined: all of it. */
  zoom = $state.raw<CellRect | undefined>(undefined);
}

/** One head in a rectangle of the canvas, in CSS pixels; `cells`: the part shown (zoom). */
export interface HeatmapViewport extends HeadRect {
  readonly cells?: CellRect;
}

/** Everything one draw needs: plain data. */
export interface HeatmapParams {
  readonly layer: number;
  readonly viewports: readonly HeatmapViewport[];
  /** A diverging map for difference views. */
  readonly colormap: AnyColormapName;
  readonly scale: HeatmapScale;
  readonly normalization: HeatmapNormalization;
  readonly sink: SinkMode;
}

/** One run's captures: the session that holds them, T, and the run's number (for debugCounters). */
export interface SessionCaptures {
  readonly session: PromptSession;
  readonly rows: number;
  readonly seq: number;
}

/**
 * What PromptRun lends a HeatmapView: the device and, after a run, that run's captures; for a
 * difference view also the other prompt's (with as many rows).
 */
export interface CaptureSource {
  readonly device: GPUDevice;
  readonly captures: SessionCaptures | undefined;
  readonly capturesB?: SessionCaptures;
}

export interface ProbeCell {
  readonly layer: number;
  readonly head: number;
  readonly query: number;
  readonly key: number;
}

export interface ProbedCell extends ProbeCell {
  /** The attention weight p[query, key] as captured. */
  readonly weight: number;
  /** p[query, 0]: the weight on the first token (for the sink's renormalization). */
  readonly sinkWeight: number;
  /** A difference view's second prompt: its p[query, key] and p[query, 0]. */
  readonly b?: { readonly weight: number; readonly sinkWeight: number };
}

const probeIntervalMs = 50;
/** Exported figures are drawn at this many pixels per CSS pixel at least (print resolution). */
export const exportPixelRatio = 2;

export class HeatmapView {
  /** The last cell probe() read, with its weight; undefined when none is wanted. */
  probed = $state.raw<ProbedCell | undefined>(undefined);
  /** Why the last draw failed, if it did. */
  error = $state.raw<string | undefined>(undefined);

  readonly #canvas: HTMLCanvasElement;
  readonly #source: () => CaptureSource | undefined;
  #renderer: HeatmapRenderer | undefined;
  #params: HeatmapParams | undefined;
  #frame: number | undefined;
  /** The run whose captures the canvas shows (its seq). */
  #drawnSeq: number | undefined;
  readonly #probes = new LatestRequest<ProbeCell>(
    probeIntervalMs,
    async (cell) => {
      const read = await this.#read(cell).catch(() => undefined);
      if (!this.#disposed && read) this.probed = read;
    },
    () => this.#disposed,
  );
  #staging: { readonly device: GPUDevice; readonly buffer: GPUBuffer } | undefined;
  #disposed = false;

  constructor(canvas: HTMLCanvasElement, source: () => CaptureSource | undefined) {
    this.#canvas = canvas;
    this.#source = source;
  }

  /**
   * Draws `params` at the next animation frame (several calls in one frame draw once), or at once
   * when a new run's captures have come (a keystroke's heatmaps wait for no frame). Call it when
   * the params, the canvas size or the run's result change; nothing redraws by itself.
   */
  draw(params: HeatmapParams): void {
    if (this.#disposed) return;
    this.#params = params;
    const seq = this.#source()?.captures?.seq;
    if (seq !== undefined && seq !== this.#drawnSeq) {
      if (this.#frame !== undefined) cancelAnimationFrame(this.#frame);
      this.#frame = undefined;
      this.#render();
      return;
    }
    this.#frame ??= requestAnimationFrame(() => {
      this.#frame = undefined;
      this.#render();
    });
  }

  #render(colors?: { readonly clear: Rgb; readonly masked: Rgb }): void {
    const source = this.#source();
    const params = this.#params;
    const canvas = this.#canvas;
    if (this.#disposed || !source || canvas.width === 0 || canvas.height === 0) return;
    try {
      if (this.#renderer?.device !== source.device) {
        this.#renderer?.dispose();
        this.#renderer = undefined;
        const format = navigator.gpu.getPreferredCanvasFormat();
        this.#renderer = new HeatmapRenderer(
          source.device,
          viteShaders,
          canvasTarget(source.device, canvas, format),
        );
      }
      const captures = source.captures;
      const name = canvas.dataset['testid'] ?? 'heatmap';
      if (!params || !captures) {
        this.#renderer.clear();
        noteDraw(source.device, name, -1);
        return;
      }
      // CSS pixels → canvas pixels (the canvas's backing store is CSS size × devicePixelRatio). The
      // CSS size from the style heatmapCanvas sets: reading clientWidth would force a layout.
      const started = performance.now();
      const cssWidth = parseFloat(canvas.style.width) || canvas.clientWidth || canvas.width;
      const cssHeight = parseFloat(canvas.style.height) || canvas.clientHeight || canvas.height;
      const sx = canvas.width / cssWidth;
      const sy = canvas.height / cssHeight;
      this.#renderer.draw({
        pattern: captures.session.capture({ kind: 'pattern', layer: params.layer }),
        patternB: source.capturesB?.session.capture({ kind: 'pattern', layer: params.layer }),
        rows: captures.rows,
        viewports: params.viewports.map((v) => ({
          head: v.head,
          x: Math.round(v.x * sx),
          y: Math.round(v.y * sy),
          width: Math.round((v.x + v.width) * sx) - Math.round(v.x * sx),
          height: Math.round((v.y + v.height) * sy) - Math.round(v.y * sy),
          cells: v.cells,
        })),
        colormap: params.colormap,
        scale: params.scale,
        normalization: params.normalization,
        sink: params.sink,
        ...colors,
      });
      measure(`draw-encode:${name}`, started, performance.now(), captures.seq);
      this.#drawnSeq = captures.seq;
      noteDraw(source.device, name, captures.seq);
      this.error = undefined;
    } catch (e) {
      this.error = (e as Error).message ?? String(e);
    }
  }

  /**
   * The first viewport's head as a figure (PNG): the canvas's image, drawn again now with a white
   * page and light masked cells and copied in the same task (a WebGPU canvas keeps no image after
   * presenting), with the title, token labels on both axes and a colour bar (src/state/figure-png.ts).
   * The canvas is then drawn again as it was.
   */
  async exportPng(figure: HeatmapFigure): Promise<Blob> {
    if (this.#disposed) throw new Error('this heatmap is gone');
    const params = this.#params;
    const viewport = params?.viewports[0];
    const source = this.#source();
    if (!params || !viewport || !source?.captures) throw new Error('nothing is drawn yet');
    if (this.#frame !== undefined) cancelAnimationFrame(this.#frame);
    this.#frame = undefined;
    // Drawn at (at least) twice its CSS size for print, then back at its own size, in one task:
    // the frame presented is the usual one.
    const canvas = this.#canvas;
    const [width, height] = [canvas.width, canvas.height];
    const css = canvas.clientWidth || width;
    const ratio = Math.max(exportPixelRatio, width / css);
    canvas.width = Math.round(css * ratio);
    canvas.height = Math.round((canvas.clientHeight || height) * ratio);
    let image: OffscreenCanvas;
    let max: Promise<number>;
    try {
      this.#render({ clear: figureClearColor, masked: figureMaskedColor });
      if (this.error) throw new Error(this.error);
      image = snapshotCanvas(canvas);
      max =
        params.normalization === 'head' && this.#renderer
          ? this.#renderer.headMax(viewport.head)
          : Promise.resolve(1);
    } finally {
      canvas.width = width;
      canvas.height = height;
      this.#render();
    }
    const top = await max;
    const rows = source.captures.rows;
    const cells = viewport.cells ?? { key0: 0, query0: 0, key1: rows, query1: rows };
    const spec: FigureSpec = {
      title: figure.title,
      rows: { labels: figure.rowLabels, from: cells.query0, to: cells.query1, title: 'query' },
      cols: { labels: figure.colLabels, from: cells.key0, to: cells.key1, title: 'key' },
      colorBar: {
        colormap: params.colormap,
        kind: source.capturesB ? 'diverging' : 'sequential',
        scale: params.scale,
        max: top > 0 && Number.isFinite(top) ? top : 1,
        title: figure.valueTitle,
      },
    };
    return figurePng(image, spec, ratio);
  }

  /**
   * Reads p[query, key] (and p[query, 0]) of one head for a tooltip into `probed`: a copy of one
   * or two texels, at most one in flight and one per 50 ms; the latest request wins. Call it again
   * after a new run to refresh the value. undefined clears `probed`.
   */
  probe(cell: ProbeCell | undefined): void {
    if (this.#disposed) return;
    // (Reads no reactive state: a component calls this from an effect.)
    this.#probes.want(cell);
    if (!cell) this.probed = undefined;
  }

  async #read(cell: ProbeCell): Promise<ProbedCell | undefined> {
    const source = this.#source();
    const captures = source?.captures;
    if (!source || !captures) return undefined;
    const { query, key, head } = cell;
    if (query < 0 || query >= captures.rows || key < 0 || key > query) return undefined;
    const texture = captures.session.capture({ kind: 'pattern', layer: cell.layer });
    const textureB = source.capturesB?.session.capture({ kind: 'pattern', layer: cell.layer });
    if (head < 0 || head >= texture.depthOrArrayLayers) return undefined;
    const { device } = source;
    if (this.#staging?.device !== device) {
      this.#staging?.buffer.destroy();
      this.#staging = undefined;
    }
    const staging = (this.#staging ??= {
      device,
      buffer: device.createBuffer({
        label: 'heatmap.probe',
        size: 1024,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      }),
    }).buffer;
    // Two texels: (key/4, query) at byte 0 and (0, query) at byte 256, of array layer `head`; the
    // same of the second prompt's texture at 512 and 768.
    const encoder = device.createCommandEncoder({ label: 'heatmap.probe' });
    for (const [t, base] of textureB
      ? [[texture, 0] as const, [textureB, 512] as const]
      : [[texture, 0] as const]) {
      for (const [x, offset] of [
        [Math.floor(key / 4), 0],
        [0, 256],
      ] as const) {
        encoder.copyTextureToBuffer(
          { texture: t, origin: [x, query, head] },
          { buffer: staging, offset: base + offset },
          [1, 1, 1],
        );
      }
    }
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    try {
      const format = texture.format as CaptureFormat;
      const raw = staging.getMappedRange();
      const formatB = textureB?.format as CaptureFormat | undefined;
      return {
        ...cell,
        weight: texelValue(format, raw, 0, key % 4),
        sinkWeight: texelValue(format, raw, 256, 0),
        b: formatB && {
          weight: texelValue(formatB, raw, 512, key % 4),
          sinkWeight: texelValue(formatB, raw, 768, 0),
        },
      };
    } finally {
      staging.unmap();
    }
  }

  dispose(): void {
    this.#disposed = true;
    if (this.#frame !== undefined) cancelAnimationFrame(this.#frame);
    this.#renderer?.dispose();
    this.#renderer = undefined;
    // A probe in flight fails its mapAsync here and ends quietly.
    this.#staging?.buffer.destroy();
    this.#staging = undefined;
  }
}

/** Component `i` of the capture texel at `offset` in `raw`, decoded to an attention weight. */
function texelValue(format: CaptureFormat, raw: ArrayBuffer, offset: number, i: number): number {
  const bytes = captureBytesPerValue[format];
  const at = offset + i * bytes;
  const stored =
    format === 'rgba32float'
      ? new Float32Array(raw, at, 1)[0]!
      : format === 'rgba16float'
        ? f16ToF32(new Uint16Array(raw, at, 1)[0]!)
        : new Uint8Array(raw, at, 1)[0]! / 255;
  return decodeCapture(format, stored);
}
