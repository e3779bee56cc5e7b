// The residual-stream flow view drawn on the GPU (shaders/render/flow.wgsl): one render pass over
// the whole target, per pixel from the run's residual stats (the stats kernel's (L, T, 8) f32
// buffer, copied GPU-to-GPU into this renderer's own when a run's stats arrive: the next run may
// overwrite the kernel's before its numbers reach the view) and the logit lens's top-1
// probabilities ((2L+1, T) f32, written once per run from the lens top-k the run already read
// back). A frame writes the uniforms (camera, level, selection: webgpu-utils' view of the WGSL
// struct) and records one pass: nothing is read back, ever.
//
// Created and owned by the state layer (src/state/flow-canvas.svelte.ts), never by a component.

import './float16-shim';
import { makeShaderDataDefinitions, makeStructuredView, type StructuredView } from 'webgpu-utils';
import type { ShaderLibrary } from '../gpu/shader-library';
import { colormapSize } from '../viz/colormaps';
import { flowCosTable, flowNormTable, flowRows, flowStyle } from '../viz/flow-layout';
import {
  clearedPass,
  destroyAll,
  panelColor,
  perDevice,
  shaderModule,
  shaderSource,
  viewportPipeline,
} from './render-common';
import type { RenderTarget, Rgb } from './render-common';

const statsStride = 8; // f32 per (layer, position): residualStatsStride

/** One run's numbers, as the renderer takes them (set once per run). */
export interface FlowData {
  readonly nLayer: number;
  readonly T: number;
  /** (nLayer, T, 8) f32 residual stats on this renderer's device (src/instruments/residual-stats.ts). */
  readonly stats: GPUBuffer;
  /** (2L+1, T) the lens's top-1 probability at each boundary and position; −1 where not computed. */
  readonly lensTop: Float32Array<ArrayBuffer>;
  readonly maxNorm: number;
  readonly maxAdd: number;
}

/** What one frame shows: plain numbers, cheap to change at display rate. */
export interface FlowFrameView {
  /** Clip space → world (Camera2D.clipToWorld()). */
  readonly clipToWorld: Float32Array;
  /** Framebuffer pixels per world unit (column, row). */
  readonly cellPx: readonly [number, number];
  /** Boundaries the stream has reached (animated), 0 … 2L. */
  readonly level: number;
  /** The selected block; −1: none. */
  readonly layer: number;
  readonly cursor?: { readonly boundary: number; readonly position: number };
}

/** The selected block's band, the cursor and the lens tint, as bytes (app.css: --accent). */
export const flowBandColor: Rgb = [0x7c, 0xc4, 0xff];
export const flowAccentColor: Rgb = [0xff, 0xd4, 0x79];
export const flowLensColor: Rgb = [0x7c, 0xc4, 0xff];

interface Pipeline {
  readonly pipeline: GPURenderPipeline;
  readonly layout: GPUBindGroupLayout;
  readonly uniforms: StructuredView;
}
const pipelines = new WeakMap<GPUDevice, Map<GPUTextureFormat, Pipeline>>();

function pipelineFor(device: GPUDevice, shaders: ShaderLibrary, format: GPUTextureFormat): Pipeline {
  return perDevice(pipelines, device, format, () => {
    const fragment = GPUShaderStage.FRAGMENT;
    const layout = device.createBindGroupLayout({
      label: 'flow',
      entries: [
        { binding: 0, visibility: fragment, buffer: { type: 'uniform' } },
        { binding: 1, visibility: fragment, buffer: { type: 'read-only-storage' } },
        { binding: 2, visibility: fragment, buffer: { type: 'read-only-storage' } },
        { binding: 3, visibility: fragment, texture: { sampleType: 'unfilterable-float' } },
      ],
    });
    const defs = makeShaderDataDefinitions(shaderSource(shaders, 'flow'));
    const module = shaderModule(device, shaders, 'flow', ['flow']);
    return {
      layout,
      uniforms: makeStructuredView(defs.uniforms['u']!),
      pipeline: viewportPipeline(device, shaders, `flow:${format}`, layout, 'heatmap_vertex', module, format),
    };
  });
}

const rgba = (c: Rgb, a = 1) => [c[0] / 255, c[1] / 255, c[2] / 255, a];

export class FlowRenderer {
  readonly device: GPUDevice;
  readonly #target: RenderTarget;
  readonly #pipeline: Pipeline;
  readonly #uniforms: GPUBuffer;
  readonly #colormaps: GPUTexture; // (256, 2) rgba8unorm
  #stats: GPUBuffer | undefined; // (L, T, 8) f32
  #lens: GPUBuffer | undefined; // (2L+1, T) f32
  #group: GPUBindGroup | undefined;
  #data: Omit<FlowData, 'stats' | 'lensTop'> | undefined;
  #destroyed = false;

