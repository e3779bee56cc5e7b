// A session's captures read back to the CPU under TransformerLens's names and shapes (batch
// dimension removed), for the exports: row-major f32, rows [0, T) of the last run. `logits` is
// the last position's ([1, V], from logits_last) or every position's ([T, V], the `logits`
// capture). Patterns are unpacked from their texture, one head at a time. Readbacks: never on a
// render path (the studio draws captures where they are).

import { readBuffer, readTextureLayer } from '../gpu/readback';
import type { HookName } from '../model/hooks';
import type { PromptSession } from './session';

/**
 * The names a session must capture to read `names` (TransformerLens names, `logits` as
 * `logitPositions` says): the same names, `logits` being logits_last for the last position.
 */
export function sessionHookNames(names: readonly string[], logitPositions: 'last' | 'all'): HookName[] {
  return names.map((n) => (n === 'logits' && logitPositions === 'last' ? 'logits_last' : n) as HookName);
}

/** Reads hook `name` of `session`'s last run of T tokens, in its TransformerLens shape. */
export async function readHook(
  device: GPUDevice,
  session: PromptSession,
  name: string,
  T: number,
  logitPositions: 'last' | 'all',
): Promise<Float32Array> {
  const c = session.config;
  const [hook] = sessionHookNames([name], logitPositions);
  if (hook!.endsWith('.attn.hook_pattern')) {
    const texture = session.capture(hook as `blocks.${number}.attn.hook_pattern`);
    const out = new Float32Array(c.nHead * T * T);
    const stride = texture.width * 4;
    for (let h = 0; h < c.nHead; h++) {
      const layer = await readTextureLayer(device, texture, h);
      for (let q = 0; q < T; q++) out.set(layer.subarray(q * stride, q * stride + T), (h * T + q) * T);
    }
    return out;
  }
  const buffer = session.capture(hook as Exclude<HookName, `blocks.${number}.attn.hook_pattern`>);
  const n = valuesOf(hook!, c, T);
  return new Float32Array(await readBuffer(device, buffer, n * 4));
}

/** Values of a buffer capture for T tokens. */
function valuesOf(
  name: HookName,
  c: { nEmbd: number; nHead: number; nInner: number; vocabSize: number },
  T: number,
): number {
  if (name === 'logits_last') return c.vocabSize;
  if (name === 'logits') return T * c.vocabSize;
  if (name.endsWith('hook_scale')) return T;
  if (name.endsWith('hook_attn_scores')) return c.nHead * T * T;
  if (name.endsWith('mlp.hook_pre') || name.endsWith('mlp.hook_post')) return T * c.nInner;
  return T * c.nEmbd; // [T, D], and [T, H, d_head] (H · d_head = D)
}
