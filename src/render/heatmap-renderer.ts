// Attention heatmaps drawn straight from the capture textures: no copy of attention data leaves
// the GPU. One draw records, in one command buffer, a small compute pass (each head's max shown
// weight, for per-head normalization; shaders/render/heatmap_max.wgsl) and one render pass that draws
// each requested head into its own viewport (shaders/render/heatmap.wgsl), then submits and returns.
// Given a second prompt's capture of the same layer (compare mode), it draws the difference A − B
// instead, with a diverging colormap (heatmap_diff.wgsl, heatmap_diff_max.wgsl), from both
// textures in place.
// WGSL has no imports: each module is its entry-point file with the shared files it needs put
// before it (shaderModules below); the vertex stage is a module of its own (heatmap_vertex.wgsl).
//
// Created and owned by the state layer (src/state/heatmaps.svelte.ts), never by a component.
// Pipelines are made once per device and target format and shared by every renderer; bind groups
// once per capture texture (a session that grows its capacity makes new textures, which get new
// bind groups); the colormap is a 256×1 texture rewritten only when the map changes.

import { readBuffer } from '../gpu/readback';
import type { ShaderLibrary } from '../gpu/shader-library';
import type { AnyColormapName } from '../viz/colormaps';
import type { CellRect } from '../viz/heatmap-layout';
import {
  clearTarget,
  clearedPass,
  colormapTexture,
  commonUniforms,
  drawViewports,
  heatmapGroups,
  heatmapPipelines,
  maxWg,
  panelColor,
  perDevice,
  uniformSlots,
  uniformStride,
  uniformWriter,
  writeColormap,
  type HeatmapGroups as BindGroups,
  type HeatmapNormalization,
  type HeatmapPipelines as Pipelines,
  type HeatmapScale,
  type RenderTarget,
  type Rgb,
  type SinkMode,
  destroyAll,
} from './render-common';
export type { CellRect, HeatmapNormalization, HeatmapScale, RenderTarget, Rgb, SinkMode };
export { maskedColor, panelColor } from './render-common';

/** One head drawn into a rectangle of the target, in target pixels (integers). */
export interface HeatmapViewport {
  readonly head: number;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  /** What part of the pattern to show (default: all T × T cells). */
  readonly cells?: CellRect;
}

export interface HeatmapFrame {
  /** blocks.L.attn.hook_pattern of one layer: (ceil(capacity/4), capacity) × H (see session.ts). */
  readonly pattern: GPUTexture;
  /**
   * Another prompt's capture of the same layer, with as many heads and at least `rows` rows: the
   * frame shows pattern − patternB (a diverging `colormap`; 'shared' normalization is the
   * difference as it is, in [−1, 1]; 'head' divides by the head's largest |difference|).
   */
  readonly patternB?: GPUTexture;
  /** T: the prompt's tokens (rows and columns ≥ T of `pattern` are stale). */
  readonly rows: number;
  readonly viewports: readonly HeatmapViewport[];
  readonly colormap: AnyColormapName;
  readonly scale: HeatmapScale;
  readonly normalization: HeatmapNormalization;
  readonly sink: SinkMode;
  /** Bytes of the target outside every viewport (default: the panel colour). */
  readonly clear?: Rgb;
  /** Bytes of masked (key after query) and hidden cells (default: maskedColor). */
  readonly masked?: Rgb;
}

/** A WebGPU canvas configured for `device`; opaque, so the colours written are the colours shown. */
export function canvasTarget(
  device: GPUDevice,
  canvas: HTMLCanvasElement | OffscreenCanvas,
  format: GPUTextureFormat,
): RenderTarget {
  const context = canvas.getContext('webgpu') as GPUCanvasContext | null;
  if (!context) throw new Error('this canvas cannot give a WebGPU context');
  context.configure({ device, format, alphaMode: 'opaque' });
  return { format, current: () => context.getCurrentTexture(), dispose: () => context.unconfigure() };
}

/** 'pattern': one prompt's weights; 'diff': two prompts' difference. */
type Mode = 'pattern' | 'diff';

/**
 * The files each module is made of, in order: what every kernel reads (heatmap_common: the
 * uniforms, the capture, the cell shown), what both fragment shaders share (heatmap_pixel: the
 * cells under a pixel, value to colour), then the entry point's own file.
 */
