import { f16ToF32 } from '../model/dtype';
import { captureBytesPerValue, decodeCapture, type CaptureFormat } from './kernels';

// Copies of GPU data to the CPU, for small results, tests and the capture CLI. Never on a render
// path: the studio draws captures where they are.

export async function readBuffer(
  device: GPUDevice,
  source: GPUBuffer,
  bytes = source.size,
  offset = 0,
): Promise<ArrayBuffer> {
  const staging = device.createBuffer({
    label: `${source.label}.readback`,
    size: bytes,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  try {
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(source, offset, staging, 0, bytes);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    return staging.getMappedRange().slice(0);
  } finally {
    staging.destroy();
  }
}

/**
 * One array layer of an attention-capture texture as attention weights (decoded from the capture
 * format): rows × (width·4), i.e. the (capacity, capacity) pattern of one head, keys padded to 4.
 */
export async function readTextureLayer(
  device: GPUDevice,
  texture: GPUTexture,
  layer: number,
): Promise<Float32Array> {
  const format = texture.format as CaptureFormat;
  const valueBytes = captureBytesPerValue[format];
  if (!valueBytes) throw new Error(`readTextureLayer does not handle ${texture.format}`);
  const bytesPerRow = Math.ceil((texture.width * 4 * valueBytes) / 256) * 256;
  const staging = device.createBuffer({
    label: `${texture.label}.readback`,
    size: bytesPerRow * texture.height,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  try {
    const encoder = device.createCommandEncoder();
    encoder.copyTextureToBuffer({ texture, origin: [0, 0, layer] }, { buffer: staging, bytesPerRow }, [
      texture.width,
      texture.height,
      1,
    ]);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    const raw = staging.getMappedRange();
    const perRow = texture.width * 4;
    const out = new Float32Array(perRow * texture.height);
    for (let y = 0; y < texture.height; y++) {
      const at = y * bytesPerRow;
      const row =
        format === 'rgba32float'
          ? new Float32Array(raw, at, perRow)
          : format === 'rgba16float'
            ? Float32Array.from(new Uint16Array(raw, at, perRow), f16ToF32)
            : Float32Array.from(new Uint8Array(raw, at, perRow), (b) => decodeCapture(format, b / 255));
      out.set(row, y * perRow);
    }
    return out;
  } finally {
    staging.destroy();
  }
}
