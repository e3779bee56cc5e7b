// One display name per depth, used by every view (heads, flow, atlas, lens, compare, instruments).
//
// The depth scrubber steps through the layers 0…L−1, 0-based as in TransformerLens. The residual
// stream has 2L+1 boundaries (residualBoundaries() order): the embeddings, then for each layer l
// "Ll · after attention" (blocks.l.hook_resid_mid) and "Ll · after MLP" (blocks.l.hook_resid_post,
// which is the same tensor as blocks.l+1.hook_resid_pre: one boundary, one name). The
// TransformerLens hook names go in tooltips (boundaryHooks).

import { residualBoundaries, residualIndex, type HookPoint } from '../model/hooks';

/** A layer, as the scrubber and every attention view name it: "L3". */
export const layerName = (layer: number): string => `L${layer}`;

/** A head, as the grids, the atlas and the instruments name it: "L3.H5". */
export const headName = (layer: number, head: number): string => `L${layer}.H${head}`;

/** Index of a residual boundary in residualBoundaries() order: 0 … 2L. */
export function boundaryIndex(p: HookPoint): number {
  const index = residualIndex(p);
  if (index < 0) throw new Error(`${p.kind} is not a residual boundary`);
  return index;
}

/** The display name of boundary `index` (0 … 2L): "Embeddings", "L3 · after attention", "L3 · after MLP". */
export function boundaryName(index: number): string {
  if (index === 0) return 'Embeddings';
  const layer = Math.floor((index - 1) / 2);
  return index % 2 === 1 ? `${layerName(layer)} · after attention` : `${layerName(layer)} · after MLP`;
}

/** A short axis label for boundary `index`: "emb", "L3a" (after attention), "L3m" (after MLP). */
export function boundaryShortName(index: number): string {
  if (index === 0) return 'emb';
  const layer = Math.floor((index - 1) / 2);
  return index % 2 === 1 ? `${layerName(layer)}a` : `${layerName(layer)}m`;
}

/**
 * The TransformerLens names of boundary `index`, for tooltips: "blocks.2.hook_resid_post =
 * blocks.3.hook_resid_pre" where two hooks hold the same tensor.
 */
export function boundaryHooks(index: number, nLayer: number): string {
  if (index === 0) return 'hook_embed + hook_pos_embed = blocks.0.hook_resid_pre';
  const layer = Math.floor((index - 1) / 2);
  if (index % 2 === 1) return `blocks.${layer}.hook_resid_mid`;
  return layer + 1 < nLayer
    ? `blocks.${layer}.hook_resid_post = blocks.${layer + 1}.hook_resid_pre`
    : `blocks.${layer}.hook_resid_post (ln_final reads it)`;
}

/** The boundaries of layer `layer`'s block, the ones a residual view highlights for it. */
export function blockBoundaries(layer: number): { pre: number; mid: number; post: number } {
  return { pre: 2 * layer, mid: 2 * layer + 1, post: 2 * layer + 2 };
}

/** Every boundary's display name, in depth order (2L+1 of them). */
export function boundaryNames(nLayer: number): string[] {
  return residualBoundaries(nLayer).map((_, i) => boundaryName(i));
}
