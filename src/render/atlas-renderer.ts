// The all-heads atlas (layers × heads, like BertViz's model view) drawn straight from the capture
// textures: every layer's blocks.L.attn.hook_pattern is sampled in place, nothing is copied to the
// CPU. One draw records, in one command buffer, a compute pass for each head's max shown weight
// (per-head normalization; shaders/render/heatmap_max.wgsl, one dispatch per layer into that
// layer's slice of an (L, H) buffer) and ONE render pass with one viewport-sized triangle per
// thumbnail (shaders/render/heatmap.wgsl, the head grid's own fragment shader), then submits and returns.
//
// WGSL has no imports: the fragment module is heatmap_common + heatmap_pixel + heatmap, the max
// module heatmap_common + heatmap_max, the vertex stage heatmap_vertex (shared with the heatmaps).
// Pipelines are made once per device and target format; bind groups once per layer's capture
// texture (a run on a grown session has new textures, which get new ones) — never per frame.
// Created and owned by the state layer (src/state/atlas.svelte.ts), never by a component.

import type { ShaderLibrary } from '../gpu/shader-library';
import type { ColormapName } from '../viz/colormaps';
import * as rc from './render-common';
import type {
  HeatmapGroups,
  HeatmapNormalization,
  HeatmapPipelines as Pipelines,
  HeatmapScale,
  RenderTarget,
  Rgb,
  SinkMode,
} from './render-common';

/** One head's square in target pixels (integers). */
export interface AtlasViewport {
  readonly layer: number;
  readonly head: number;
  readonly x: number;
  readonly y: number;
  readonly size: number;
}

export interface AtlasFrame {
  /** blocks.l.attn.hook_pattern for l = 0 … L−1: (ceil(capacity/4), capacity) × H each. */
  readonly patterns: readonly GPUTexture[];
  /** T: the prompt's tokens. */
  readonly rows: number;
  readonly viewports: readonly AtlasViewport[];
  readonly colormap: ColormapName;
  readonly scale: HeatmapScale;
  readonly normalization: HeatmapNormalization;
  readonly sink: SinkMode;
  readonly clear?: Rgb;
  readonly masked?: Rgb;
  /**
   * Names what the textures hold (e.g. the run's number): while it, the textures, T and the sink
   * mode stay the same, the heads' maxima of the last frame are reused and no compute pass runs
   * (a colormap change or a resize redraws only). undefined: computed every frame.
   */
  readonly contentKey?: number | string;
}

const pipelineCache = new WeakMap<GPUDevice, Map<GPUTextureFormat, Pipelines>>();

function pipelinesFor(device: GPUDevice, shaders: ShaderLibrary, format: GPUTextureFormat): Pipelines {
  return rc.perDevice(pipelineCache, device, format, () =>
    rc.heatmapPipelines(device, shaders, format, {
      renderLabel: 'atlas',
      vertexLabel: 'atlas.heatmap_vertex',
      maxLabel: 'atlas.heatmap_max',
      render: ['heatmap_common', 'heatmap_pixel', 'heatmap'],
      max: ['heatmap_common', 'heatmap_max'],
      diff: false,
    }),
  );
}

interface LayerGroups extends HeatmapGroups {
  readonly layer: number;
}

export class AtlasRenderer {
  readonly device: GPUDevice;
  readonly #target: RenderTarget;
  readonly #pipelines: Pipelines;
  readonly #colormap: GPUTexture; // (256, 1) rgba8unorm
  #colormapName: ColormapName | undefined;
  #uniforms: GPUBuffer; // thumbnails × 256 bytes, one HeatmapUniforms each
  #headMax: GPUBuffer; // (L, layerStride / 4) f32 bits: layer l's H maxima at l · layerStride
  #layerStride = 256;
  #groups = new WeakMap<GPUTexture, LayerGroups>();
  /** What head_max holds: the frame it was computed for (see AtlasFrame.contentKey). */
  #maxOf: { key: string; patterns: readonly GPUTexture[] } | undefined;
  #destroyed = false;

  constructor(device: GPUDevice, shaders: ShaderLibrary, target: RenderTarget) {
    this.device = device;
    this.#target = target;
    this.#pipelines = pipelinesFor(device, shaders, target.format); // shader errors surface here
    this.#colormap = rc.colormapTexture(device, 'atlas.colormap');
    this.#uniforms = this.#uniformBuffer(64);
    this.#headMax = this.#headMaxBuffer(1);
  }

