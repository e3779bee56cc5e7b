// The heatmap tests' GPU fixtures (test/heatmap-renderer.test.ts, test/heatmap-diff.test.ts):
// synthetic attention captures uploaded as the engine's capture textures hold them, and an
// offscreen rgba8unorm render target whose every pixel can be read back.
import type { CaptureFormat } from '../../src/gpu/kernels';
import type { RenderTarget } from '../../src/render/heatmap-renderer';

export interface SyntheticPattern {
  readonly H: number;
  /** Capacity: the capture is [H, C, C]. */
  readonly C: number;
  /** Rows t < T are causal softmax-like rows; the rest hold `stale`. */
  readonly T: number;
  readonly seed: number;
  /** What fills the cells no row writes (stale garbage that would dominate any max that read it). */
  readonly stale: number;
  /** Keys after the first weigh rand()^exponent; the first weighs 3·rand() (a heavy sink). */
  readonly exponent: number;
}

/** [H, C, C] weights: causal softmax-like rows for t < T with a heavy first key; `stale` elsewhere. */
export function syntheticPattern(o: SyntheticPattern): Float32Array<ArrayBuffer> {
  const { H, C, T } = o;
  let s = o.seed;
  const rand = () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 31;
  };
  const p = new Float32Array(H * C * C).fill(o.stale);
  for (let h = 0; h < H; h++) {
    for (let t = 0; t < T; t++) {
      const row = Array.from({ length: C }, (_, k) =>
        k > t ? 0 : k === 0 ? 3 * rand() : rand() ** o.exponent,
      );
      const sum = row.reduce((a, b) => a + b, 0);
      row.forEach((v, k) => (p[(h * C + t) * C + k] = v / sum));
    }
  }
  return p;
}

/**
 * `p` ([H, C, C]) as a capture texture of `format`: f32 as is, 8-bit as round(√p·255) (the
 * engine's rgba8unorm encoding). Returns the texture and the weights as it holds them.
 */
export function uploadCapture(
  device: GPUDevice,
  p: Float32Array<ArrayBuffer>,
  H: number,
  C: number,
  format: CaptureFormat,
  label: string,
): { texture: GPUTexture; values: Float32Array } {
  const texture = device.createTexture({
    label,
    size: [C / 4, C, H],
    format,
    usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST,
  });
  if (format === 'rgba32float') {
    device.queue.writeTexture({ texture }, p, { bytesPerRow: C * 4, rowsPerImage: C }, [C / 4, C, H]);
    return { texture, values: p };
  }
  if (format !== 'rgba8unorm') throw new Error(`not used here: ${format}`);
  const bytes = Uint8Array.from(p, (v) => Math.round(Math.sqrt(Math.min(1, v)) * 255));
  device.queue.writeTexture({ texture }, bytes, { bytesPerRow: C, rowsPerImage: C }, [C / 4, C, H]);
  return { texture, values: Float32Array.from(bytes, (b) => (b / 255) ** 2) };
}

/** An offscreen rgba8unorm render target; pixels() reads it back, [height, width, 4] bytes. */
export class TextureTarget implements RenderTarget {
  readonly format = 'rgba8unorm' as const;
  readonly texture: GPUTexture;
  constructor(
    readonly device: GPUDevice,
    readonly width: number,
    readonly height: number,
  ) {
    this.texture = device.createTexture({
      size: [width, height],
      format: this.format,
      usage: GPUTextureUsage.RENDER_ATTACHMENT | GPUTextureUsage.COPY_SRC,
    });
  }
  current = () => this.texture;
  dispose = () => this.texture.destroy();

  async pixels(): Promise<Uint8Array> {
    const { device } = this;
    const bytesPerRow = Math.ceil((this.width * 4) / 256) * 256;
    const staging = device.createBuffer({
      size: bytesPerRow * this.height,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const encoder = device.createCommandEncoder();
    encoder.copyTextureToBuffer({ texture: this.texture }, { buffer: staging, bytesPerRow }, [
      this.width,
      this.height,
    ]);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const raw = new Uint8Array(staging.getMappedRange());
    const out = new Uint8Array(this.width * this.height * 4);
    for (let y = 0; y < this.height; y++)
      out.set(raw.subarray(y * bytesPerRow, y * bytesPerRow + this.width * 4), y * this.width * 4);
    staging.destroy();
    return out;
  }
}
