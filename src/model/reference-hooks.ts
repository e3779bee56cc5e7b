// The CPU reference forward with every TransformerLens hook point: `run_with_cache` on the CPU, the
// oracle for the engine's captures and the exports. Same operations as referenceForward (the same
// functions, so the hooks both produce are bit-identical); here each intermediate is kept under
// its TransformerLens name, with TransformerLens's shape and the values of a model loaded with
// `HookedTransformer.from_pretrained_no_processing` (no LayerNorm folding, no centring):
//  - ln*.hook_scale is √(var + eps) per position, [T, 1]; ln*.hook_normalized is the LayerNorm's
//    output with its gain and bias applied (TransformerLens's LayerNorm, not LayerNormPre);
//  - attn.hook_attn_scores is q·k/√hd after the causal mask, masked entries -Infinity (TL's IGNORE);
//  - with heads ablated, attn.hook_z holds the ablated z (what flows on to c_proj), and with an MLP
//    ablated, hook_mlp_out holds the replacement; hook_pre / hook_post stay as computed.
// Only the hooks asked for are kept, and the pass stops after the last layer they need: logits
// (the costly unembedding) only when asked, for the last position unless `logits: 'all'`.
//
// Shapes: T tokens, D = nEmbd, H = nHead, hd = headDim, F = nInner, V = vocabSize.

import { checkAblation, type Ablation } from './ablation';
import {
  allHookNames,
  checkHookNames,
  hookParts,
  hookShape,
  type HookName,
  type LogitPositions,
} from './hook-names';
import {
  ablateColumns,
  attention,
  checkTokens,
  convertWeights,
  geluNew,
  layerNorm,
  linear,
  unembedF32,
} from './reference';
import type { Gpt2Weights } from './types';

