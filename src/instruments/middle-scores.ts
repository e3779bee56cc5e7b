// The middle- and late-layer head detectors: definitions, the index lists that drive the GPU pass,
// and the scores from its sums. TransformerLens defines none of these; the definitions are ours.
// Pure TypeScript. The GPU side (middle-detectors.ts) sums weighted segments of each head's pattern
// p[t, s] (query t, key s ≤ t) into slots; the CPU oracle (middle-reference.ts) computes the same
// scores from the definitions below with plain loops. Key 0 is never a target nor a baseline key:
// it is the usual attention sink (the first-token detector measures it).
//
// Syntactic relation r (one map per kind: 'modifier' noun → its determiner or adjective, 'subject'
// verb → its subject), from a dataset's pairs (t_i, k_i), dependent t_i (the later word's last
// token) attending to its head word k_i, at offset δ_i = t_i − k_i:
//   A = Σ_i p[t_i, k_i]
//   B = Σ_i mean_{u ∈ U_i} p[u, u − δ_i],  U_i = {u : u − δ_i ≥ 1, u ≠ t_i} (the same offset elsewhere)
//   score_r = clamp((A − B) / n, 0, 1)
// The mean attention the dependent gives its head word beyond what the head gives any token at that
// offset. The baseline is distance-matched because the common heads attend by position: a
// previous-token head gives an adjacent adjective all its attention, and gives every other token at
// offset 1 just as much, so it scores 0 here (its own detector names it); a head scores only by
// picking the related word out of the tokens at its distance. (Against the neighbours of the same
// query instead, a previous-token head would score ~1 on every adjacent pair.) Pairs with no other
// query at their offset drop out; no pair in scope: NaN.
//
// Coreference, from pairs (t, c, w): the pronoun t, the antecedent c it refers to, the other
// candidate w (same sentence, told apart by gender or number):
//   A = Σ p[t, c], B = Σ p[t, w], score = A / (A + B) (0.5 when both are 0)
// in [0, 1], 0.5 = no preference between the two names. A ratio of small masses is noisy (a head
// that parks everything on the sink has a random preference), so the label compares the excess
// mass strength = clamp((A − B) / n, 0, 1) with the threshold instead.
//
// Aggregation, on a sequence of T ≥ 3 tokens (the passage, or the prompt):
//   score = max_{s ≥ 1} Σ_{t ≥ s} p[t, s] / (T − 1)
// the share of all the attention of queries 1 … T − 1 that lands on one non-first token (query 0
// has no choice). 1: every query on one token; a previous-token head scores 1/(T − 1), a uniform one
// about ln(T)/T. The maximizing column is reported (the token aggregated on).
//
// Punctuation sink, from the positions P ⊆ [1, T) of punctuation and separator tokens; queries
// t ≥ min P (every one has a punctuation key), P_t = P ∩ [1, t], row mass beyond the sink
// K_t = Σ_{s=1..t} p[t, s]:
//   M = Σ_t Σ_{s∈P_t} p[t, s],  K = Σ_t K_t,  E = Σ_t (|P_t| / t)·K_t (what the punctuation's count predicts)
//   score = clamp((M − E) / (K − E), 0, 1) (0 when K ≤ E), NaN without punctuation
// Of the non-sink attention that the keys' count would not give punctuation, the share that goes
// to punctuation anyway: 0 at (or below) chance, 1 when all non-sink attention is on punctuation.
// Rows weigh by the mass they keep beyond the sink, as the detectors' exclusions do.

import type { CoreferencePair, TokenPair } from './datasets/encode';
import type { RelationKind } from './datasets/templates';

export const middleDetectors = ['modifier', 'subject', 'coreference', 'aggregation', 'punctuation'] as const;
export type MiddleDetector = (typeof middleDetectors)[number];
export const relationKinds: readonly RelationKind[] = ['modifier', 'subject'];

export const middleTitles: Readonly<Record<MiddleDetector, string>> = {
  modifier: 'syntax: noun → determiner/adjective',
  subject: 'syntax: verb → subject',
  coreference: 'coreference: pronoun → antecedent',
  aggregation: 'aggregation (one non-first token)',
  punctuation: 'punctuation sink',
};

/** Names as labels and captions write them ("layer 3 head 5: syntactic (verb → subject) 0.412"). */
export const middleNames: Readonly<Record<MiddleDetector, string>> = {
  modifier: 'syntactic (noun → det/adj)',
  subject: 'syntactic (verb → subject)',
  coreference: 'coreference',
  aggregation: 'aggregation',
  punctuation: 'punctuation-sink',
};

/** What one sequence is scored on (positions index its tokens). */
export interface MiddleSpec {
  readonly relations?: Partial<Record<RelationKind, readonly TokenPair[]>>;
  readonly coreference?: readonly CoreferencePair[];
  readonly aggregation?: boolean;
  /** Positions ≥ 1 of the punctuation and separator tokens. */
  readonly punctuation?: readonly number[];
}

