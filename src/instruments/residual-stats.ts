// The residual stream's summary for the flow view: per block and position, the stream's norm and
// what attention and the MLP add to it (norms, and cosines with the stream they read), computed
// on the GPU from a session's residual captures (shaders/instruments/residual_stats.wgsl) and read back as one
// small [L, T, 8] f32 array, together with the stream's last row at every depth (for comparing
// two prompts' streams layer by layer): a few KB, one readback per run. The flow view draws from
// the GPU copy of the same numbers (ResidualStats.buffer).

import { residualBoundaries, type ResidPoint } from '../model/hooks';
import type { Gpt2Config } from '../model/types';
import type { ShaderLibrary } from '../gpu/shader-library';
import type { PromptSession } from '../engine/session';

/** Floats per (layer, position) in the kernel's output. */
export const residualStatsStride = 8;

/** Per (layer, position): see shaders/instruments/residual_stats.wgsl. */
export interface ResidualStatsRow {
  /** ‖blocks.l.hook_resid_pre‖: the stream block l reads. */
  readonly preNorm: number;
  /** ‖resid_mid − resid_pre‖: what attention adds. */
  readonly attnNorm: number;
  /** ‖resid_post − resid_mid‖: what the MLP adds. */
  readonly mlpNorm: number;
  /** cos(attention's addition, resid_pre). */
  readonly attnCos: number;
  /** cos(the MLP's addition, resid_mid). */
  readonly mlpCos: number;
  readonly midNorm: number;
  /** ‖the stream leaving block l‖ (resid_pre of l+1, or the final resid_post). */
  readonly postNorm: number;
}

export interface ResidualStats {
  readonly nLayer: number;
  readonly T: number;
  /** [nLayer, T, residualStatsStride] f32, in the kernel's order. */
  readonly data: Float32Array;
  /**
   * (nLayer+1, D) f32: the stream at the last position at every lens depth — resid_pre 0 … L−1
   * and the final resid_post.
   */
  readonly lastRows: Float32Array;
  /**
   * The kernel's (nLayer, ≥T, 8) f32 output on the GPU, holding `data` until the kernel's next
   * compute(): the flow view copies it GPU-to-GPU to draw from (src/render/flow-renderer.ts).
   */
  readonly buffer?: GPUBuffer;
}

export function residualStatsAt(stats: ResidualStats, layer: number, position: number): ResidualStatsRow {
  if (layer < 0 || layer >= stats.nLayer || position < 0 || position >= stats.T)
    throw new RangeError(`no stats for layer ${layer}, position ${position} (${stats.nLayer} × ${stats.T})`);
  const o = (layer * stats.T + position) * residualStatsStride;
  const d = stats.data;
  return {
    preNorm: d[o]!,
    attnNorm: d[o + 1]!,
    mlpNorm: d[o + 2]!,
    attnCos: d[o + 3]!,
    mlpCos: d[o + 4]!,
    midNorm: d[o + 5]!,
    postNorm: d[o + 6]!,
  };
}

const wg = 64;
const uniformStride = 256; // minUniformBufferOffsetAlignment

interface Pipeline {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}
const pipelines = new WeakMap<GPUDevice, Map<number, Pipeline>>();

function pipelineFor(device: GPUDevice, shaders: ShaderLibrary, D: number): Pipeline {
  let byD = pipelines.get(device);
  if (!byD) pipelines.set(device, (byD = new Map()));
  let p = byD.get(D);
  if (!p) {
    const code = shaders['residual_stats'];
    if (code === undefined) throw new Error('shader residual_stats.wgsl is missing from the shader library');
    const compute = GPUShaderStage.COMPUTE;
    const read = { type: 'read-only-storage' } as const;
    const layout = device.createBindGroupLayout({
      label: 'residual_stats',
      entries: [
        { binding: 0, visibility: compute, buffer: { type: 'uniform' } },
        { binding: 1, visibility: compute, buffer: read },
        { binding: 2, visibility: compute, buffer: read },
        { binding: 3, visibility: compute, buffer: read },
        { binding: 4, visibility: compute, buffer: { type: 'storage' } },
      ],
    });
    const pipeline = device.createComputePipeline({
      label: 'residual_stats',
      layout: device.createPipelineLayout({ bindGroupLayouts: [layout] }),
      compute: {
        module: device.createShaderModule({ label: 'residual_stats', code }),
        entryPoint: 'main',
        constants: { D, WG_X: wg },
      },
    });
    byD.set(D, (p = { pipeline, layout }));
  }
  return p;
}

/** The (pre, mid, post) boundaries block l reads and writes. */
function blockPoints(L: number, l: number): [ResidPoint, ResidPoint, ResidPoint] {
  return [
    { kind: 'resid_pre', layer: l },
    { kind: 'resid_mid', layer: l },
    l + 1 < L ? { kind: 'resid_pre', layer: l + 1 } : { kind: 'resid_post', layer: L - 1 },
  ];
}

/**
 * Computes residual stats for the sessions of one model. Bind groups are made once per set of
 * residual buffers (a session that grows its capacity gets new buffers, and new bind groups).
 */
