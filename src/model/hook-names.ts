// Every TransformerLens hook point of GPT-2, by name: the list in forward order, each one's shape
// (TransformerLens's, batch dimension removed), and `--names` patterns turned into names with an
// error that says which names exist. Names are strings because that is what users type and what
// the export files hold; HookName keeps them typed inside the code.
//
// T tokens, D = nEmbd, H = nHead, hd = headDim, F = nInner, V = vocabSize.

import type { Gpt2Config } from './types';

/** The hooks of each block, in the order they fire in a forward pass. */
export const blockHooks = [
  'hook_resid_pre', // [T, D]
  'ln1.hook_scale', // [T, 1]: √(var + eps) of resid_pre
  'ln1.hook_normalized', // [T, D]: ln_1's output, gain and bias applied
  'attn.hook_q', // [T, H, hd]
  'attn.hook_k', // [T, H, hd]
  'attn.hook_v', // [T, H, hd]
  'attn.hook_attn_scores', // [H, T, T]: q·k/√hd, -Infinity above the diagonal
  'attn.hook_pattern', // [H, T, T]: softmax of the scores, 0 above the diagonal
  'attn.hook_z', // [T, H, hd]: pattern·v per head
  'hook_attn_out', // [T, D]: z·W_O + b_O
  'hook_resid_mid', // [T, D]: resid_pre + attn_out
  'ln2.hook_scale', // [T, 1]
  'ln2.hook_normalized', // [T, D]
  'mlp.hook_pre', // [T, F]: ln_2(x)·W_in + b_in
  'mlp.hook_post', // [T, F]: gelu_new(pre)
  'hook_mlp_out', // [T, D]: post·W_out + b_out
  'hook_resid_post', // [T, D]: resid_mid + mlp_out
] as const;
export type BlockHook = (typeof blockHooks)[number];

/** Before the blocks. */
export const embedHooks = ['hook_embed', 'hook_pos_embed'] as const; // [T, D] each
/** After the blocks. `logits` is no hook in TransformerLens but what run_with_cache returns. */
export const finalHooks = ['ln_final.hook_scale', 'ln_final.hook_normalized', 'logits'] as const;
export type EmbedHook = (typeof embedHooks)[number];
export type FinalHook = (typeof finalHooks)[number];

export type HookName = EmbedHook | FinalHook | `blocks.${number}.${BlockHook}`;

/** A name taken apart: the block's layer and hook, or a hook outside the blocks (layer null). */
export type HookParts =
  | { readonly layer: number; readonly hook: BlockHook }
  | { readonly layer: null; readonly hook: EmbedHook | FinalHook };

/** Which positions the logits keep: the last one (shape [1, V]) or every one ([T, V]). */
export type LogitPositions = 'last' | 'all';

export class HookNameError extends Error {
  override name = 'HookNameError';
}

/** Every hook name of a model with nLayer blocks, in the order a forward pass produces them. */
export function allHookNames(nLayer: number): HookName[] {
  const names: HookName[] = [...embedHooks];
  for (let l = 0; l < nLayer; l++) for (const h of blockHooks) names.push(`blocks.${l}.${h}`);
  names.push(...finalHooks);
  return names;
}

const blockName = /^blocks\.(0|[1-9]\d*)\.(.+)$/;

/** The parts of a name, or undefined when the model has no such hook. */
export function hookParts(name: string, nLayer: number): HookParts | undefined {
  if ((embedHooks as readonly string[]).includes(name)) return { layer: null, hook: name as EmbedHook };
  if ((finalHooks as readonly string[]).includes(name)) return { layer: null, hook: name as FinalHook };
  const m = blockName.exec(name);
  if (!m || !(blockHooks as readonly string[]).includes(m[2]!)) return undefined;
  const layer = Number(m[1]);
  return layer < nLayer ? { layer, hook: m[2] as BlockHook } : undefined;
}

