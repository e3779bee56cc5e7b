// The steps of the hooks computed for their capture alone (Slots.only): each runs only when its
// hook is captured, reading what the forward already computed (the qkv scratch, the residual
// stream) and writing the capture's own buffer, so a session that does not capture them runs
// exactly the forward it ran before. Per block: after ln_1, ln1.hook_scale; after c_attn,
// attn.hook_q/k/v and attn.hook_attn_scores; after c_fc, ln2.hook_scale. After the blocks,
// ln_final.hook_scale, ln_final.hook_normalized and `logits` at every position, unless the lens
// kernel writes them (logitsInLens). Where the forward writes a hook itself it needs no step here
// (plan.ts): ln1/ln2.hook_normalized (the LayerNorm writes its capture), ln*.hook_scale where
// that LayerNorm runs (it writes the scale in the same pass), mlp.hook_pre and mlp.hook_post
// (c_fc), hook_attn_out and hook_mlp_out (the projections).

import type { HookName } from '../model/hooks';
import type { Allocation, Slots } from './activations';
import { ceilDiv, wg, type Step, type StepFactory } from './steps';

export interface CaptureSteps {
  /** After the embedding: hook_embed, hook_pos_embed. */
  readonly embed: readonly Step[];
  /** Per block, after ln_1 (ln1.hook_scale). */
  readonly ln1: readonly (readonly Step[])[];
  /** Per block, after the QKV matmul. */
  readonly qkv: readonly (readonly Step[])[];
  /** Per block, after c_fc (ln2.hook_scale). */
  readonly mlp: readonly (readonly Step[])[];
  /** After the blocks. */
  readonly final: readonly Step[];
  /** Blocks whose attn.hook_attn_scores is captured (q·k again for every causal pair). */
  readonly attnScores: number;
  /** `logits` is captured and computed here: the unembedding at every position. */
  readonly allLogits: boolean;
}

/** logitsInLens: the lens's unembedding writes `logits` (it covers the final stream's every row). */
export function captureSteps(
  f: StepFactory,
  acts: Allocation,
  slots: Slots,
  logitsInLens: boolean,
  foldLn: boolean,
): CaptureSteps {
  const { weights } = f.parts;
  const config = weights.config;
  const { nEmbd: D, nHead: H, headDim: HD, nLayer: L, vocabSize: V } = config;
  const wf = f.weightVariant;
  const has = (name: HookName) => slots.only.has(name);
  const allLogits = has('logits') && !logitsInLens;
  const buf = (name: string) => acts.buffer(name);
  const resid = (i: number) => buf(slots.boundary[i]!);
  // ln_1 and ln_2 run on their own unfused, or fused where their output is captured (plan.ts); where
  // they run they write hook_scale too, so it has a step of its own only where they do not.
  const lnRuns = (normalized: HookName) => !foldLn || has(normalized);
  const scale = (label: HookName, x: GPUBuffer) =>
    f.step(
      label,
      'layerNormScale',
      { overrides: { D, EPS: config.layerNormEpsilon, WG_X: wg } },
      [f.uniform(0), { buffer: x }, { buffer: buf(label) }],
      (T) => [ceilDiv(T, wg), 1, 1],
    );
  const embedHook = (label: HookName, positional: number, parts = weights.wteParts) =>
    parts.map((part) =>
      f.step(
        label,
        'embedHook',
        {
          ...wf,
          overrides: {
            D,
            VOCAB_START: part.start,
            VOCAB_COUNT: part.count,
            POSITIONAL: positional,
            WG_X: wg,
          },
        },
        [
          f.uniform(0),
          { buffer: buf('tokens') },
          { buffer: part.buffer },
          { buffer: weights.wpe },
          { buffer: buf(label) },
        ],
        (T) => [ceilDiv(D, wg), T, 1],
      ),
    );

  const embed: Step[] = [];
  if (has('hook_embed')) embed.push(...embedHook('hook_embed', 0));
  if (has('hook_pos_embed')) embed.push(...embedHook('hook_pos_embed', 1, weights.wteParts.slice(0, 1)));

  const ln = buf('ln');
  const qkv = buf('qkv');
  const ln1: Step[][] = [];
  const qkvSteps: Step[][] = [];
  const mlp: Step[][] = [];
  for (let l = 0; l < L; l++) {
    const n = (hook: string) => `blocks.${l}.${hook}` as HookName;
    const a: Step[] = [];
    if (has(n('ln1.hook_scale')) && !lnRuns(n('ln1.hook_normalized')))
      a.push(scale(n('ln1.hook_scale'), resid(2 * l)));
    ln1.push(a);
    const q: Step[] = [];
    // hook_q, hook_k and hook_v: one dispatch for those captured (the others bound to distinct
    // stand-in slots: one writable range bound twice would make the dispatch invalid).
    const qkvHooks = (['q', 'k', 'v'] as const).map((x) => n(`attn.hook_${x}`));
    const write = qkvHooks.reduce((bits, h, i) => bits | (has(h) ? 1 << i : 0), 0);
    if (write !== 0) {
      q.push(
        f.step(
          `blocks.${l}.attn.hook_qkv`,
          'splitQkv',
          { overrides: { D, WRITE: write, WG_X: wg } },
          [
            f.uniform(0),
            { buffer: qkv },
            ...qkvHooks.map((h, i) => (has(h) ? { buffer: buf(h) } : f.none(i))),
          ],
          (T) => [ceilDiv(D, wg), T, 1],
        ),
      );
    }
    if (has(n('attn.hook_attn_scores'))) {
      q.push(
        f.step(
          n('attn.hook_attn_scores'),
          'attentionScores',
          { overrides: { D, H, HD, WG_X: wg } },
          [f.uniform(0), { buffer: qkv }, { buffer: buf(n('attn.hook_attn_scores')) }],
          (T) => [ceilDiv(T, wg), T, H],
        ),
      );
    }
    qkvSteps.push(q);
    const m: Step[] = [];
    if (has(n('ln2.hook_scale')) && !lnRuns(n('ln2.hook_normalized')))
      m.push(scale(n('ln2.hook_scale'), resid(2 * l + 1)));
    mlp.push(m);
  }

  const final: Step[] = [];
  const last = resid(2 * L);
  const lnFinal = has('ln_final.hook_normalized') || allLogits;
  if (has('ln_final.hook_scale') && !lnFinal) final.push(scale('ln_final.hook_scale', last));
  if (lnFinal) {
    // Without its capture, ln_final's output goes to the ln scratch (free after the last block).
    const lnF = has('ln_final.hook_normalized') ? buf('ln_final.hook_normalized') : ln;
    const scaleF = has('ln_final.hook_scale') ? buf('ln_final.hook_scale') : undefined;
    final.push(f.layerNorm('ln_final', 0, last, weights.lnF, lnF, scaleF));
    if (allLogits) {
      for (const part of weights.wteParts) {
        final.push(
          f.step(
            'logits',
            'unembedRows',
            { ...wf, overrides: { D, V, VOCAB_START: part.start, VOCAB_COUNT: part.count, WG_X: wg } },
            [f.uniform(0), { buffer: lnF }, { buffer: part.buffer }, { buffer: buf('logits') }],
            (T) => [ceilDiv(part.count, wg), T, 1],
          ),
        );
      }
    }
  }
  const attnScores = Array.from({ length: L }, (_, l) => has(`blocks.${l}.attn.hook_attn_scores`)).filter(
    Boolean,
  ).length;
  return { embed, ln1, qkv: qkvSteps, mlp, final, attnScores, allLogits };
}
