// The logit-lens panel's model: plain data from one run's lens (RunResult.lens at every residual
// boundary, lens: 'all') laid out as lens points × positions, the tracked tokens' series across
// depth (PromptSession.trackTokens), and picking a token to track from what the user typed. Pure:
// no GPU, no DOM, no runes, so it is tested on hand-made inputs.

import type { LensTopK, TokenTrack } from '../engine/session';
import { hookName, type HookPoint } from '../model/hooks';
import { boundaryHooks, boundaryIndex, boundaryName, boundaryShortName } from '../viz/depth-names';
import type { Gpt2Tokenizer } from '../model/tokenizer';

export { maxTrackedTokens } from '../engine/cost';

/** One of the lens's top-k at a point and position. */
export interface LensEntry {
  readonly id: number;
  readonly label: string;
  readonly p: number;
}

export interface LensCell {
  /** Index of the lens point (depth order: resid_pre 0, resid_mid 0, …, final resid_post). */
  readonly point: number;
  readonly position: number;
  /** The top-k, best first. */
  readonly top: readonly LensEntry[];
}

export interface LensRow {
  readonly point: number;
  readonly hook: HookPoint;
  /** TransformerLens name, e.g. blocks.3.hook_resid_mid (data attributes, tooltips). */
  readonly name: string;
  /** The boundary's display name, as every view names it: "L3 · after attention". */
  readonly display: string;
  /** Its TransformerLens hooks, for tooltips: "blocks.2.hook_resid_post = blocks.3.hook_resid_pre". */
  readonly caption: string;
  /** The final resid_post: the model's own next-token prediction. */
  readonly final: boolean;
  readonly cells: readonly LensCell[];
}

/** A lens point's display name (src/viz/depth-names.ts): "Embeddings", "L3 · after attention". */
export function pointName(p: HookPoint): string {
  return p.kind === 'resid_pre' || p.kind === 'resid_mid' || p.kind === 'resid_post'
    ? boundaryName(boundaryIndex(p))
    : hookName(p);
}

/** A lens point's TransformerLens hooks, for tooltips. */
export function pointCaption(p: HookPoint, nLayer: number): string {
  return p.kind === 'resid_pre' || p.kind === 'resid_mid' || p.kind === 'resid_post'
    ? boundaryHooks(boundaryIndex(p), nLayer)
    : hookName(p);
}

/** A short axis label for a lens point (depth-names' boundaryShortName): "emb", "L3a", "L3m". */
export function pointTick(p: HookPoint): string {
  return p.kind === 'resid_pre' || p.kind === 'resid_mid' || p.kind === 'resid_post'
    ? boundaryShortName(boundaryIndex(p))
    : hookName(p);
}

/**
 * The lens as rows (one per lens point, depth order) of T cells with their top-k. `T` is the
 * run's token count; the lens holds (points, T, k).
 */
export function lensRows(
  lens: LensTopK,
  T: number,
  nLayer: number,
  label: (id: number) => string,
): LensRow[] {
  const { points, k, ids, probs } = lens;
  if (ids.length !== points.length * T * k) {
    throw new Error(
      `the lens holds ${ids.length} entries, not ${points.length} points × ${T} positions × ${k}`,
    );
  }
  const last = points.length - 1;
  return points.map((hook, point) => ({
    point,
    hook,
    name: hookName(hook),
    display: pointName(hook),
    caption: pointCaption(hook, nLayer),
    final: point === last && hook.kind === 'resid_post' && hook.layer === nLayer - 1,
    cells: Array.from({ length: T }, (_, position) => ({
      point,
      position,
      top: Array.from({ length: k }, (_, i) => {
        const at = (point * T + position) * k + i;
        const id = ids[at]!;
        return { id, label: label(id), p: probs[at]! };
      }),
    })),
  }));
}

/** A token as the UI shows it: spaces as ·, newlines as ↵, cut to `max` characters. */
export function showToken(label: string, max = Infinity): string {
  const t = label.replaceAll(' ', '·').replaceAll('\n', '↵');
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
}

