import { f16ToF32 } from '../model/dtype';

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
 * One array layer of a float texture as f32 values, rows × (width·4) for rgba formats: for an
 * attention capture, the (capacity, capacity) pattern of one head, padded to a multiple of 4 keys.
 */
export async function readTextureLayer(
  device: GPUDevice,
  texture: GPUTexture,
  layer: number,
): Promise<Float32Array> {
  const bytesPerTexel = texture.format === 'rgba32float' ? 16 : texture.format === 'rgba16float' ? 8 : 0;
  if (!bytesPerTexel) throw new Error(`readTextureLayer does not handle ${texture.format}`);
  const bytesPerRow = Math.ceil((texture.width * bytesPerTexel) / 256) * 256;
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
      const row =
        bytesPerTexel === 16
          ? new Float32Array(raw, y * bytesPerRow, perRow)
          : halfRow(new Uint16Array(raw, y * bytesPerRow, perRow));
      out.set(row, y * perRow);
    }
    return out;
  } finally {
    staging.destroy();
  }
}

function halfRow(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = f16ToF32(bits[i]!);
  return out;
}
