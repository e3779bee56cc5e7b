// The ablation panel's model: the selection (heads, MLP layers, mode) as plain data, and the
// next-token distribution before and after an ablated run, token by token. Pure: no GPU, no DOM, no
// runes, so it is tested on hand-made inputs.

import type { Ablation, HeadRef } from '../model/ablation';
import type { LensTopK, TokenTrack } from '../engine/session';
import { headName, layerName } from '../viz/depth-names';

export type AblationMode = Ablation['mode'];

/** A token and its next-token probability. */
export interface TopEntry {
  readonly id: number;
  readonly p: number;
}

/**
 * The model's own next-token top-k: the final lens point (the last of `lens.points`, the final
 * resid_post) at the last position. `T` is the run's token count.
 */
export function nextTokenTopK(lens: LensTopK, T: number): TopEntry[] {
  const { points, k, ids, probs } = lens;
  const last = points[points.length - 1];
  if (!last || last.kind !== 'resid_post') throw new Error('the lens has no final resid_post point');
  const base = ((points.length - 1) * T + (T - 1)) * k;
  return Array.from({ length: k }, (_, i) => ({ id: ids[base + i]!, p: probs[base + i]! }));
}

/**
 * Each tracked id's probability at the last position, from a track at one point (the final
 * resid_post of a session with lens: 'final').
 */
export function lastPositionProbs(track: TokenTrack): Map<number, number> {
  const { ids, points, T } = track;
  if (points.length !== 1 || points[0]!.kind !== 'resid_post') {
    throw new Error(`expected a track at the final point only, got ${points.length} points`);
  }
  return new Map(ids.map((id, i) => [id, track.prob[i * T + T - 1]!]));
}

/** The ids of the top-k before and after, each once (before's order, then after's newcomers), then `extra`. */
export function unionIds(
  before: readonly TopEntry[],
  after: readonly TopEntry[],
  extra: readonly number[] = [],
): number[] {
  return [...new Set([...before.map((e) => e.id), ...after.map((e) => e.id), ...extra])];
}

/** One token's next-token probability before and after the ablation. */
export interface ChangeRow {
  readonly id: number;
  readonly before: number;
  readonly after: number;
  /** after − before. */
  readonly delta: number;
  /** 0-based place in the top-k before / after, or -1 when outside it. */
  readonly rankBefore: number;
  readonly rankAfter: number;
}

/**
 * The top-k before and after, merged: every token in either, with its probability on both sides
 * (`probBefore` / `probAfter` give it for tokens outside one side's top-k, e.g. from
 * trackTokens), most probable (on either side) first.
 */
export function distributionChange(
  before: readonly TopEntry[],
  after: readonly TopEntry[],
  probBefore: ReadonlyMap<number, number>,
  probAfter: ReadonlyMap<number, number>,
): ChangeRow[] {
  const rows = unionIds(before, after).map((id) => {
    const rankBefore = before.findIndex((e) => e.id === id);
    const rankAfter = after.findIndex((e) => e.id === id);
    const b = rankBefore >= 0 ? before[rankBefore]!.p : probBefore.get(id);
    const a = rankAfter >= 0 ? after[rankAfter]!.p : probAfter.get(id);
    if (b === undefined || a === undefined) {
      throw new Error(`no ${b === undefined ? 'clean' : 'ablated'} probability for token ${id}`);
    }
    return { id, before: b, after: a, delta: a - b, rankBefore, rankAfter };
  });
  return rows.sort((x, y) => Math.max(y.before, y.after) - Math.max(x.before, x.after) || x.id - y.id);
}

/** The selection with one head switched on or off (kept sorted by layer, then head). */
export function toggleHead(heads: readonly HeadRef[], layer: number, head: number): HeadRef[] {
  const has = heads.some((h) => h.layer === layer && h.head === head);
  const next = has
    ? heads.filter((h) => !(h.layer === layer && h.head === head))
    : [...heads, { layer, head }];
  return next.sort((a, b) => a.layer - b.layer || a.head - b.head);
}

/** The MLP layers with one switched on or off (sorted). */
export function toggleMlp(mlps: readonly number[], layer: number): number[] {
  return (mlps.includes(layer) ? mlps.filter((l) => l !== layer) : [...mlps, layer]).sort((a, b) => a - b);
}

/** Every head of `layer` on (`on`) or off, the other layers' kept. */
export function setLayerHeads(
  heads: readonly HeadRef[],
  layer: number,
  nHead: number,
  on: boolean,
): HeadRef[] {
  const others = heads.filter((h) => h.layer !== layer);
  const mine = on ? Array.from({ length: nHead }, (_, head) => ({ layer, head })) : [];
  return [...others, ...mine].sort((a, b) => a.layer - b.layer || a.head - b.head);
}

/** The ablation in words: "heads 0.1, 1.2 and the MLP of layer 0, zeroed". */
export function describeAblation(a: Ablation): string {
  const parts: string[] = [];
  if (a.heads.length) {
    parts.push(
      `${a.heads.length === 1 ? 'head' : 'heads'} ${a.heads.map((h) => headName(h.layer, h.head)).join(', ')}`,
    );
  }
  const mlps = a.mlps ?? [];
  if (mlps.length) parts.push(`the MLP${mlps.length === 1 ? '' : 's'} of ${mlps.map(layerName).join(', ')}`);
  if (parts.length === 0) return 'nothing';
  return `${parts.join(' and ')}, ${a.mode === 'zero' ? 'zeroed' : 'replaced by their mean over the prompt'}`;
}

/** A key equal for two ablations that remove the same things the same way (order and repeats aside). */
export function ablationKey(a: Ablation): string {
  const heads = [...new Set(a.heads.map((h) => `${h.layer}.${h.head}`))].sort();
  const mlps = [...new Set(a.mlps ?? [])].sort((x, y) => x - y);
  return `${a.mode}|${heads.join(',')}|${mlps.join(',')}`;
}

/** A token pair's logits on one side and their difference logit(a) − logit(b). */
export interface PairLogits {
  readonly logitA: number;
  readonly logitB: number;
  readonly diff: number;
}

export function pairLogits(logitA: number, logitB: number): PairLogits {
  return { logitA, logitB, diff: logitA - logitB };
}