const shaderModules: Readonly<Record<Mode, { render: readonly string[]; max: readonly string[] }>> = {
  pattern: {
    render: ['heatmap_common', 'heatmap_pixel', 'heatmap'],
    max: ['heatmap_common', 'heatmap_max'],
  },
  diff: {
    render: ['heatmap_common', 'heatmap_pixel', 'heatmap_diff'],
    max: ['heatmap_common', 'heatmap_diff_max'],
  },
};

const pipelineCache = new WeakMap<GPUDevice, Map<string, Pipelines>>();

/** The pipelines of one mode for one target format, made once per device. */
function pipelinesFor(
  device: GPUDevice,
  shaders: ShaderLibrary,
  format: GPUTextureFormat,
  mode: Mode,
): Pipelines {
  return perDevice(pipelineCache, device, `${mode}|${format}`, () => {
    const files = shaderModules[mode];
    return heatmapPipelines(device, shaders, format, {
      renderLabel: files.render.at(-1)!,
      vertexLabel: 'heatmap_vertex',
      maxLabel: files.max.at(-1)!,
      render: files.render,
      max: files.max,
      diff: mode === 'diff',
    });
  });
}

export class HeatmapRenderer {
  readonly device: GPUDevice;
  readonly #target: RenderTarget;
  readonly #shaders: ShaderLibrary;
  readonly #colormap: GPUTexture; // (256, 1) rgba8unorm
  #colormapName: AnyColormapName | undefined;
  #uniforms: GPUBuffer; // viewports × 256 bytes, one HeatmapUniforms each
  #headMax: GPUBuffer; // (heads) f32 bits
  #bindGroups = new WeakMap<GPUTexture, BindGroups>();
  /** Difference views: by pattern A, then pattern B. */
  #diffBindGroups = new WeakMap<GPUTexture, WeakMap<GPUTexture, BindGroups>>();
  #destroyed = false;

  constructor(device: GPUDevice, shaders: ShaderLibrary, target: RenderTarget) {
    this.device = device;
    this.#target = target;
    this.#shaders = shaders;
    pipelinesFor(device, shaders, target.format, 'pattern'); // shader errors surface here
    this.#colormap = colormapTexture(device, 'heatmap.colormap');
    this.#uniforms = this.#uniformBuffer(16);
    this.#headMax = this.#headMaxBuffer(32);
  }

