// The all-heads atlas (layers × heads, like BertViz's model view) drawn straight from the capture
// textures: every layer's blocks.L.attn.hook_pattern is sampled in place, nothing is copied to the
// CPU. One draw records, in one command buffer, a compute pass for each head's max shown weight
// (per-head normalization; shaders/render/heatmap_max.wgsl, one dispatch per layer into that
// layer's slice of an (L, H) buffer) and ONE render pass with one viewport-sized triangle per
// thumbnail (shaders/render/atlas.wgsl), then submits and returns.
//
// WGSL has no imports: the fragment module is heatmap_common + heatmap_pixel + atlas, the max
// module heatmap_common + heatmap_max, the vertex stage heatmap_vertex (shared with the heatmaps).
// Pipelines are made once per device and target format; bind groups once per layer's capture
// texture (a run on a grown session has new textures, which get new ones) — never per frame.
// Created and owned by the state layer (src/state/atlas.svelte.ts), never by a component.

import type { CaptureFormat } from '../gpu/kernels';
import type { ShaderLibrary } from '../gpu/shader-library';
import { colormapSize, colormapTable, type ColormapName } from '../viz/colormaps';
import { maskedColor, panelColor, type HeatmapNormalization, type HeatmapScale } from './heatmap-renderer';
import type { RenderTarget, Rgb, SinkMode } from './heatmap-renderer';
import './float16-shim';
import { makeShaderDataDefinitions, makeStructuredView, type StructDefinition } from 'webgpu-utils';

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

const uniformStride = 256; // minUniformBufferOffsetAlignment
const maxWg = 64;
const sinkModes: Readonly<Record<SinkMode, number>> = { show: 0, hide: 1, renormalize: 2 };

interface Pipelines {
  readonly uniforms: StructDefinition;
  readonly render: GPURenderPipeline;
  readonly renderLayout: GPUBindGroupLayout;
  readonly max: GPUComputePipeline;
  readonly maxLayout: GPUBindGroupLayout;
}

const pipelineCache = new WeakMap<GPUDevice, Map<GPUTextureFormat, Pipelines>>();

function pipelinesFor(device: GPUDevice, shaders: ShaderLibrary, format: GPUTextureFormat): Pipelines {
  let byFormat = pipelineCache.get(device);
  if (!byFormat) pipelineCache.set(device, (byFormat = new Map()));
  let p = byFormat.get(format);
  if (p) return p;
  const source = (file: string) => {
    const code = shaders[file];
    if (code === undefined) throw new Error(`shader ${file}.wgsl is missing from the shader library`);
    return code;
  };
  const module = (label: string, parts: readonly string[]) =>
    device.createShaderModule({ label, code: parts.map(source).join('\n') });
  const texture = (binding: number, visibility: number, viewDimension: GPUTextureViewDimension) => ({
    binding,
    visibility,
    texture: { sampleType: 'unfilterable-float' as const, viewDimension },
  });
  const fragment = GPUShaderStage.FRAGMENT;
  const compute = GPUShaderStage.COMPUTE;
  const renderLayout = device.createBindGroupLayout({
    label: 'atlas',
    entries: [
      { binding: 0, visibility: fragment, buffer: { type: 'uniform', hasDynamicOffset: true } },
      texture(1, fragment, '2d-array'),
      texture(2, fragment, '2d'),
      { binding: 3, visibility: fragment, buffer: { type: 'read-only-storage' } },
    ],
  });
  const maxLayout = device.createBindGroupLayout({
    label: 'atlas.heatmap_max',
    entries: [
      { binding: 0, visibility: compute, buffer: { type: 'uniform' } },
      texture(1, compute, '2d-array'),
      { binding: 2, visibility: compute, buffer: { type: 'storage' } },
    ],
  });
  p = {
    uniforms: makeShaderDataDefinitions(source('heatmap_common')).structs['HeatmapUniforms']!,
    renderLayout,
    maxLayout,
    render: device.createRenderPipeline({
      label: `atlas:${format}`,
      layout: device.createPipelineLayout({ bindGroupLayouts: [renderLayout] }),
      vertex: { module: module('atlas.heatmap_vertex', ['heatmap_vertex']), entryPoint: 'vs_main' },
      fragment: {
        module: module('atlas', ['heatmap_common', 'heatmap_pixel', 'atlas']),
        entryPoint: 'fs_main',
        targets: [{ format }],
      },
      primitive: { topology: 'triangle-list' },
    }),
    max: device.createComputePipeline({
      label: 'atlas.heatmap_max',
      layout: device.createPipelineLayout({ bindGroupLayouts: [maxLayout] }),
      compute: {
        module: module('atlas.heatmap_max', ['heatmap_common', 'heatmap_max']),
        entryPoint: 'main',
        constants: { WG_X: maxWg },
      },
    }),
  };
  byFormat.set(format, p);
  return p;
}