  #uniformBuffer(thumbs: number): GPUBuffer {
    return rc.uniformSlots(this.device, 'atlas.uniforms', thumbs);
  }

  #headMaxBuffer(layers: number): GPUBuffer {
    return this.device.createBuffer({
      label: 'atlas.head_max',
      size: layers * this.#layerStride,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
  }

  #groupsFor(pattern: GPUTexture, layer: number): LayerGroups {
    const cached = this.#groups.get(pattern);
    if (cached && cached.layer === layer) return cached;
    const heads = pattern.depthOrArrayLayers;
    const maxSlice = { buffer: this.#headMax, offset: layer * this.#layerStride, size: heads * 4 };
    const groups: LayerGroups = {
      layer,
      ...rc.heatmapGroups(
        this.device,
        this.#pipelines,
        { render: `atlas ${pattern.label}`, max: `atlas.heatmap_max ${pattern.label}` },
        this.#uniforms,
        this.#colormap,
        maxSlice,
        pattern,
      ),
    };
    this.#groups.set(pattern, groups);
    return groups;
  }

  /** Records and submits one frame; returns at once (nothing is read back or waited for). */
  draw(frame: AtlasFrame): void {
    if (this.#destroyed) throw new Error('this atlas renderer was disposed');
    const { device } = this;
    const { patterns, rows, viewports } = frame;
    const layers = patterns.length;
    if (layers === 0) throw new RangeError('the atlas needs at least one layer’s capture');
    const heads = patterns[0]!.depthOrArrayLayers;
    const format = patterns[0]!.format;
    for (const p of patterns) {
      if (p.depthOrArrayLayers !== heads || p.format !== format)
        throw new RangeError(`${p.label} does not match the other layers' captures`);
      if (!Number.isInteger(rows) || rows < 0 || rows > p.height)
        throw new RangeError(`${rows} rows do not fit ${p.label} (capacity ${p.height})`);
    }
    for (const v of viewports) {
      if (!(v.layer >= 0 && v.layer < layers && v.head >= 0 && v.head < heads))
        throw new RangeError(`head L${v.layer}.H${v.head} is not in the atlas (${layers} × ${heads})`);
    }

    // Buffers grow (rarely); bind groups that held the old ones go with them.
    const align = device.limits.minStorageBufferOffsetAlignment;
    const stride = Math.ceil((heads * 4) / align) * align;
    const needUniforms = Math.max(1, viewports.length) * rc.uniformStride;
    if (needUniforms > this.#uniforms.size || stride * layers > this.#headMax.size) {
      if (needUniforms > this.#uniforms.size) {
        this.#uniforms.destroy();
        this.#uniforms = this.#uniformBuffer(
          Math.max(viewports.length, 2 * (this.#uniforms.size / rc.uniformStride)),
        );
      }
      if (stride * layers > this.#headMax.size || stride !== this.#layerStride) {
        this.#headMax.destroy();
        this.#layerStride = stride;
        this.#headMax = this.#headMaxBuffer(layers);
      }
      this.#groups = new WeakMap();
      this.#maxOf = undefined;
    } else if (stride !== this.#layerStride) {
      this.#layerStride = stride;
      this.#groups = new WeakMap();
      this.#maxOf = undefined;
    }
    this.#colormapName = rc.writeColormap(device, this.#colormap, this.#colormapName, frame.colormap);

    const target = this.#target.current();
    const data = new ArrayBuffer(Math.max(1, viewports.length) * rc.uniformStride);
    const write = rc.uniformWriter(this.#pipelines.uniforms, data);
    const common = rc.commonUniforms(frame, format, undefined);
    const drawn = viewports.map((v, i) => {
      // Clipped to the target (setViewport rejects rectangles that leave it); cells stay the whole square's.
      const x0 = Math.max(0, v.x);
      const y0 = Math.max(0, v.y);
      const x1 = Math.min(target.width, v.x + v.size);
      const y1 = Math.min(target.height, v.y + v.size);
      const per = rows / v.size;
      write(i * rc.uniformStride, {
        ...common,
        rect: [x0, y0, x1 - x0, y1 - y0],
        view: [(x0 - v.x) * per, (y0 - v.y) * per, (x1 - v.x) * per, (y1 - v.y) * per],
        head: v.head,
      });
      return { i, layer: v.layer, x0, y0, w: x1 - x0, h: y1 - y0 };
    });
    if (viewports.length === 0) write(0, { ...common, head: 0 });
    device.queue.writeBuffer(this.#uniforms, 0, data);

    const groups = patterns.map((p, l) => this.#groupsFor(p, l));
    const encoder = device.createCommandEncoder({ label: 'atlas' });
    const maxKey =
      frame.contentKey === undefined ? undefined : `${frame.contentKey}|${rows}|${frame.sink}|${heads}`;
    const fresh =
      maxKey !== undefined &&
      this.#maxOf?.key === maxKey &&
      this.#maxOf.patterns.length === layers &&
      this.#maxOf.patterns.every((p, l) => p === patterns[l]);
    if (frame.normalization === 'head' && rows > 0 && viewports.length > 0 && !fresh) {
      this.#maxOf = maxKey === undefined ? undefined : { key: maxKey, patterns: [...patterns] };
      encoder.clearBuffer(this.#headMax, 0, this.#layerStride * layers);
      const pass = encoder.beginComputePass({ label: 'atlas.heatmap_max' });
      pass.setPipeline(this.#pipelines.max);
      for (const g of groups) {
        pass.setBindGroup(0, g.max);
        pass.dispatchWorkgroups(Math.ceil(rows / rc.maxWg), heads, 1);
      }
      pass.end();
    }
    const pass = rc.clearedPass(encoder, 'atlas', target, frame.clear ?? rc.panelColor);
    if (rows > 0) rc.drawViewports(pass, this.#pipelines.render, drawn, (d) => groups[d.layer]!.render);
    pass.end();
    device.queue.submit([encoder.finish()]);
  }

  /** Clears the target to the panel colour (nothing to show yet). */
  clear(color: Rgb = rc.panelColor): void {
    if (this.#destroyed) return;
    rc.clearTarget(this.device, this.#target, color, 'atlas.clear', 'atlas.clear');
  }

  dispose(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    rc.destroyAll(this.#target, [this.#uniforms, this.#headMax, this.#colormap]);
  }
}
