// A few entries of a session's next-token logits (capture('logits_last'), [V] f32), read back
// for the ablation panel's logit difference: one copy of 4 bytes per id into one staging buffer,
// one submission, one map — never the whole vocabulary.

import type { PromptSession } from '../../engine/session';

/** logitsLast[ids[i]] for each i, from the session's last run. */
export async function readLogits(
  device: GPUDevice,
  session: PromptSession,
  ids: readonly number[],
): Promise<Float32Array> {
  const source = session.capture('logits_last');
  const V = source.size / 4;
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= V)
      throw new RangeError(`token id ${id} is outside the vocabulary (0…${V - 1})`);
  }
  if (ids.length === 0) return new Float32Array(0);
  const staging = device.createBuffer({
    label: 'logits_last.entries.readback',
    size: ids.length * 4,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  try {
    const encoder = device.createCommandEncoder({ label: 'read logits' });
    ids.forEach((id, i) => encoder.copyBufferToBuffer(source, id * 4, staging, i * 4, 4));
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ);
    return new Float32Array(staging.getMappedRange().slice(0));
  } finally {
    staging.destroy();
  }
}
