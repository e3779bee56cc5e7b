// Head detectors and attention statistics: the definitions, the result type and the CPU-side
// helpers (labels, per-layer spread, the repeated-random-token sequence). Pure TypeScript: the GPU
// scorer (detectors.ts) and the CPU oracle (detectors-reference.ts) both compute what is defined
// here, from a pattern p[t, s] (query t, key s ≤ t) of T tokens with ids tok[0..T).
//
// Kept keys. Options can take the first key (0: BOS, the usual attention sink) and/or the current
// key (t) out of every row: A(t) = {s ≤ t} − {0 if excludeFirst} − {t if excludeCurrent}. An
// exclusion never applies to the detector that measures that very key: the first-token score keeps
// key 0 and the current-token score keeps key t (excluding them would make those scores 0).
//
// Targets K_d(t) ⊆ A_d(t) of each detector d, for query t:
//   previous   {t−1}
//   current    {t}
//   first      {0}
//   local      the last `window` positions: {t−w+1 … t}, or {t−w … t−1} with excludeCurrent
//   duplicate  earlier occurrences of the same token: {s < t : tok[s] = tok[t]}
//   induction  the tokens after earlier occurrences: {s + 1 : s < t, tok[s] = tok[t]} (TransformerLens's
//              induction pattern; on [BOS] + R + R with distinct R, the second copy's queries only)
// each intersected with A_d(t). A query is in the detector's scope when K_d(t) is not empty.
//
// Score (TransformerLens's "mul" measure, restricted to the queries in scope): with each row first
// divided by its total Σ_{s≤t} p[t, s] (1 up to rounding; for the 8-bit √p capture it undoes the
// quantization's drift of the row sum),
//   score_d = Σ_{t in scope} Σ_{s∈K_d(t)} p[t, s]  /  Σ_{t in scope} Σ_{s∈A_d(t)} p[t, s].
// Without exclusions every row's kept mass is 1 and this is the mean over the queries in scope of
// the attention on the targets. With exclusions it is the mean of each row renormalized over its
// kept keys, weighted by the mass the row kept — so rows that park (almost) everything on an
// excluded key count (almost) nothing instead of amplifying their leftovers. A detector with no
// query in scope (no repeated token for duplicate/induction) scores NaN; one whose rows in scope
// kept no mass at all scores 0.
//
// Entropy and sparsity of each row, over its kept keys A(t) renormalized (n = |A(t)| keys):
//   entropy             H = −Σ p̂ ln p̂ (nats), p̂ = p / Σ_{A(t)} p
//   normalized entropy  H / ln n (1 for a uniform row, 0 for a one-hot one)
//   sparsity            Hoyer's measure (√n − ‖p̂‖₁/‖p̂‖₂) / (√n − 1) = (√n − √N_eff) / (√n − 1),
//                       N_eff = 1/Σ p̂² the effective number of keys (participation ratio):
//                       0 for a uniform row, 1 for a one-hot one (Hoyer 2004, JMLR 5).
// Rows with n < 2 (query 0; query 1 when a key is excluded) are forced and say nothing about the
// head: they are left out. Each head's mean and standard deviation over its rows are weighted by
// the mass each row kept (all weights 1 without exclusions).
// (The fraction of keys that covers 90% of the mass needs a sort or a search per row, tens of
// passes over T² values: too slow on CPU adapters for what it adds to these two.)

import { mulberry32 } from '../model/random';

export const detectors = ['previous', 'current', 'first', 'local', 'duplicate', 'induction'] as const;
export type Detector = (typeof detectors)[number];

/** Human-readable names for labels and legends. */
export const detectorTitles: Readonly<Record<Detector, string>> = {
  previous: 'previous token',
  current: 'current token',
  first: 'first token (sink)',
  local: 'local band',
  duplicate: 'duplicate token',
  induction: 'induction',
};

