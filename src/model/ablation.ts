// Ablations, TransformerLens style: what to knock out of a forward pass, and how. Pure data shared
// by the CPU reference (the oracle), the GPU engine and the capture CLI, with one validation that
// names the problem in the user's terms.

import type { Gpt2Config } from './types';

export interface HeadRef {
  readonly layer: number;
  readonly head: number;
}

/**
 * What to remove from a forward pass.
 * - heads: each head's output (`blocks.L.attn.hook_z`, the head's slice of z = pattern·V, before
 *   attn.c_proj) is replaced; c_proj's bias stays.
 * - mlps: each layer's whole MLP output (`blocks.L.hook_mlp_out`, bias included) is replaced.
 * - mode 'zero': by 0. 'mean': at every position by its mean over this prompt's positions (not a
 *   dataset mean), so the component keeps its average contribution and loses what varies per token.
 */
export interface Ablation {
  readonly heads: readonly HeadRef[];
  /** Layers whose MLP output is ablated (default none). */
  readonly mlps?: readonly number[];
  readonly mode: 'zero' | 'mean';
}

/** Throws a clear error for a mode, layer or head outside the model; returns nothing. */
export function checkAblation(c: Gpt2Config, ablation: Ablation): void {
  if (ablation.mode !== 'zero' && ablation.mode !== 'mean') {
    throw new Error(`ablation mode must be 'zero' or 'mean', got '${String(ablation.mode)}'`);
  }
  for (const { layer, head } of ablation.heads) {
    if (!Number.isInteger(layer) || layer < 0 || layer >= c.nLayer) {
      throw new Error(`cannot ablate head ${layer}.${head}: layer ${layer} is not in [0, ${c.nLayer})`);
    }
    if (!Number.isInteger(head) || head < 0 || head >= c.nHead) {
      throw new Error(`cannot ablate head ${layer}.${head}: head ${head} is not in [0, ${c.nHead})`);
    }
  }
  for (const layer of ablation.mlps ?? []) {
    if (!Number.isInteger(layer) || layer < 0 || layer >= c.nLayer) {
      throw new Error(`cannot ablate the MLP of layer ${layer}: layer ${layer} is not in [0, ${c.nLayer})`);
    }
  }
}

/** True when the ablation removes nothing (no heads, no MLPs). */
export function isEmptyAblation(ablation: Ablation | undefined): boolean {
  return !ablation || (ablation.heads.length === 0 && (ablation.mlps?.length ?? 0) === 0);
}

/**
 * Parses a head list as written on a command line or in a text field: `5.5,6.9` (layer.head,
 * comma-separated, spaces allowed). Syntax only; checkAblation checks the ranges.
 */
export function parseHeadList(spec: string): HeadRef[] {
  return splitList(spec).map((item) => {
    const m = /^(\d+)\.(\d+)$/.exec(item);
    if (!m) throw new Error(`"${item}" is not a head: write layer.head, e.g. 5.5 for head 5 of layer 5`);
    return { layer: Number(m[1]), head: Number(m[2]) };
  });
}

/** Parses a layer list such as `0,3`. Syntax only. */
export function parseLayerList(spec: string): number[] {
  return splitList(spec).map((item) => {
    if (!/^\d+$/.test(item)) throw new Error(`"${item}" is not a layer number`);
    return Number(item);
  });
}

function splitList(spec: string): string[] {
  const items = spec.split(',').map((s) => s.trim());
  if (items.some((s) => s === ''))
    throw new Error(`"${spec}" has an empty item: separate items by single commas`);
  return items;
}
