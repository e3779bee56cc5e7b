// What one forward costs: FLOPs (for GFLOP/s in the benchmark) and GPU memory (for the "too large"
// checks and the README's figures). Formulas, checked against real allocations in the tests.

import type { Gpt2Config } from '../model/types';

/**
 * Multiply-adds ×2 of one forward over T tokens: the blocks (QKV, causal attention, output
 * projection, MLP), the logit lens over `lensPoints` residual streams, and the final logits row.
 */
export function forwardFlops(config: Gpt2Config, T: number, lensPoints: number): number {
  const { nLayer: L, nEmbd: D, nInner: F, vocabSize: V } = config;
  const causalPairs = (T * (T + 1)) / 2; // (query, key) pairs with key ≤ query
  const perLayer = 2 * T * D * 3 * D + 2 * 2 * causalPairs * D + 2 * T * D * D + 2 * 2 * T * D * F;
  return L * perLayer + lensPoints * T * 2 * D * V + 2 * D * V;
}