export interface MiddleScores {
  readonly nLayer: number;
  readonly nHead: number;
  /** Tokens of the sequence scored. */
  readonly T: number;
  /** Each detector the spec asked for, [L, H] row-major, in [0, 1]; NaN where nothing is in scope. */
  readonly scores: Partial<Record<MiddleDetector, Float64Array>>;
  /** What the labels compare with the threshold: the score, but coreference's excess mass. */
  readonly strength: Partial<Record<MiddleDetector, Float64Array>>;
  /** Pairs (syntax, coreference) or queries (aggregation, punctuation) in scope. */
  readonly counts: Partial<Record<MiddleDetector, number>>;
  /** Aggregation: the position of each head's most-attended non-first token, [L, H] (−1: none). */
  readonly aggregator?: Int32Array;
}

/** One weighted segment: a row (query `fixed`, keys lo..hi) or a column (key `fixed`, queries lo..hi). */
export interface MassTerm {
  readonly axis: 'row' | 'column';
  readonly fixed: number;
  readonly lo: number;
  readonly hi: number;
  readonly weight: number;
  readonly slot: number;
}

/** The GPU pass's index lists: terms grouped by slot; each slot a sum or a maximum of its terms. */
export interface MassPlan {
  readonly T: number;
  readonly terms: readonly MassTerm[];
  readonly slots: readonly { readonly op: 'sum' | 'max'; readonly start: number; readonly end: number }[];
  /** Turns the slots' values ([S] value and argument pairs of one head) into that head's scores. */
  readonly assemble: (slot: (j: number) => number, arg: (j: number) => number) => HeadMiddle;
  readonly kinds: readonly MiddleDetector[];
  readonly counts: Partial<Record<MiddleDetector, number>>;
}

/** One head's results. */
export interface HeadMiddle {
  readonly scores: Partial<Record<MiddleDetector, number>>;
  readonly strength: Partial<Record<MiddleDetector, number>>;
  readonly aggregator?: number;
}

const clamp01 = (x: number) => Math.min(1, Math.max(0, x));

/** Token texts that count as punctuation or separators: punctuation marks, newlines, the BOS text. */
export function isSeparatorText(text: string): boolean {
  const t = text.trim();
  if (t === '') return text.includes('\n');
  return t === '<|endoftext|>' || /^[\p{P}]+$/u.test(t);
}

/** Positions ≥ 1 of the separator tokens among `tokens`, given each id's text. */
export function separatorPositions(tokens: readonly number[], text: (id: number) => string): number[] {
  return tokens.flatMap((id, t) => (t >= 1 && isSeparatorText(text(id)) ? [t] : []));
}

/** The syntax baseline's queries for a pair: u − δ ≥ 1, u < T, u ≠ t. */
export function offsetQueries(pair: TokenPair, T: number): number[] {
  const delta = pair.query - pair.key;
  const us: number[] = [];
  for (let u = delta + 1; u < T; u++) if (u !== pair.query) us.push(u);
  return us;
}

/** The punctuation sink's queries and the count fraction |P_t| / t of each. */
export function punctuationRows(P: readonly number[], T: number): { t: number; fraction: number }[] {
  if (P.length === 0) return [];
  const first = Math.min(...P);
  const rows: { t: number; fraction: number }[] = [];
  let seen = 0;
  const set = new Set(P);
  for (let t = 1; t < T; t++) {
    if (set.has(t)) seen++;
    if (t >= first) rows.push({ t, fraction: seen / t });
  }
  return rows;
}

/** Checks a spec's positions against T (a clear error, not a silent zero). */
function checkSpec(spec: MiddleSpec, T: number): void {
  const at = (what: string, p: number) => {
    if (!Number.isInteger(p) || p < 1 || p >= T) {
      throw new RangeError(`${what} position ${p} is outside the sequence's non-first tokens [1, ${T})`);
    }
  };
  for (const pairs of Object.values(spec.relations ?? {})) {
    for (const p of pairs) {
      at('a relation', p.query);
      at('a relation', p.key);
      if (p.key >= p.query)
        throw new RangeError(`a relation's key ${p.key} is not before its query ${p.query}`);
    }
  }
  for (const c of spec.coreference ?? []) {
    for (const p of [c.query, c.correct, c.wrong]) at('a coreference', p);
    if (Math.max(c.correct, c.wrong) >= c.query) {
      throw new RangeError(
        `a coreference's candidates (${c.correct}, ${c.wrong}) are not before its pronoun ${c.query}`,
      );
    }
  }
  for (const p of spec.punctuation ?? []) at('a punctuation', p);
}