/** A probability as a percentage with 2 significant digits below 0.1%. */
export function formatProb(p: number): string {
  if (p >= 0.001) return `${(100 * p).toFixed(1)}%`;
  if (p === 0) return '0%';
  return `${(100 * p).toPrecision(2)}%`;
}

/** The outcome of reading a token from a text field. */
export type TokenPick =
  | {
      readonly ok: true;
      readonly id: number;
      /** The token's text (decoded). */
      readonly label: string;
      /** A note worth showing even though the token is valid (e.g. the missing leading space). */
      readonly hint?: string;
    }
  | {
      readonly ok: false;
      readonly message: string;
      /** The text's first token, offered instead when the text is several tokens. */
      readonly suggestion?: { readonly id: number; readonly label: string };
    };

/** The tokenizer calls token picking needs (Gpt2Tokenizer has them). */
export type TokenVocabulary = Pick<Gpt2Tokenizer, 'encode' | 'tokenLabel'>;

const quote = (s: string) => JSON.stringify(s);

/**
 * The single token `text` stands for, under the model's tokenizer: exactly one token whose id is in
 * the model's vocabulary (a tiny model may have fewer rows than the tokenizer has tokens). Several
 * tokens: a message naming the pieces and the first offered instead. `<|endoftext|>` is the special
 * token. Leading spaces matter (" Paris" and "Paris" are different tokens): a word typed without
 * its space gets a hint when the spaced form is one token too.
 */
export function pickToken(tokenizer: TokenVocabulary, text: string, vocabSize: number): TokenPick {
  if (text === '')
    return { ok: false, message: 'Type a token to track, e.g. " Paris" (with its leading space).' };
  const ids = tokenizer.encode(text, { allowSpecial: true });
  if (ids.length === 0) return { ok: false, message: `${quote(text)} has no tokens.` };
  const first = ids[0]!;
  const pieces = ids.map((id) => tokenizer.tokenLabel(id));
  if (ids.length > 1) {
    return {
      ok: false,
      message:
        `${quote(text)} is ${ids.length} tokens (${pieces.map(quote).join(' + ')}); ` +
        `one token can be followed at a time — the first is ${quote(pieces[0]!)}.`,
      ...(first < vocabSize ? { suggestion: { id: first, label: pieces[0]! } } : {}),
    };
  }
  if (first >= vocabSize) {
    return {
      ok: false,
      message: `${quote(text)} is token ${first}, outside this model's vocabulary (0…${vocabSize - 1}).`,
    };
  }
  let hint: string | undefined;
  if (!/^\s/.test(text) && /^\S/.test(text)) {
    const spaced = tokenizer.encode(` ${text}`, { allowSpecial: true });
    if (spaced.length === 1 && spaced[0]! < vocabSize && spaced[0] !== first) {
      hint = `Mid-sentence words start with a space: ${quote(` ${text}`)} is a different token (${spaced[0]}).`;
    }
  }
  return { ok: true, id: first, label: pieces[0]!, ...(hint ? { hint } : {}) };
}

/** One tracked token's probability and rank at each of the track's points, at one position. */
export interface TrackSeries {
  readonly id: number;
  readonly prob: readonly number[];
  readonly rank: readonly number[];
}

/** The track's series at `position` (one per tracked id, in the order asked). */
export function trackSeries(track: TokenTrack, position: number): TrackSeries[] {
  const { ids, points, T } = track;
  if (!Number.isInteger(position) || position < 0 || position >= T) {
    throw new RangeError(`position ${position} is outside the tracked run (0…${T - 1})`);
  }
  const P = points.length;
  return ids.map((id, i) => ({
    id,
    prob: Array.from({ length: P }, (_, p) => track.prob[(i * P + p) * T + position]!),
    rank: Array.from({ length: P }, (_, p) => track.rank[(i * P + p) * T + position]!),
  }));
}