/** One captured activation: row-major f32 values and their shape. */
export interface HookTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Hook name → activation, in forward order (as TransformerLens's ActivationCache). */
export type ActivationCache = Map<HookName, HookTensor>;

export interface RunWithCacheOptions {
  /** Heads and MLPs ablated as in referenceForward. */
  readonly ablate?: Ablation;
  /** The logits of the last position (default, shape [1, V]) or of every position ([T, V]). */
  readonly logits?: LogitPositions;
}

/**
 * One forward pass over `tokens`, keeping the hooks named (all of them checked first: an unknown
 * name throws before any work). The cache holds exactly the names asked for, in forward order.
 */
export function runWithCache(
  weights: Gpt2Weights,
  tokens: readonly number[],
  names: readonly string[],
  opts: RunWithCacheOptions = {},
): ActivationCache {
  const c = weights.config;
  const wanted = new Set(checkHookNames(names, c.nLayer));
  checkTokens(c, tokens);
  if (opts.ablate) checkAblation(c, opts.ablate);
  const logitPositions = opts.logits ?? 'last';
  const T = tokens.length;
  const { nEmbd: D, nHead: H, headDim: hd, layerNormEpsilon: eps } = c;
  const ablate = opts.ablate;

  // How deep the pass must go: the last block any asked-for hook lives in (all of them for ln_final
  // and the logits).
  let lastLayer = -1;
  for (const n of wanted) {
    const p = hookParts(n, c.nLayer)!;
    lastLayer = Math.max(lastLayer, p.layer ?? (n.startsWith('hook_') ? -1 : c.nLayer - 1));
  }

  const w = convertWeights(weights);
  const found = new Map<HookName, HookTensor>();
  const want = (name: HookName) => wanted.has(name);
  /** Keeps `values` (any numbers, rounded to f32 once) under `name`. */
  const keep = (name: HookName, values: ArrayLike<number>) => {
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    found.set(name, { shape: hookShape(name, c, T, logitPositions), data });
  };

  // hook_embed = wte[tok], hook_pos_embed = wpe[pos]; resid_pre 0 is their sum, kept in f64.
  const x = new Float64Array(T * D); // (T, D)
  if (want('hook_embed')) {
    const embed = new Float32Array(T * D);
    for (let t = 0; t < T; t++) embed.set(w.wte.subarray(tokens[t]! * D, tokens[t]! * D + D), t * D);
    keep('hook_embed', embed);
  }
  if (want('hook_pos_embed')) keep('hook_pos_embed', w.wpe.slice(0, T * D));
  for (let t = 0; t < T; t++) {
    const tok = tokens[t]!;
    for (let i = 0; i < D; i++) x[t * D + i] = w.wte[tok * D + i]! + w.wpe[t * D + i]!;
  }

  for (let l = 0; l <= lastLayer; l++) {
    const b = w.blocks[l]!;
    const name = (hook: string) => `blocks.${l}.${hook}` as HookName;
    if (want(name('hook_resid_pre'))) keep(name('hook_resid_pre'), x);

    // Attention: x += c_proj(attn(ln_1(x)))
    const scale1 = new Float32Array(T);
    const ln1 = layerNorm(x, T, D, b.ln1, eps, scale1); // (T, D)
    if (want(name('ln1.hook_scale'))) keep(name('ln1.hook_scale'), scale1);
    if (want(name('ln1.hook_normalized'))) keep(name('ln1.hook_normalized'), ln1);
    const qkv = linear(ln1, T, b.cAttn); // (T, 3D) = [q | k | v], each (T, H, hd)
    (['q', 'k', 'v'] as const).forEach((which, i) => {
      if (!want(name(`attn.hook_${which}`))) return;
      const out = new Float32Array(T * D); // (T, H, hd)
      for (let t = 0; t < T; t++) {
        for (let j = 0; j < D; j++) out[t * D + j] = qkv[t * 3 * D + i * D + j]!;
      }
      keep(name(`attn.hook_${which}`), out);
    });
    const pattern = new Float32Array(H * T * T); // (H, T, T)
    const scores = want(name('attn.hook_attn_scores')) ? new Float32Array(H * T * T) : undefined;
    const z = attention(qkv, T, c, pattern, scores); // (T, D) = (T, H, hd)
    if (scores) keep(name('attn.hook_attn_scores'), scores);
    if (want(name('attn.hook_pattern'))) keep(name('attn.hook_pattern'), pattern);
    if (ablate) {
      for (const { layer, head } of ablate.heads) {
        if (layer === l) ablateColumns(z, T, D, head * hd, (head + 1) * hd, ablate.mode);
      }
    }
    if (want(name('attn.hook_z'))) keep(name('attn.hook_z'), z);
    const attnOut = linear(z, T, b.attnProj); // (T, D)
    if (want(name('hook_attn_out'))) keep(name('hook_attn_out'), attnOut);
    for (let i = 0; i < x.length; i++) x[i] = x[i]! + attnOut[i]!;
    if (want(name('hook_resid_mid'))) keep(name('hook_resid_mid'), x);

    // MLP: x += c_proj(gelu_new(c_fc(ln_2(x))))
    const scale2 = new Float32Array(T);
    const ln2 = layerNorm(x, T, D, b.ln2, eps, scale2);
    if (want(name('ln2.hook_scale'))) keep(name('ln2.hook_scale'), scale2);
    if (want(name('ln2.hook_normalized'))) keep(name('ln2.hook_normalized'), ln2);
    const hidden = linear(ln2, T, b.fc); // (T, F)
    if (want(name('mlp.hook_pre'))) keep(name('mlp.hook_pre'), hidden);
    geluNew(hidden);
    if (want(name('mlp.hook_post'))) keep(name('mlp.hook_post'), hidden);
    const mlpOut = linear(hidden, T, b.mlpProj); // (T, D)
    if (ablate?.mlps?.includes(l)) ablateColumns(mlpOut, T, D, 0, D, ablate.mode);
    if (want(name('hook_mlp_out'))) keep(name('hook_mlp_out'), mlpOut);
    for (let i = 0; i < x.length; i++) x[i] = x[i]! + mlpOut[i]!;
    if (want(name('hook_resid_post'))) keep(name('hook_resid_post'), x);
  }

  // ln_final and the logits read the f32 resid_post, as referenceForward does: the logit lens of
  // the stored residual is then exactly these logits.
  if (want('ln_final.hook_scale') || want('ln_final.hook_normalized') || want('logits')) {
    const residPost = Float32Array.from(x);
    const scaleF = new Float32Array(T);
    const lnF = layerNorm(residPost, T, D, w.lnF, eps, scaleF);
    if (want('ln_final.hook_scale')) keep('ln_final.hook_scale', scaleF);
    if (want('ln_final.hook_normalized')) keep('ln_final.hook_normalized', lnF);
    if (want('logits')) {
      const rows = logitPositions === 'all' ? residPost : residPost.subarray((T - 1) * D);
      keep('logits', unembedF32(c, w.lnF, w.wte, rows, rows.length / D));
    }
  }

  // Forward order, whatever order the names came in.
  const cache: ActivationCache = new Map();
  for (const n of allHookNames(c.nLayer)) {
    const t = found.get(n);
    if (t) cache.set(n, t);
  }
  return cache;
}