interface LayerGroups {
  readonly layer: number;
  readonly render: GPUBindGroup;
  readonly max: GPUBindGroup;
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
    this.#colormap = device.createTexture({
      label: 'atlas.colormap',
      size: [colormapSize, 1],
      format: 'rgba8unorm',
      usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST,
    });
    this.#uniforms = this.#uniformBuffer(64);
    this.#headMax = this.#headMaxBuffer(1);
  }

  #uniformBuffer(thumbs: number): GPUBuffer {
    return this.device.createBuffer({
      label: 'atlas.uniforms',
      size: thumbs * uniformStride,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
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
    const { renderLayout, maxLayout, uniforms } = this.#pipelines;
    const view = pattern.createView({ dimension: '2d-array' });
    const heads = pattern.depthOrArrayLayers;
    const maxSlice = { buffer: this.#headMax, offset: layer * this.#layerStride, size: heads * 4 };
    const groups: LayerGroups = {
      layer,
      render: this.device.createBindGroup({
        label: `atlas ${pattern.label}`,
        layout: renderLayout,
        entries: [
          { binding: 0, resource: { buffer: this.#uniforms, size: uniforms.size } },
          { binding: 1, resource: view },
          { binding: 2, resource: this.#colormap.createView() },
          { binding: 3, resource: maxSlice },
        ],
      }),
      max: this.device.createBindGroup({
        label: `atlas.heatmap_max ${pattern.label}`,
        layout: maxLayout,
        entries: [
          { binding: 0, resource: { buffer: this.#uniforms, size: uniforms.size } },
          { binding: 1, resource: view },
          { binding: 2, resource: maxSlice },
        ],
      }),
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
    const needUniforms = Math.max(1, viewports.length) * uniformStride;
    if (needUniforms > this.#uniforms.size || stride * layers > this.#headMax.size) {
      if (needUniforms > this.#uniforms.size) {
        this.#uniforms.destroy();
        this.#uniforms = this.#uniformBuffer(
          Math.max(viewports.length, 2 * (this.#uniforms.size / uniformStride)),
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
    if (this.#colormapName !== frame.colormap) {
      device.queue.writeTexture({ texture: this.#colormap }, colormapTable(frame.colormap), {}, [
        colormapSize,
        1,
      ]);
      this.#colormapName = frame.colormap;
    }

    const target = this.#target.current();
    const masked = frame.masked ?? maskedColor;
    const clear = frame.clear ?? panelColor;
    const data = new ArrayBuffer(Math.max(1, viewports.length) * uniformStride);
    const uniforms = this.#pipelines.uniforms;
    const write = (offset: number, values: Record<string, number | readonly number[]>) =>
      makeStructuredView(uniforms, data, offset).set(values);
    const common = {
      background: [masked[0] / 255, masked[1] / 255, masked[2] / 255, 1],
      rows,
      sqrt_encoded: (format as CaptureFormat) === 'rgba8unorm' ? 1 : 0,
      sqrt_encoded_b: 0,
      sink_mode: sinkModes[frame.sink],
      log_scale: frame.scale === 'log' ? 1 : 0,
      shared_max: frame.normalization === 'shared' ? 1 : 0,
    };
    const drawn = viewports.map((v, i) => {
      // Clipped to the target (setViewport rejects rectangles that leave it); cells stay the whole square's.
      const x0 = Math.max(0, v.x);
      const y0 = Math.max(0, v.y);
      const x1 = Math.min(target.width, v.x + v.size);
      const y1 = Math.min(target.height, v.y + v.size);
      const per = rows / v.size;
      write(i * uniformStride, {
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
        pass.dispatchWorkgroups(Math.ceil(rows / maxWg), heads, 1);
      }
      pass.end();
    }
    const pass = encoder.beginRenderPass({
      label: 'atlas',
      colorAttachments: [
        {
          view: target.createView(),
          clearValue: { r: clear[0] / 255, g: clear[1] / 255, b: clear[2] / 255, a: 1 },
          loadOp: 'clear',
          storeOp: 'store',
        },
      ],
    });
    if (rows > 0) {
      pass.setPipeline(this.#pipelines.render);
      for (const d of drawn) {
        if (d.w <= 0 || d.h <= 0) continue;
        pass.setViewport(d.x0, d.y0, d.w, d.h, 0, 1);
        pass.setScissorRect(d.x0, d.y0, d.w, d.h);
        pass.setBindGroup(0, groups[d.layer]!.render, [d.i * uniformStride]);
        pass.draw(3);
      }
    }
    pass.end();
    device.queue.submit([encoder.finish()]);
  }

  /** Clears the target to the panel colour (nothing to show yet). */
  clear(color: Rgb = panelColor): void {
    if (this.#destroyed) return;
    const encoder = this.device.createCommandEncoder({ label: 'atlas.clear' });
    encoder
      .beginRenderPass({
        label: 'atlas.clear',
        colorAttachments: [
          {
            view: this.#target.current().createView(),
            clearValue: { r: color[0] / 255, g: color[1] / 255, b: color[2] / 255, a: 1 },
            loadOp: 'clear',
            storeOp: 'store',
          },
        ],
      })
      .end();
    this.device.queue.submit([encoder.finish()]);
  }

  dispose(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#uniforms.destroy();
    this.#headMax.destroy();
    this.#colormap.destroy();
    this.#target.dispose();
  }
}