  #uniformBuffer(viewports: number): GPUBuffer {
    return uniformSlots(this.device, 'heatmap.uniforms', viewports);
  }

  #headMaxBuffer(heads: number): GPUBuffer {
    return this.device.createBuffer({
      label: 'heatmap.head_max',
      size: heads * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
    });
  }

  #pipelines(mode: Mode): Pipelines {
    return pipelinesFor(this.device, this.#shaders, this.#target.format, mode);
  }

  #bindGroupsFor(pattern: GPUTexture, patternB: GPUTexture | undefined): BindGroups {
    let byB: WeakMap<GPUTexture, BindGroups> | undefined;
    if (patternB) {
      byB = this.#diffBindGroups.get(pattern);
      if (!byB) this.#diffBindGroups.set(pattern, (byB = new WeakMap()));
    }
    let groups = patternB ? byB!.get(patternB) : this.#bindGroups.get(pattern);
    if (!groups) {
      const label = patternB ? `${pattern.label} − ${patternB.label}` : pattern.label;
      groups = heatmapGroups(
        this.device,
        this.#pipelines(patternB ? 'diff' : 'pattern'),
        { render: `heatmap ${label}`, max: `heatmap_max ${label}` },
        this.#uniforms,
        this.#colormap,
        { buffer: this.#headMax },
        pattern,
        patternB,
      );
      if (byB) byB.set(patternB!, groups);
      else this.#bindGroups.set(pattern, groups);
    }
    return groups;
  }

  /** Records and submits one frame; returns at once (nothing is read back or waited for). */
  draw(frame: HeatmapFrame): void {
    if (this.#destroyed) throw new Error('this heatmap renderer was disposed');
    const { device } = this;
    const { pattern, patternB, rows, viewports } = frame;
    const heads = pattern.depthOrArrayLayers;
    for (const v of viewports) {
      if (!Number.isInteger(v.head) || v.head < 0 || v.head >= heads)
        throw new RangeError(`head ${v.head} is not in ${pattern.label} (${heads} heads)`);
    }
    for (const p of patternB ? [pattern, patternB] : [pattern]) {
      if (!Number.isInteger(rows) || rows < 0 || rows > p.height)
        throw new RangeError(`${rows} rows do not fit ${p.label} (capacity ${p.height})`);
    }
    if (patternB && patternB.depthOrArrayLayers !== heads)
      throw new RangeError(
        `cannot compare ${pattern.label} (${heads} heads) with ${patternB.label} (${patternB.depthOrArrayLayers})`,
      );
    const pipelines = this.#pipelines(patternB ? 'diff' : 'pattern');

    // Buffers grow (rarely); bind groups that held the old ones go with them.
    if (viewports.length * uniformStride > this.#uniforms.size || heads * 4 > this.#headMax.size) {
      const n = Math.max(viewports.length, this.#uniforms.size / uniformStride);
      if (n * uniformStride > this.#uniforms.size) {
        this.#uniforms.destroy();
        this.#uniforms = this.#uniformBuffer(n);
      }
      if (heads * 4 > this.#headMax.size) {
        this.#headMax.destroy();
        this.#headMax = this.#headMaxBuffer(heads);
      }
      this.#bindGroups = new WeakMap();
      this.#diffBindGroups = new WeakMap();
    }
    this.#colormapName = writeColormap(device, this.#colormap, this.#colormapName, frame.colormap);

    const target = this.#target.current();
    const data = new ArrayBuffer(Math.max(1, viewports.length) * uniformStride);
    const write = uniformWriter(pipelines.uniforms, data);
    const common = commonUniforms(frame, pattern.format, patternB?.format);
    const drawn = viewports.map((v, i) => {
      // Clipped to the target: setViewport rejects rectangles that leave it.
      const x0 = Math.max(0, Math.round(v.x));
      const y0 = Math.max(0, Math.round(v.y));
      const x1 = Math.min(target.width, Math.round(v.x + v.width));
      const y1 = Math.min(target.height, Math.round(v.y + v.height));
      const c = v.cells ?? { key0: 0, query0: 0, key1: rows, query1: rows };
      // The cells shown stay those of the whole rectangle, even where it is clipped.
      const sx = (c.key1 - c.key0) / v.width;
      const sy = (c.query1 - c.query0) / v.height;
      write(i * uniformStride, {
        ...common,
        rect: [x0, y0, x1 - x0, y1 - y0],
        view: [
          c.key0 + (x0 - v.x) * sx,
          c.query0 + (y0 - v.y) * sy,
          c.key0 + (x1 - v.x) * sx,
          c.query0 + (y1 - v.y) * sy,
        ],
        head: v.head,
      });
      return { i, x0, y0, w: x1 - x0, h: y1 - y0 };
    });
    if (viewports.length === 0) write(0, { ...common, head: 0 });
    device.queue.writeBuffer(this.#uniforms, 0, data);

    const groups = this.#bindGroupsFor(pattern, patternB);
    const encoder = device.createCommandEncoder({ label: 'heatmaps' });
    if (frame.normalization === 'head' && rows > 0 && viewports.length > 0) {
      encoder.clearBuffer(this.#headMax, 0, heads * 4);
      const pass = encoder.beginComputePass({ label: 'heatmap_max' });
      pass.setPipeline(pipelines.max);
      pass.setBindGroup(0, groups.max);
      pass.dispatchWorkgroups(Math.ceil(rows / maxWg), heads, 1);
      pass.end();
    }
    const pass = clearedPass(encoder, 'heatmaps', target, frame.clear ?? panelColor);
    if (rows > 0) drawViewports(pass, pipelines.render, drawn, () => groups.render);
    pass.end();
    device.queue.submit([encoder.finish()]);
  }

  /**
   * The largest shown value (a difference view: the largest |A − B|) of `head` in the latest draw
   * with per-head normalization: 4 bytes read back, for an export's colour bar, never for drawing.
   */
  async headMax(head: number): Promise<number> {
    if (this.#destroyed) throw new Error('this heatmap renderer was disposed');
    const bytes = await readBuffer(this.device, this.#headMax, 4, head * 4);
    return new Float32Array(bytes)[0]!;
  }

  /** Clears the target to the panel colour (nothing to show: no prompt run yet). */
  clear(color: Rgb = panelColor): void {
    if (this.#destroyed) return;
    clearTarget(this.device, this.#target, color, 'heatmaps.clear');
  }

  dispose(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    destroyAll(this.#target, [this.#uniforms, this.#headMax, this.#colormap]);
  }
}
