// One token's attention row and column in every head of a layer, for the text view: a small
// kernel (shaders/instruments/token_attention.wgsl) gathers them from the layer's capture texture
// into a (2, H, T) f32 buffer, which is read back — 2·H·T·4 bytes (200 KB for GPT-2 XL at
// T = 1024), once per token pointed at, never while drawing.

import type { CaptureFormat } from '../gpu/kernels';
import type { ShaderLibrary } from '../gpu/shader-library';

const wg = 64;

export interface TokenAttentionRead {
  /** Per head: p[token, s] for s = 0 … T−1 (0 past the token). */
  readonly row: Float32Array[];
  /** Per head: p[t, token] for t = 0 … T−1 (0 before the token). */
  readonly column: Float32Array[];
}

export class TokenAttentionKernel {
  readonly device: GPUDevice;
  readonly #pipeline: GPUComputePipeline;
  readonly #layout: GPUBindGroupLayout;
  readonly #uniforms: GPUBuffer; // TokenUniforms: 4 u32
  #out: GPUBuffer | undefined; // (2, H, T) f32
  #staging: GPUBuffer | undefined;
  #disposed = false;

  constructor(device: GPUDevice, shaders: ShaderLibrary) {
    this.device = device;
    const code = shaders['token_attention'];
    if (code === undefined) throw new Error('shader token_attention.wgsl is missing from the shader library');
    this.#layout = device.createBindGroupLayout({
      label: 'token_attention',
      entries: [
        { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } },
        {
          binding: 1,
          visibility: GPUShaderStage.COMPUTE,
          texture: { sampleType: 'unfilterable-float', viewDimension: '2d-array' },
        },
        { binding: 2, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'storage' } },
      ],
    });
    this.#pipeline = device.createComputePipeline({
      label: 'token_attention',
      layout: device.createPipelineLayout({ bindGroupLayouts: [this.#layout] }),
      compute: {
        module: device.createShaderModule({ label: 'token_attention', code }),
        entryPoint: 'main',
        constants: { WG_X: wg },
      },
    });
    this.#uniforms = device.createBuffer({
      label: 'token_attention.uniforms',
      size: 16,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
    });
  }

  /** Row and column `token` of every head of `pattern` (a layer's capture) over T = `rows`. */
  async read(pattern: GPUTexture, token: number, rows: number): Promise<TokenAttentionRead> {
    if (this.#disposed) throw new Error('this token-attention kernel was disposed');
    if (!Number.isInteger(rows) || rows < 1 || rows > pattern.height)
      throw new RangeError(`${rows} rows do not fit ${pattern.label} (capacity ${pattern.height})`);
    if (!Number.isInteger(token) || token < 0 || token >= rows)
      throw new RangeError(`token ${token} is not in the prompt's ${rows}`);
    const { device } = this;
    const H = pattern.depthOrArrayLayers;
    const bytes = 2 * H * rows * 4;
    if (!this.#out || this.#out.size < bytes) {
      this.#out?.destroy();
      this.#staging?.destroy();
      const size = Math.max(bytes, 2 * (this.#out?.size ?? 0));
      this.#out = device.createBuffer({
        label: 'token_attention.out',
        size,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
      });
      this.#staging = device.createBuffer({
        label: 'token_attention.readback',
        size,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
    }
    const out = this.#out;
    const staging = this.#staging!;
    const sqrt = (pattern.format as CaptureFormat) === 'rgba8unorm' ? 1 : 0;
    device.queue.writeBuffer(this.#uniforms, 0, new Uint32Array([token, rows, H, sqrt]));
    const group = device.createBindGroup({
      label: `token_attention ${pattern.label}`,
      layout: this.#layout,
      entries: [
        { binding: 0, resource: { buffer: this.#uniforms } },
        { binding: 1, resource: pattern.createView({ dimension: '2d-array' }) },
        { binding: 2, resource: { buffer: out, size: bytes } },
      ],
    });
    const encoder = device.createCommandEncoder({ label: 'token_attention' });
    const pass = encoder.beginComputePass({ label: 'token_attention' });
    pass.setPipeline(this.#pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(Math.ceil(rows / wg), H, 1);
    pass.end();
    encoder.copyBufferToBuffer(out, 0, staging, 0, bytes);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ, 0, bytes);
    try {
      const all = new Float32Array(staging.getMappedRange(0, bytes).slice(0));
      const part = (i: number) => all.slice(i * rows, (i + 1) * rows);
      return {
        row: Array.from({ length: H }, (_, h) => part(h)),
        column: Array.from({ length: H }, (_, h) => part(H + h)),
      };
    } finally {
      staging.unmap();
    }
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#uniforms.destroy();
    this.#out?.destroy();
    this.#staging?.destroy();
  }
}