/** The index lists of a spec over T tokens (definitions: the file comment). */
export function middlePlan(spec: MiddleSpec, T: number): MassPlan {
  if (!Number.isInteger(T) || T < 1) throw new RangeError(`no tokens to score, T = ${T}`);
  checkSpec(spec, T);
  const terms: MassTerm[] = [];
  const ops: ('sum' | 'max')[] = [];
  const slot = (op: 'sum' | 'max') => ops.push(op) - 1;
  const row = (t: number, lo: number, hi: number, weight: number, s: number) =>
    terms.push({ axis: 'row', fixed: t, lo, hi, weight, slot: s });
  const col = (s: number, lo: number, hi: number, j: number) =>
    terms.push({ axis: 'column', fixed: s, lo, hi, weight: 1, slot: j });
  const kinds: MiddleDetector[] = [];
  const counts: Partial<Record<MiddleDetector, number>> = {};
  const steps: ((get: (j: number) => number, arg: (j: number) => number, out: HeadMiddleBuild) => void)[] =
    [];

  for (const kind of relationKinds) {
    const pairs = spec.relations?.[kind];
    if (!pairs) continue;
    kinds.push(kind);
    const a = slot('sum');
    const b = slot('sum');
    let n = 0;
    for (const p of pairs) {
      const us = offsetQueries(p, T);
      if (us.length === 0) continue;
      n++;
      row(p.query, p.key, p.key, 1, a);
      const delta = p.query - p.key;
      for (const u of us) row(u, u - delta, u - delta, 1 / us.length, b);
    }
    counts[kind] = n;
    steps.push((get, _arg, out) => {
      const v = n === 0 ? NaN : clamp01((get(a) - get(b)) / n);
      out.scores[kind] = v;
      out.strength[kind] = v;
    });
  }
  if (spec.coreference) {
    kinds.push('coreference');
    const a = slot('sum');
    const b = slot('sum');
    for (const c of spec.coreference) {
      row(c.query, c.correct, c.correct, 1, a);
      row(c.query, c.wrong, c.wrong, 1, b);
    }
    const n = spec.coreference.length;
    counts.coreference = n;
    steps.push((get, _arg, out) => {
      const [A, B] = [get(a), get(b)];
      out.scores.coreference = n === 0 ? NaN : A + B > 0 ? A / (A + B) : 0.5;
      out.strength.coreference = n === 0 ? NaN : clamp01((A - B) / n);
    });
  }
  if (spec.aggregation) {
    kinds.push('aggregation');
    const m = slot('max');
    if (T >= 3) for (let s = 1; s < T; s++) col(s, s, T - 1, m);
    counts.aggregation = T >= 3 ? T - 1 : 0;
    steps.push((get, arg, out) => {
      const v = T >= 3 ? get(m) / (T - 1) : NaN;
      out.scores.aggregation = v;
      out.strength.aggregation = v;
      out.aggregator = T >= 3 && arg(m) >= 0 ? 1 + arg(m) : -1;
    });
  }
  if (spec.punctuation) {
    kinds.push('punctuation');
    const P = [...new Set(spec.punctuation)].sort((x, y) => x - y);
    const rows = punctuationRows(P, T);
    const mSlot = slot('sum');
    const kSlot = slot('sum');
    const eSlot = slot('sum');
    for (const s of P) col(s, s, T - 1, mSlot);
    for (const r of rows) row(r.t, 1, r.t, 1, kSlot);
    for (const r of rows) row(r.t, 1, r.t, r.fraction, eSlot);
    counts.punctuation = rows.length;
    steps.push((get, _arg, out) => {
      const [M, K, E] = [get(mSlot), get(kSlot), get(eSlot)];
      const v = rows.length === 0 ? NaN : K - E > 0 ? clamp01((M - E) / (K - E)) : 0;
      out.scores.punctuation = v;
      out.strength.punctuation = v;
    });
  }

  // Terms grouped by slot (stable: a slot's terms keep their order, so a maximum's argument is its
  // column's position in the list).
  const order = terms.map((t, i) => i).sort((x, y) => terms[x]!.slot - terms[y]!.slot || x - y);
  const sorted = order.map((i) => terms[i]!);
  const slots = ops.map((op, j) => {
    let start = 0;
    while (start < sorted.length && sorted[start]!.slot < j) start++;
    let end = start;
    while (end < sorted.length && sorted[end]!.slot === j) end++;
    return { op, start, end };
  });
  return {
    T,
    terms: sorted,
    slots,
    kinds,
    counts,
    assemble: (get, arg) => {
      const out: HeadMiddleBuild = { scores: {}, strength: {} };
      for (const step of steps) step(get, arg, out);
      return out;
    },
  };
}

interface HeadMiddleBuild {
  scores: Partial<Record<MiddleDetector, number>>;
  strength: Partial<Record<MiddleDetector, number>>;
  aggregator?: number;
}

/** Per-head results into MiddleScores ([L, H] arrays). */
export function collectMiddle(
  plan: MassPlan,
  nLayer: number,
  nHead: number,
  head: (i: number) => HeadMiddle,
): MiddleScores {
  const n = nLayer * nHead;
  const scores: Partial<Record<MiddleDetector, Float64Array>> = {};
  const strength: Partial<Record<MiddleDetector, Float64Array>> = {};
  for (const k of plan.kinds) {
    scores[k] = new Float64Array(n);
    strength[k] = new Float64Array(n);
  }
  const aggregator = plan.kinds.includes('aggregation') ? new Int32Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    const r = head(i);
    for (const k of plan.kinds) {
      scores[k]![i] = r.scores[k]!;
      strength[k]![i] = r.strength[k]!;
    }
    if (aggregator) aggregator[i] = r.aggregator ?? -1;
  }
  return { nLayer, nHead, T: plan.T, scores, strength, counts: plan.counts, aggregator };
}