/** The hook's shape for T tokens (TransformerLens's, without the batch dimension). */
export function hookShape(
  name: HookName,
  c: Gpt2Config,
  T: number,
  logits: LogitPositions = 'last',
): number[] {
  const parts = hookParts(name, c.nLayer);
  if (!parts) throw new HookNameError(unknownHookMessage(name, c.nLayer));
  const { nEmbd: D, nHead: H, headDim: hd, nInner: F, vocabSize: V } = c;
  switch (parts.hook) {
    case 'logits':
      return [logits === 'all' ? T : 1, V];
    case 'ln1.hook_scale':
    case 'ln2.hook_scale':
    case 'ln_final.hook_scale':
      return [T, 1];
    case 'attn.hook_q':
    case 'attn.hook_k':
    case 'attn.hook_v':
    case 'attn.hook_z':
      return [T, H, hd];
    case 'attn.hook_attn_scores':
    case 'attn.hook_pattern':
      return [H, T, T];
    case 'mlp.hook_pre':
    case 'mlp.hook_post':
      return [T, F];
    default:
      return [T, D];
  }
}

/** The names that exist, in a few lines: what every "unknown hook" error ends with. */
export function describeHookNames(nLayer: number): string {
  const layers = nLayer === 1 ? 'L = 0' : `L in 0–${nLayer - 1}`;
  return (
    `the hook names are ${embedHooks.join(', ')}; ` +
    `blocks.L.{${blockHooks.join(', ')}} for ${layers}; ${finalHooks.join(', ')}`
  );
}

function unknownHookMessage(name: string, nLayer: number): string {
  const m = blockName.exec(name);
  if (m && (blockHooks as readonly string[]).includes(m[2]!)) {
    const range = nLayer === 1 ? 'the only layer is 0' : `layers are 0–${nLayer - 1}`;
    return `unknown hook "${name}": the model has ${nLayer} layer${nLayer === 1 ? '' : 's'} (${range})`;
  }
  const near = closestName(name, nLayer);
  const hint = near === undefined ? '' : ` (did you mean "${near}"?)`;
  return `unknown hook "${name}"${hint}: ${describeHookNames(nLayer)}`;
}

/** The existing name within 3 edits of `name` (a typo), if there is one: the closest. */
function closestName(name: string, nLayer: number): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const candidate of allHookNames(nLayer)) {
    const d = editDistance(name, candidate, bestDistance);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

/** Levenshtein distance, or `cap` as soon as it is certain to reach it. */
function editDistance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) >= cap) return cap;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    if (Math.min(...row) >= cap) return cap;
    prev = row;
  }
  return Math.min(prev[b.length]!, cap);
}

/** A glob as a RegExp over whole names: `*` any run of characters (dots too), `?` one character. */
function globRegExp(pattern: string): RegExp {
  const body = pattern
    .split('')
    .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`);
}

/**
 * The hooks that a comma-separated list of names and globs selects (`--names`), e.g.
 * `blocks.*.attn.hook_pattern,*hook_resid_pre`, in forward order whatever the order asked.
 * An exact name the model lacks, or a glob that matches nothing, is an error naming what exists.
 */
export function selectHooks(spec: string, nLayer: number): HookName[] {
  const all = allHookNames(nLayer);
  const items = spec.split(',').map((s) => s.trim());
  if (items.every((s) => s === ''))
    throw new HookNameError(`no hook names given: ${describeHookNames(nLayer)}`);
  const chosen = new Set<string>();
  for (const item of items) {
    if (item === '') throw new HookNameError(`empty name in "${spec}" (two commas, or a trailing one)`);
    if (!/[*?]/.test(item)) {
      if (!hookParts(item, nLayer)) throw new HookNameError(unknownHookMessage(item, nLayer));
      chosen.add(item);
      continue;
    }
    const re = globRegExp(item);
    const matched = all.filter((n) => re.test(n));
    if (matched.length === 0) {
      throw new HookNameError(`pattern "${item}" matches no hook: ${describeHookNames(nLayer)}`);
    }
    for (const n of matched) chosen.add(n);
  }
  return all.filter((n) => chosen.has(n));
}

/** Checks names given in code (not typed by a user): every one must exist. Returns them as HookNames. */
export function checkHookNames(names: readonly string[], nLayer: number): HookName[] {
  for (const n of names) if (!hookParts(n, nLayer)) throw new HookNameError(unknownHookMessage(n, nLayer));
  return names as HookName[];
}
