// Activation names, TransformerLens style. Typed records, never parsed back from strings: a name
// is looked up among the names of a model's hook points (hookPoints), made by hookName.

export type HookPoint =
  /** The residual stream entering block `layer`: [T, D]. */
  | { readonly kind: 'resid_pre'; readonly layer: number }
  /** The stream after block `layer`'s attention has been added: [T, D]. */
  | { readonly kind: 'resid_mid'; readonly layer: number }
  /** The stream leaving block `layer` (the same values as resid_pre of block layer + 1): [T, D]. */
  | { readonly kind: 'resid_post'; readonly layer: number }
  /** Block `layer`'s attention pattern after softmax: [H, T, T] (head, query, key). */
  | { readonly kind: 'pattern'; readonly layer: number }
  /** Block `layer`'s heads' outputs, pattern · v, before attn.c_proj: [T, H, d_head]. */
  | { readonly kind: 'z'; readonly layer: number }
  /** Block `layer`'s attention output, attn.c_proj of hook_z with its bias: [T, D]. */
  | { readonly kind: 'attn_out'; readonly layer: number }
  /** Block `layer`'s MLP output, mlp.c_proj with its bias: [T, D]. */
  | { readonly kind: 'mlp_out'; readonly layer: number }
  /** The final LayerNorm's output: [T, D]. */
  | { readonly kind: 'ln_final' }
  /** The next-token logits of the last position: [V] (no TransformerLens hook: the output). */
  | { readonly kind: 'logits_last' };

export type HookKind = HookPoint['kind'];
/** The residual-stream hook points. */
export type ResidPoint = Extract<HookPoint, { kind: 'resid_pre' | 'resid_mid' | 'resid_post' }>;
export type PatternPoint = Extract<HookPoint, { kind: 'pattern' }>;

/** The TransformerLens names of the hook points, as types. */
export type PatternHookName = `blocks.${number}.attn.hook_pattern`;
export type HookName =
  | `blocks.${number}.hook_${'resid_pre' | 'resid_mid' | 'resid_post' | 'attn_out' | 'mlp_out'}`
  | PatternHookName
  | `blocks.${number}.attn.hook_z`
  | 'ln_final.hook_normalized'
  | 'logits_last';
/** The hooks captured in buffers (every one but the attention patterns). */
export type BufferHookName = Exclude<HookName, PatternHookName>;

/** The TransformerLens name of a hook point, e.g. `blocks.3.attn.hook_pattern`. */
export function hookName(p: HookPoint): HookName {
  switch (p.kind) {
    case 'resid_pre':
    case 'resid_mid':
    case 'resid_post':
    case 'attn_out':
    case 'mlp_out':
      return `blocks.${p.layer}.hook_${p.kind}`;
    case 'pattern':
      return `blocks.${p.layer}.attn.hook_pattern`;
    case 'z':
      return `blocks.${p.layer}.attn.hook_z`;
    case 'ln_final':
      return 'ln_final.hook_normalized';
    case 'logits_last':
      return 'logits_last';
  }
}

/** Block-level hook kinds in the order the forward reaches them. */
const blockKinds = ['resid_pre', 'pattern', 'z', 'attn_out', 'resid_mid', 'mlp_out', 'resid_post'] as const;

/** Every hook point of a model of `nLayer` blocks, in the order the forward reaches them. */
export function hookPoints(nLayer: number): HookPoint[] {
  const points: HookPoint[] = [];
  for (let layer = 0; layer < nLayer; layer++) {
    for (const kind of blockKinds) points.push({ kind, layer });
  }
  points.push({ kind: 'ln_final' }, { kind: 'logits_last' });
  return points;
}

/**
 * The residual-stream boundaries in depth order: resid_pre 0, resid_mid 0, resid_pre 1, …,
 * resid_mid L-1, resid_post L-1. 2·L+1 points (the capture CLI's `residual_norms` order).
 */
export function residualBoundaries(nLayer: number): ResidPoint[] {
  const points: ResidPoint[] = [];
  for (let layer = 0; layer < nLayer; layer++) {
    points.push({ kind: 'resid_pre', layer }, { kind: 'resid_mid', layer });
  }
  points.push({ kind: 'resid_post', layer: nLayer - 1 });
  return points;
}

/**
 * Index of a residual point in residualBoundaries() order (0 … 2L): resid_post of block l is the
 * boundary resid_pre l+1 stands at. -1 for other hook points.
 */
export function residualIndex(p: HookPoint): number {
  switch (p.kind) {
    case 'resid_pre':
      return 2 * p.layer;
    case 'resid_mid':
      return 2 * p.layer + 1;
    case 'resid_post':
      return 2 * p.layer + 2;
    default:
      return -1;
  }
}
