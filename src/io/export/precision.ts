// Exports are f32-exact: what the studio keeps at reduced precision to fit memory has to be re-run
// at f32 before it is written. This says, for each hook asked for, whether the studio's live
// captures can be written as they are or which f32 re-run it needs, and why.
//
// What the engine holds today (src/engine/session.ts, src/gpu/kernels.ts):
//  - attention patterns in textures of the session's capture format: rgba32float (exact),
//    rgba16float (f16: 11 significant bits) or rgba8unorm (√p in 256 levels);
//  - the residual stream (every resid_pre / resid_mid, the final resid_post) in f32 buffers;
//  - logits of the last position only, f32;
//  - weights in f32, or in f16 where the adapter has shader-f16 ('auto'); activations and sums are
//    f32 either way, so f16 weights change nothing when the checkpoint itself is F16, and every
//    activation when it is F32 or BF16 (the weights are rounded to f16 on upload).

import { hookParts, type HookName } from '../../model/hook-names';

export interface StudioPrecision {
  /** The attention captures' texel format. */
  readonly captureFormat: 'rgba32float' | 'rgba16float' | 'rgba8unorm';
  /** The weights' format on the GPU. */
  readonly weightFormat: 'f32' | 'f16';
  /** The checkpoint's dtype (of most of its bytes). */
  readonly checkpointDType: 'F32' | 'F16' | 'BF16';
  /** The logits the session holds: the last position's only (today), or every position's. */
  readonly logits: 'last' | 'all';
}

export type HookSource =
  /** Written from the live capture as it is. */
  | { readonly name: HookName; readonly rerun: false }
  /** Needs a forward pass at f32 that captures it; `why` in the user's words. */
  | { readonly name: HookName; readonly rerun: true; readonly why: string };

/** What the session keeps on every run (at its precision): patterns, the residual stream, the last logits. */
const heldLive: ReadonlySet<string> = new Set([
  'attn.hook_pattern',
  'hook_resid_pre',
  'hook_resid_mid',
  'hook_resid_post',
  'logits',
]);

/**
 * For each hook: from the live captures, or re-run at f32. `logits` asks for the last position's or
 * every position's; resid_post is held live for the last layer only (`lastLayer`).
 */
export function hookSources(
  names: readonly HookName[],
  p: StudioPrecision,
  lastLayer: number,
  logits: 'last' | 'all',
): HookSource[] {
  const roundedWeights = p.weightFormat === 'f16' && p.checkpointDType !== 'F16';
  return names.map((name): HookSource => {
    if (roundedWeights) {
      return {
        name,
        rerun: true,
        why: `the weights are f16 on the GPU but ${p.checkpointDType} in the checkpoint`,
      };
    }
    const parts = hookParts(name, lastLayer + 1);
    if (!parts) throw new RangeError(`unknown hook "${name}" for a model with ${lastLayer + 1} layers`);
    if (!heldLive.has(parts.hook)) return { name, rerun: true, why: 'not captured by the studio' };
    if (parts.hook === 'attn.hook_pattern' && p.captureFormat !== 'rgba32float') {
      const kept = p.captureFormat === 'rgba16float' ? 'f16' : '8-bit √p';
      return { name, rerun: true, why: `attention patterns are kept as ${kept} to fit memory` };
    }
    if (parts.hook === 'hook_resid_post' && parts.layer !== lastLayer) {
      // resid_post L is resid_pre L+1, held live.
      return { name, rerun: false };
    }
    if (parts.hook === 'logits' && logits === 'all' && p.logits === 'last') {
      return { name, rerun: true, why: 'the studio keeps the last position’s logits only' };
    }
    return { name, rerun: false };
  });
}

/** The hooks that need an f32 re-run, for a message such as "re-running 12 hooks at f32 (…)". */
export function rerunNames(sources: readonly HookSource[]): HookName[] {
  return sources.filter((s) => s.rerun).map((s) => s.name);
}
