// The logit lens's stage of a run (PromptSession.runForward → lens()): the lens points' rows
// stacked into lens.stack ([points · T, D], copies), ln_f and the unembedding with top-k over them
// (plan.lens, which also writes logits_last, or `logits` where captured), and the top-k's
// readback, decoded.

import type { Gpt2Config } from '../model/types';
import type { Allocation } from './activations';
import type { ForwardPlan } from './plan';
import { encodeSteps } from './steps';

/** The lens's top-k: [points, T, k] token ids and probabilities, best first. */
export interface LensRows {
  readonly ids: Uint32Array;
  readonly probs: Float32Array;
}

/**
 * Encodes and submits the lens over T positions at `nLens` points, in a command buffer of its own,
 * and copies its top-k (k per row) to the readback buffer. Returns the dispatches and the bytes.
 */
export function submitLens(
  device: GPUDevice,
  plan: ForwardPlan,
  acts: Allocation,
  T: number,
  nLens: number,
  config: Pick<Gpt2Config, 'nEmbd' | 'vocabSize'>,
  k: number,
): { dispatches: number; bytes: number } {
  const { nEmbd: D, vocabSize: V } = config;
  const encoder = device.createCommandEncoder({ label: 'logit lens' });
  const rowBytes = D * 4;
  const stack = acts.buffer('lens.stack');
  plan.lensCopies.forEach((from, i) =>
    encoder.copyBufferToBuffer(from, 0, stack, i * T * rowBytes, T * rowBytes),
  );
  const dispatches = encodeSteps(encoder, 'logit lens', plan.lens, nLens * T);
  if (plan.logitsFromLens) {
    // The lens wrote every position's logits ([T, V]): logits_last is the last row.
    encoder.copyBufferToBuffer(acts.buffer('logits'), (T - 1) * V * 4, acts.buffer('logits_last'), 0, V * 4);
  }
  const bytes = nLens * T * k * 8;
  encoder.copyBufferToBuffer(acts.buffer('lens.topk'), 0, acts.buffer('lens.readback'), 0, bytes);
  device.queue.submit([encoder.finish()]);
  return { dispatches, bytes };
}

/** Maps the readback buffer and splits its (id u32, prob f32) pairs. */
export async function readLens(acts: Allocation, bytes: number): Promise<LensRows> {
  const staging = acts.buffer('lens.readback');
  await staging.mapAsync(GPUMapMode.READ, 0, bytes);
  const raw = new Uint32Array(staging.getMappedRange(0, bytes).slice(0));
  staging.unmap();
  const ids = new Uint32Array(raw.length / 2);
  const probs = new Float32Array(raw.length / 2);
  const rawF = new Float32Array(raw.buffer);
  for (let i = 0; i < ids.length; i++) {
    ids[i] = raw[2 * i]!;
    probs[i] = rawF[2 * i + 1]!;
  }
  return { ids, probs };
}
