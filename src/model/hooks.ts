// Activation names, TransformerLens style. Typed records, never parsed back from strings.

export type HookPoint =
  /** The residual stream entering block `layer`: [T, D]. */
  | { readonly kind: 'resid_pre'; readonly layer: number }
  /** The stream after block `layer`'s attention has been added: [T, D]. */
  | { readonly kind: 'resid_mid'; readonly layer: number }
  /** The stream leaving block `layer`: [T, D]. */
  | { readonly kind: 'resid_post'; readonly layer: number }
  /** Block `layer`'s attention pattern after softmax: [head, query_pos, key_pos]. */
  | { readonly kind: 'pattern'; readonly layer: number }
  /** The final LayerNorm's output: [T, D]. */
  | { readonly kind: 'ln_final' };

/** The TransformerLens name of a hook point, e.g. `blocks.3.attn.hook_pattern`. */
export function hookName(p: HookPoint): string {
  switch (p.kind) {
    case 'resid_pre':
    case 'resid_mid':
    case 'resid_post':
      return `blocks.${p.layer}.hook_${p.kind}`;
    case 'pattern':
      return `blocks.${p.layer}.attn.hook_pattern`;
    case 'ln_final':
      return 'ln_final.hook_normalized';
  }
}

/**
 * The residual-stream boundaries in depth order: resid_pre 0, resid_mid 0, resid_pre 1, …,
 * resid_mid L-1, resid_post L-1. 2·L+1 points (the capture CLI's `residual_norms` order).
 */
export function residualBoundaries(nLayer: number): HookPoint[] {
  const points: HookPoint[] = [];
  for (let layer = 0; layer < nLayer; layer++) {
    points.push({ kind: 'resid_pre', layer }, { kind: 'resid_mid', layer });
  }
  points.push({ kind: 'resid_post', layer: nLayer - 1 });
  return points;
}
