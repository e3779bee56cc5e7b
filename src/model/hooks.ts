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
  /** LayerNorm ln_1 / ln_2 of block `layer`: √(var + eps) per position [T, 1], or its output [T, D]. */
  | { readonly kind: 'ln1_scale' | 'ln1_normalized' | 'ln2_scale' | 'ln2_normalized'; readonly layer: number }
  /** Block `layer`'s queries, keys and values: [T, H, d_head]. */
  | { readonly kind: 'q' | 'k' | 'v'; readonly layer: number }
  /** Block `layer`'s q·k/√d_head, -Infinity above the diagonal: [H, T, T] (head, query, key). */
  | { readonly kind: 'attn_scores'; readonly layer: number }
  /** Block `layer`'s MLP hidden layer before and after gelu_new: [T, F]. */
  | { readonly kind: 'mlp_pre' | 'mlp_post'; readonly layer: number }
  /** The token and position embeddings: [T, D] each (their sum is resid_pre 0). */
  | { readonly kind: 'embed' | 'pos_embed' }
  /** The final LayerNorm's output [T, D], and its scale √(var + eps) [T, 1]. */
  | { readonly kind: 'ln_final' | 'ln_final_scale' }
  /** The next-token logits at every position: [T, V]. */
  | { readonly kind: 'logits' }
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
  | `blocks.${number}.attn.hook_${'z' | 'q' | 'k' | 'v' | 'attn_scores'}`
  | `blocks.${number}.${'ln1' | 'ln2'}.hook_${'scale' | 'normalized'}`
  | `blocks.${number}.mlp.hook_${'pre' | 'post'}`
  | 'hook_embed'
  | 'hook_pos_embed'
  | 'ln_final.hook_scale'
  | 'ln_final.hook_normalized'
  | 'logits'
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
    case 'q':
    case 'k':
    case 'v':
    case 'attn_scores':
      return `blocks.${p.layer}.attn.hook_${p.kind}`;
    case 'ln1_scale':
    case 'ln2_scale':
      return `blocks.${p.layer}.${p.kind === 'ln1_scale' ? 'ln1' : 'ln2'}.hook_scale`;
    case 'ln1_normalized':
    case 'ln2_normalized':
      return `blocks.${p.layer}.${p.kind === 'ln1_normalized' ? 'ln1' : 'ln2'}.hook_normalized`;
    case 'mlp_pre':
    case 'mlp_post':
      return `blocks.${p.layer}.mlp.hook_${p.kind === 'mlp_pre' ? 'pre' : 'post'}`;
    case 'embed':
    case 'pos_embed':
      return `hook_${p.kind}`;
    case 'ln_final':
      return 'ln_final.hook_normalized';
    case 'ln_final_scale':
      return 'ln_final.hook_scale';
    case 'logits':
    case 'logits_last':
      return p.kind;
  }
}

/** Block-level hook kinds in the order the forward reaches them. */
const blockKinds = [
  'resid_pre',
  'ln1_scale',
  'ln1_normalized',
  'q',
  'k',
  'v',
  'attn_scores',
  'pattern',
  'z',
  'attn_out',
  'resid_mid',
  'ln2_scale',
  'ln2_normalized',
  'mlp_pre',
  'mlp_post',
  'mlp_out',
  'resid_post',
] as const;

/** Every hook point of a model of `nLayer` blocks, in the order the forward reaches them. */
export function hookPoints(nLayer: number): HookPoint[] {
  const points: HookPoint[] = [{ kind: 'embed' }, { kind: 'pos_embed' }];
  for (let layer = 0; layer < nLayer; layer++) {
    for (const kind of blockKinds) points.push({ kind, layer } as HookPoint);
  }
  points.push({ kind: 'ln_final_scale' }, { kind: 'ln_final' }, { kind: 'logits_last' }, { kind: 'logits' });
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