export interface DetectorOptions {
  /** Take key 0 out of every row (but the first-token score's). Default false. */
  readonly excludeFirst?: boolean;
  /** Take the query's own key out of every row (but the current-token score's). Default false. */
  readonly excludeCurrent?: boolean;
  /** Width w of the local band, an integer ≥ 1. Default 3. */
  readonly window?: number;
}

export type ResolvedDetectorOptions = Required<DetectorOptions>;

export const defaultWindow = 3;

export function resolveDetectorOptions(options: DetectorOptions = {}): ResolvedDetectorOptions {
  const window = options.window ?? defaultWindow;
  if (!Number.isInteger(window) || window < 1) {
    throw new RangeError(`the local band's window must be a whole number of positions ≥ 1, not ${window}`);
  }
  return {
    excludeFirst: options.excludeFirst ?? false,
    excludeCurrent: options.excludeCurrent ?? false,
    window,
  };
}

/** A per-head quantity over the rows of each head: [L, H] row-major, head fastest. */
export interface HeadStat {
  readonly mean: Float64Array;
  readonly std: Float64Array;
}

export interface HeadScores {
  readonly nLayer: number;
  readonly nHead: number;
  readonly tokens: readonly number[];
  readonly options: ResolvedDetectorOptions;
  /** Each detector's score per head, [L, H] row-major, in [0, 1]; NaN where no query is in scope. */
  readonly scores: Readonly<Record<Detector, Float64Array>>;
  /** Queries in each detector's scope (they depend only on the tokens and the options). */
  readonly queries: Readonly<Record<Detector, number>>;
  /** Row entropy in nats. NaN where no row counts (see rowWeight). */
  readonly entropy: HeadStat;
  /** Row entropy / ln(kept keys), in [0, 1]. */
  readonly normalizedEntropy: HeadStat;
  /** Hoyer sparsity of the rows, in [0, 1]. */
  readonly sparsity: HeadStat;
  /** [L, H]: the total weight of the rows behind the entropy and sparsity statistics (rows counted, without exclusions). */
  readonly rowWeight: Float64Array;
}

/** The row statistics of HeadScores, by name (for charts that pick one). */
export const headStats = ['entropy', 'normalizedEntropy', 'sparsity'] as const;
export type HeadStatName = (typeof headStats)[number];

/** Checks the token ids of a scoring call. */
export function checkTokens(tokens: readonly number[]): void {
  if (tokens.length === 0)
    throw new RangeError('no tokens to score: run a prompt of at least one token first');
  for (const id of tokens) {
    if (!Number.isInteger(id) || id < 0 || id >= 2 ** 32) {
      throw new RangeError(`token id ${id} is not a non-negative integer`);
    }
  }
}

/** Kept keys of query t for a detector (see the file comment): key 0 and key t may drop out. */
function keeps(d: Detector | 'rows', o: ResolvedDetectorOptions, t: number, s: number): boolean {
  if (s === 0 && o.excludeFirst && d !== 'first') return false;
  if (s === t && o.excludeCurrent && d !== 'current') return false;
  return true;
}

/**
 * The targets K_d(t) of query t (kept keys only), in increasing order. The detectors' definition
 * in code: the reference scorer and the scope counts use it, the WGSL mirrors it.
 */
export function detectorTargets(
  d: Detector,
  tokens: readonly number[],
  t: number,
  options: ResolvedDetectorOptions,
): number[] {
  const candidates: number[] = [];
  switch (d) {
    case 'previous':
      if (t >= 1) candidates.push(t - 1);
      break;
    case 'current':
      candidates.push(t);
      break;
    case 'first':
      candidates.push(0);
      break;
    case 'local': {
      const hi = options.excludeCurrent ? t - 1 : t;
      for (let s = Math.max(0, hi - options.window + 1); s <= hi; s++) candidates.push(s);
      break;
    }
    case 'duplicate':
      for (let s = 0; s < t; s++) if (tokens[s] === tokens[t]) candidates.push(s);
      break;
    case 'induction':
      for (let s = 0; s < t; s++) if (tokens[s] === tokens[t]) candidates.push(s + 1);
      break;
  }
  return candidates.filter((s) => keeps(d, options, t, s));
}