  constructor(device: GPUDevice, shaders: ShaderLibrary, target: RenderTarget) {
    this.device = device;
    this.#target = target;
    this.#pipeline = pipelineFor(device, shaders, target.format);
    this.#uniforms = device.createBuffer({
      label: 'flow.uniforms',
      size: this.#pipeline.uniforms.arrayBuffer.byteLength,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
    this.#colormaps = device.createTexture({
      label: 'flow.colormaps',
      size: [colormapSize, 2],
      format: 'rgba8unorm',
      usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST,
    });
    const tables = new Uint8Array(colormapSize * 4 * 2);
    tables.set(flowNormTable(), 0);
    tables.set(flowCosTable(), colormapSize * 4);
    device.queue.writeTexture({ texture: this.#colormaps }, tables, { bytesPerRow: colormapSize * 4 }, [
      colormapSize,
      2,
    ]);
  }

  /** `held` when it holds `bytes`, else a new storage buffer (and `held` destroyed). */
  #storage(held: GPUBuffer | undefined, bytes: number, label: string): GPUBuffer {
    if (held && held.size >= bytes) return held;
    held?.destroy();
    return this.device.createBuffer({
      label,
      size: bytes,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
  }

  /** Takes one run's numbers: a GPU-to-GPU copy of its stats and a write of its lens tints. */
  setData(data: FlowData | undefined): void {
    if (this.#destroyed) return;
    if (!data || data.T === 0) {
      this.#data = undefined;
      return;
    }
    const { nLayer: L, T } = data;
    const statsBytes = L * T * statsStride * 4;
    const lensBytes = flowRows(L) * T * 4;
    if (data.lensTop.length !== flowRows(L) * T)
      throw new RangeError(`lens tints: ${data.lensTop.length} values for ${flowRows(L)} × ${T} cells`);
    if (data.stats.size < statsBytes)
      throw new RangeError(
        `${data.stats.label} holds ${data.stats.size} bytes, (L, T, 8) needs ${statsBytes}`,
      );
    const stats = this.#storage(this.#stats, statsBytes, 'flow.residual_stats');
    const lens = this.#storage(this.#lens, lensBytes, 'flow.lens_top');
    if (stats !== this.#stats || lens !== this.#lens) this.#group = undefined;
    this.#stats = stats;
    this.#lens = lens;
    const encoder = this.device.createCommandEncoder({ label: 'flow.data' });
    encoder.copyBufferToBuffer(data.stats, 0, this.#stats, 0, statsBytes);
    this.device.queue.writeBuffer(this.#lens, 0, data.lensTop);
    this.device.queue.submit([encoder.finish()]);
    this.#group ??= this.device.createBindGroup({
      label: 'flow',
      layout: this.#pipeline.layout,
      entries: [
        { binding: 0, resource: { buffer: this.#uniforms } },
        { binding: 1, resource: { buffer: this.#stats } },
        { binding: 2, resource: { buffer: this.#lens } },
        { binding: 3, resource: this.#colormaps.createView() },
      ],
    });
    this.#data = { nLayer: L, T, maxNorm: data.maxNorm, maxAdd: data.maxAdd };
  }

  /** Records and submits one frame: a uniform write and one render pass. */
  draw(view: FlowFrameView): void {
    if (this.#destroyed) throw new Error('this flow renderer was disposed');
    const target = this.#target.current();
    const data = this.#data;
    const encoder = this.device.createCommandEncoder({ label: 'flow' });
    const pass = clearedPass(encoder, 'flow', target, panelColor);
    if (data && this.#group) {
      const u = this.#pipeline.uniforms;
      u.set({
        clip_to_world: view.clipToWorld,
        target_size: [target.width, target.height],
        cell_px: view.cellPx,
        background: rgba(panelColor),
        band: rgba(flowBandColor, 0.11),
        accent: rgba(flowAccentColor),
        lens_color: rgba(flowLensColor, flowStyle.lensTint),
        T: data.T,
        L: data.nLayer,
        layer: view.layer,
        level: view.level,
        max_norm: data.maxNorm,
        max_add: data.maxAdd,
        faint: flowStyle.faint,
        detail_px: flowStyle.detailPx,
        cursor: view.cursor ? [view.cursor.boundary, view.cursor.position] : [-1, -1],
        ribbon_half: flowStyle.ribbonHalf,
        bar_gap: flowStyle.barGap,
        bar_max: flowStyle.barMax,
        bar_low: flowStyle.barLow,
        bar_high: flowStyle.barHigh,
        compact_split: flowStyle.compactSplit,
      });
      this.device.queue.writeBuffer(this.#uniforms, 0, u.arrayBuffer);
      pass.setPipeline(this.#pipeline.pipeline);
      pass.setBindGroup(0, this.#group);
      pass.draw(3);
    }
    pass.end();
    this.device.queue.submit([encoder.finish()]);
  }

  dispose(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    destroyAll(this.#target, [this.#uniforms, this.#colormaps, this.#stats, this.#lens]);
  }
}