export class ResidualStatsKernel {
  readonly #device: GPUDevice;
  readonly #config: Gpt2Config;
  readonly #pipeline: Pipeline;
  readonly #params: GPUBuffer; // L × 256 bytes: vec4u (T, layer) per block
  #out: GPUBuffer | undefined; // [L, capacity, 8] f32
  #groups = new WeakMap<GPUBuffer, { out: GPUBuffer; groups: GPUBindGroup[] }>();
  #destroyed = false;

  constructor(device: GPUDevice, shaders: ShaderLibrary, config: Gpt2Config) {
    this.#device = device;
    this.#config = config;
    this.#pipeline = pipelineFor(device, shaders, config.nEmbd);
    this.#params = device.createBuffer({
      label: 'residual_stats.params',
      size: config.nLayer * uniformStride,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
  }

  #bindGroups(session: PromptSession): { out: GPUBuffer; groups: GPUBindGroup[] } {
    const L = this.#config.nLayer;
    const key = session.capture({ kind: 'resid_pre', layer: 0 });
    const bytes = L * session.capacity * residualStatsStride * 4;
    let cached = this.#groups.get(key);
    if (cached && cached.out.size >= bytes && cached.out === this.#out) return cached;
    if (!this.#out || this.#out.size < bytes) {
      this.#out?.destroy();
      this.#out = this.#device.createBuffer({
        label: 'residual_stats',
        size: bytes,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
      });
    }
    const out = this.#out;
    const groups = Array.from({ length: L }, (_, l) =>
      this.#device.createBindGroup({
        label: `blocks.${l}.residual_stats`,
        layout: this.#pipeline.layout,
        entries: [
          { binding: 0, resource: { buffer: this.#params, offset: l * uniformStride, size: 16 } },
          ...blockPoints(L, l).map((p, i) => ({ binding: i + 1, resource: { buffer: session.capture(p) } })),
          { binding: 4, resource: { buffer: out } },
        ],
      }),
    );
    cached = { out, groups };
    this.#groups.set(key, cached);
    return cached;
  }

  /**
   * Stats of the session's last run over its first T positions, and its stream rows at position
   * T−1: L dispatches, L+1 row copies, one submission and one readback of L·T·32 + (L+1)·D·4
   * bytes. Call after the run has resolved and before the next one starts.
   */
  async compute(session: PromptSession, T: number): Promise<ResidualStats> {
    if (this.#destroyed) throw new Error('this residual-stats kernel was destroyed');
    const { nLayer: L, nEmbd: D } = this.#config;
    if (!Number.isInteger(T) || T < 1 || T > session.capacity)
      throw new RangeError(`residual stats over ${T} positions: the session holds 1…${session.capacity}`);
    const device = this.#device;
    const params = new Uint32Array((L * uniformStride) / 4);
    for (let l = 0; l < L; l++) params.set([T, l], (l * uniformStride) / 4);
    device.queue.writeBuffer(this.#params, 0, params);
    const { out, groups } = this.#bindGroups(session);
    const statsBytes = L * T * residualStatsStride * 4;
    const rowBytes = D * 4;
    const depths = residualBoundaries(L).filter((p) => p.kind !== 'resid_mid');
    const staging = device.createBuffer({
      label: 'residual_stats.readback',
      size: statsBytes + depths.length * rowBytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    try {
      const encoder = device.createCommandEncoder({ label: 'residual_stats' });
      const pass = encoder.beginComputePass({ label: 'residual_stats' });
      pass.setPipeline(this.#pipeline.pipeline);
      for (const group of groups) {
        pass.setBindGroup(0, group);
        pass.dispatchWorkgroups(Math.ceil(T / wg), 1, 1);
      }
      pass.end();
      encoder.copyBufferToBuffer(out, 0, staging, 0, statsBytes);
      depths.forEach((p, i) =>
        encoder.copyBufferToBuffer(
          session.capture(p),
          (T - 1) * rowBytes,
          staging,
          statsBytes + i * rowBytes,
          rowBytes,
        ),
      );
      device.queue.submit([encoder.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const raw = staging.getMappedRange();
      return {
        nLayer: L,
        T,
        data: new Float32Array(raw.slice(0, statsBytes)),
        lastRows: new Float32Array(raw.slice(statsBytes)),
        buffer: out,
      };
    } finally {
      staging.destroy();
    }
  }

  destroy(): void {
    this.#destroyed = true;
    this.#params.destroy();
    this.#out?.destroy();
    this.#out = undefined;
  }
}

/** Row-by-row cosine similarity of two [rows, D] arrays (0 where a row is 0). */
export function rowCosines(a: Float32Array, b: Float32Array, D: number): number[] {
  if (a.length !== b.length || a.length % D !== 0)
    throw new RangeError(`rowCosines: ${a.length} and ${b.length} values are not the same (rows, ${D})`);
  return Array.from({ length: a.length / D }, (_, r) => {
    let ab = 0;
    let aa = 0;
    let bb = 0;
    for (let d = r * D; d < (r + 1) * D; d++) {
      ab += a[d]! * b[d]!;
      aa += a[d]! ** 2;
      bb += b[d]! ** 2;
    }
    const n = Math.sqrt(aa * bb);
    return n > 0 ? ab / n : 0;
  });
}