/** The kept keys A_d(t) of query t ('rows': the entropy statistics' keys). */
export function keptKeys(d: Detector | 'rows', t: number, options: ResolvedDetectorOptions): number[] {
  const keys: number[] = [];
  for (let s = 0; s <= t; s++) if (keeps(d, options, t, s)) keys.push(s);
  return keys;
}

/** How many queries each detector scores on these tokens. */
export function detectorQueries(
  tokens: readonly number[],
  options: ResolvedDetectorOptions,
): Record<Detector, number> {
  const counts = Object.fromEntries(detectors.map((d) => [d, 0])) as Record<Detector, number>;
  for (let t = 0; t < tokens.length; t++) {
    for (const d of detectors) if (detectorTargets(d, tokens, t, options).length > 0) counts[d]++;
  }
  return counts;
}

/**
 * Each head's strongest pattern, [L, H] row-major: the detector with the highest score ≥
 * `threshold`, or null. The local band contains the previous and current positions, so it takes the
 * label only when neither of them alone reaches the threshold. Ties go to the earlier detector in
 * `detectors`; NaN scores never win.
 */
export function dominantDetectors(
  scores: HeadScores,
  threshold = 0.4,
  among: readonly Detector[] = detectors,
): (Detector | null)[] {
  const n = scores.nLayer * scores.nHead;
  const order = detectors.filter((d) => among.includes(d));
  return Array.from({ length: n }, (_, i) => {
    let best: Detector | null = null;
    let bestScore = -Infinity;
    for (const d of order) {
      if (d === 'local') continue;
      const s = scores.scores[d][i]!;
      if (s >= threshold && s > bestScore) {
        best = d;
        bestScore = s;
      }
    }
    if (best === null && order.includes('local') && scores.scores.local[i]! >= threshold) return 'local';
    return best;
  });
}

/** One layer of a "mean and spread per layer" chart of a HeadStat or a detector's scores. */
export interface LayerSpread {
  /** Mean over the layer's heads of each head's value (heads with NaN left out; NaN if all are). */
  readonly mean: number;
  /** Standard deviation across the heads' values. */
  readonly std: number;
  readonly min: number;
  readonly max: number;
  /** Weighted mean over every row of every head (HeadStat only; = mean without exclusions). */
  readonly rowMean?: number;
  /** Standard deviation over every row of every head (pooled; HeadStat only). */
  readonly rowStd?: number;
}

/**
 * Per layer: the spread across heads of `values` ([L, H], e.g. scores.scores.previous or
 * scores.entropy.mean); given the HeadStat and the row weights, also the pooled spread over rows.
 */
export function layerSpread(
  nLayer: number,
  nHead: number,
  values: Float64Array,
  stat?: { readonly stat: HeadStat; readonly rowWeight: Float64Array },
): LayerSpread[] {
  return Array.from({ length: nLayer }, (_, l) => {
    const vs: number[] = [];
    for (let h = 0; h < nHead; h++) {
      const v = values[l * nHead + h]!;
      if (!Number.isNaN(v)) vs.push(v);
    }
    const mean = vs.length ? vs.reduce((a, b) => a + b, 0) / vs.length : NaN;
    const std = vs.length ? Math.sqrt(vs.reduce((a, v) => a + (v - mean) ** 2, 0) / vs.length) : NaN;
    const spread: LayerSpread = {
      mean,
      std,
      min: vs.length ? Math.min(...vs) : NaN,
      max: vs.length ? Math.max(...vs) : NaN,
    };
    if (!stat) return spread;
    // Law of total variance over the heads' rows, each head weighted by its rows' total weight.
    let w = 0;
    let m = 0;
    for (let h = 0; h < nHead; h++) {
      const i = l * nHead + h;
      const wi = stat.rowWeight[i]!;
      if (wi > 0) {
        w += wi;
        m += wi * stat.stat.mean[i]!;
      }
    }
    if (w === 0) return { ...spread, rowMean: NaN, rowStd: NaN };
    m /= w;
    let v = 0;
    for (let h = 0; h < nHead; h++) {
      const i = l * nHead + h;
      const wi = stat.rowWeight[i]!;
      if (wi > 0) v += wi * (stat.stat.std[i]! ** 2 + (stat.stat.mean[i]! - m) ** 2);
    }
    return { ...spread, rowMean: m, rowStd: Math.sqrt(v / w) };
  });
}

