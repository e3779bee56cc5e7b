// Helpers shared by the kernel tests: tiny random GPT-2s with sharp attention, token streams, and
// comparisons against the CPU reference.
import { randomGpt2Weights } from '../../src/model/fixtures';
import type { Gpt2Config, Gpt2Weights } from '../../src/model/types';

/** Random weights with sharper attention than GPT-2's init (q, k scaled up), so patterns are not flat. */
export function sharpWeights(config: Gpt2Config, seed: number): Gpt2Weights {
  const w = randomGpt2Weights(config, seed);
  const D = config.nEmbd;
  for (const b of w.blocks) {
    const cAttn = b.cAttn.weight.data as Float32Array; // (D, 3D): scale the q and k columns
    for (let i = 0; i < D; i++) for (let j = 0; j < 2 * D; j++) cAttn[i * 3 * D + j]! *= 12;
  }
  return w;
}

export function randomTokens(n: number, vocab: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s % vocab;
  });
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
