// A session's captures read back to the CPU under TransformerLens's names and shapes (batch
// dimension removed), for the exports: row-major f32, rows [0, T) of the last run. `logits` is
// the last position's ([1, V], from logits_last) or every position's ([T, V], the `logits`
// capture). Patterns are unpacked from their texture, one head at a time. With an MLP ablated,
// its hook_mlp_out is written as TransformerLens's cache holds it (and runWithCache): the
// replacement that flowed on (zero, or the mean over positions of the MLP's output), where the
// engine's capture keeps the output before ablation. Readbacks: never on a render path (the
// studio draws captures where they are).

import { readBuffer, readTextureLayer } from '../gpu/readback';
import type { Ablation } from '../model/ablation';
import type { HookName } from '../model/hooks';
import { ablateColumns } from '../model/reference';
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
  ablation?: Ablation,
): Promise<Float32Array> {
  const c = session.config;
  const mlpOut = /^blocks\.(\d+)\.hook_mlp_out$/.exec(name);
  if (ablation && mlpOut && (ablation.mlps ?? []).includes(Number(mlpOut[1]))) {
    const before = await readHook(device, session, name, T, logitPositions);
    const x = Float64Array.from(before);
    ablateColumns(x, T, c.nEmbd, 0, c.nEmbd, ablation.mode);
    return Float32Array.from(x);
  }
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