// ---------------------------------------------------------------------------------------------
// The induction probe: [BOS] + R + R with R random token ids.

export interface RepeatedTokensOptions {
  /** Length n of the random block R (the sequence has 2n + 1 tokens with BOS). */
  readonly length?: number;
  /** Seed of the generator (default 0): the same seed gives the same sequence. */
  readonly seed?: number;
  /** Token id prepended (default the model's BOS); null for none. */
  readonly bos?: number | null;
  /** Ids are drawn from [from, to) (default the whole vocabulary), never the BOS id. */
  readonly idRange?: readonly [number, number];
}

/** Cap on the default length of R: a longer probe costs more than it tells. */
const inductionLengthCap = 50;

/** The default length of R for a context of nCtx tokens: 40% of it, at most inductionLengthCap. */
export function defaultInductionLength(nCtx: number): number {
  return Math.min(inductionLengthCap, Math.floor(0.4 * nCtx));
}

/**
 * [BOS] + R + R, R of `length` distinct random ids (distinct, so that each query of the second copy
 * has exactly one earlier occurrence and "the token after it" is one position: t − length + 1).
 */
export function repeatedRandomTokens(
  model: { readonly vocabSize: number; readonly nCtx: number; readonly bosTokenId: number },
  options: RepeatedTokensOptions = {},
): number[] {
  const n = options.length ?? defaultInductionLength(model.nCtx);
  const bos = options.bos === undefined ? model.bosTokenId : options.bos;
  const [from, to] = options.idRange ?? [0, model.vocabSize];
  const total = 2 * n + (bos === null ? 0 : 1);
  if (!Number.isInteger(n) || n < 2) {
    throw new RangeError(`the repeated block needs a whole number of tokens ≥ 2, not ${n}`);
  }
  if (total > model.nCtx) {
    throw new RangeError(
      `[BOS] + R + R with R of ${n} tokens is ${total} tokens, more than the model's context of ${model.nCtx}`,
    );
  }
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > model.vocabSize || from >= to) {
    throw new RangeError(
      `token id range [${from}, ${to}) is not inside the vocabulary [0, ${model.vocabSize})`,
    );
  }
  const span = to - from;
  const available = span - (bos !== null && bos >= from && bos < to ? 1 : 0);
  if (available < n) {
    throw new RangeError(
      `token id range [${from}, ${to}) has fewer than ${n} ids to draw distinct ones from`,
    );
  }
  // Distinct ids without listing the range: rejection sampling against a set (n ≪ range as a rule;
  // when the range is barely larger than n, fall back to shuffling it).
  const random = mulberry32(options.seed ?? 0);
  const picked: number[] = [];
  if (span <= 4 * n + 8) {
    const all: number[] = [];
    for (let id = from; id < to; id++) if (id !== bos) all.push(id);
    for (let i = all.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [all[i], all[j]] = [all[j]!, all[i]!];
    }
    picked.push(...all.slice(0, n));
  } else {
    const seen = new Set<number>();
    while (picked.length < n) {
      const id = from + Math.floor(random() * span);
      if (id === bos || seen.has(id)) continue;
      seen.add(id);
      picked.push(id);
    }
  }
  return [...(bos === null ? [] : [bos]), ...picked, ...picked];
}
