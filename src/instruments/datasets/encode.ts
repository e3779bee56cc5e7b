// The middle-layer datasets as token sequences of the loaded model's tokenizer: each template
// sentence's pieces tokenized one by one (each piece is one of GPT-2's pre-tokens, so this is the
// tokenization of the whole text), whole sentences kept while they fit, and every relation turned
// from piece indices into token positions — a word of several tokens by its last token. Position 0
// is BOS when the model has one (the detectors never score key 0: it is the usual sink).

import { brownPassage } from './passage';
import { coreferenceSentences, syntaxSentences, type RelationKind, type TemplateText } from './templates';

/** What the datasets need of a tokenizer (Gpt2Tokenizer has it). */
export interface DatasetTokenizer {
  encode(text: string): number[];
}

/** A query (the later word's last token) and a key (the earlier word's last token). */
export interface TokenPair {
  readonly query: number;
  readonly key: number;
}

export interface SyntaxDataset {
  readonly text: string;
  readonly tokens: readonly number[];
  readonly sentences: number;
  readonly relations: Readonly<Record<RelationKind, readonly TokenPair[]>>;
}

export interface CoreferencePair {
  /** The pronoun's last token. */
  readonly query: number;
  /** The last tokens of the antecedent it refers to and of the other candidate. */
  readonly correct: number;
  readonly wrong: number;
  readonly cue: 'gender' | 'number';
}

export interface CoreferenceDataset {
  readonly text: string;
  readonly tokens: readonly number[];
  readonly sentences: number;
  readonly pairs: readonly CoreferencePair[];
}

export interface PassageDataset {
  readonly text: string;
  readonly tokens: readonly number[];
}

export interface MiddleDatasets {
  readonly syntax: SyntaxDataset;
  readonly coreference: CoreferenceDataset;
  readonly passage: PassageDataset;
}

export interface DatasetOptions {
  /** Tokens per sequence at most, BOS included (the model's context or less). */
  readonly maxTokens: number;
  /** Token id put first (the model's BOS), or null for none. */
  readonly bos: number | null;
  /** Seed of the template generator (default 0). */
  readonly seed?: number;
}

/** The default sequence length: short enough to stay cheap, long enough for ~10 sentences each. */
export function defaultDatasetTokens(nCtx: number): number {
  return Math.min(nCtx, 128);
}

interface Encoded {
  readonly text: string;
  readonly tokens: number[];
  readonly sentences: number;
  /** Per kept sentence, the position of each piece's last token. */
  readonly ends: number[][];
  readonly kept: TemplateText[];
}

function encodeSentences(
  tokenizer: DatasetTokenizer,
  sentences: readonly TemplateText[],
  options: DatasetOptions,
): Encoded {
  const tokens: number[] = options.bos === null ? [] : [options.bos];
  const ends: number[][] = [];
  const kept: TemplateText[] = [];
  let text = '';
  for (const sentence of sentences) {
    const ids = sentence.pieces.map((p) => tokenizer.encode(p));
    const n = ids.reduce((a, x) => a + x.length, 0);
    if (tokens.length + n > options.maxTokens) break;
    const at: number[] = [];
    for (const x of ids) {
      tokens.push(...x);
      at.push(tokens.length - 1);
    }
    ends.push(at);
    kept.push(sentence);
    text += sentence.pieces.join('');
  }
  return { text: text.replace(/^ /, ''), tokens, sentences: kept.length, ends, kept };
}

const sentenceBudget = 400; // sentences generated; far more than any context holds

/** The three datasets for a model's tokenizer (deterministic for a seed). */
export function middleDatasets(tokenizer: DatasetTokenizer, options: DatasetOptions): MiddleDatasets {
  if (!Number.isInteger(options.maxTokens) || options.maxTokens < 16) {
    throw new RangeError(`the datasets need sequences of at least 16 tokens, not ${options.maxTokens}`);
  }
  const seed = options.seed ?? 0;
  const s = encodeSentences(tokenizer, syntaxSentences(sentenceBudget, seed), options);
  const relations: Record<RelationKind, TokenPair[]> = { modifier: [], subject: [] };
  for (const [i, sentence] of s.kept.entries()) {
    for (const r of sentence.relations) {
      relations[r.kind].push({ query: s.ends[i]![r.from]!, key: s.ends[i]![r.to]! });
    }
  }
  const c = encodeSentences(tokenizer, coreferenceSentences(sentenceBudget, seed), options);
  const pairs: CoreferencePair[] = [];
  for (const [i, sentence] of c.kept.entries()) {
    const at = c.ends[i]!;
    for (const r of sentence.coreferences) {
      pairs.push({ query: at[r.pronoun]!, correct: at[r.correct]!, wrong: at[r.wrong]!, cue: r.cue });
    }
  }
  const passage = [...(options.bos === null ? [] : [options.bos]), ...tokenizer.encode(brownPassage)];
  return {
    syntax: { text: s.text, tokens: s.tokens, sentences: s.sentences, relations },
    coreference: { text: c.text, tokens: c.tokens, sentences: c.sentences, pairs },
    passage: { text: brownPassage, tokens: passage.slice(0, options.maxTokens) },
  };
}
