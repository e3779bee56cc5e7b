// The causal instruments' case of `npm run bench`: all four activation-patching maps plus the
// direct logit attribution of one prompt pair (T tokens, differing in the last token) on random
// weights of a GPT-2 shape. Median wall time (submit to results on the CPU), dispatches,
// submissions, readbacks, and the batched work's FLOPs; attribution alone is timed too.

import { attributeOnGpu, attributionHooks } from '../engine/attribution';
import type { Engine } from '../engine/engine';
import { estimatePatching, patchOnGpu } from '../engine/patching';

export interface CausalBenchRow {
  shape: string;
  T: number;
  weights: string;
  /** Patching (all four maps) plus attribution: median ms. */
  median_ms: number;
  runs: number;
  gflop: number;
  gflops: number;
  dispatches: number;
  submissions: number;
  readbacks: number;
  /** Attribution alone (one forward with its captures, then the attribution pass): median ms. */
  attribution_ms: number;
  attribution_dispatches: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchCausal(
  engine: Engine,
  shape: string,
  T: number,
  reps: number,
): Promise<CausalBenchRow> {
  const V = engine.config.vocabSize;
  const clean = Array.from({ length: T }, (_, i) => (i * 7919 + 13) % V);
  const corrupt = [...clean];
  corrupt[T - 1] = (clean[T - 1]! + 4099) % V;
  // Tied embeddings: each last token pulls its own logit up, so the two logit differences differ.
  const [answer, foil] = [corrupt[T - 1]!, clean[T - 1]!];
  const times: number[] = [];
  let last = await patchOnGpu(engine, clean, corrupt, answer, foil); // warm-up: pipelines compiled
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    last = await patchOnGpu(engine, clean, corrupt, answer, foil);
    times.push(performance.now() - t0);
  }
  const session = engine.createSession({
    capacity: T,
    lens: 'final',
    namesFilter: attributionHooks(engine.config),
  });
  const dlaTimes: number[] = [];
  let dlaDispatches = 0;
  try {
    for (let i = 0; i <= reps; i++) {
      const t0 = performance.now();
      const run = await session.run(clean);
      const dla = await attributeOnGpu(engine, session, clean, answer, foil);
      if (i > 0) dlaTimes.push(performance.now() - t0);
      dlaDispatches = run.dispatches + dla.dispatches;
    }
  } finally {
    session.destroy();
  }
  const est = estimatePatching(engine, T);
  const ms = median(times);
  return {
    shape,
    T,
    weights: engine.weights.format,
    median_ms: ms,
    runs: est.runs,
    gflop: est.flops / 1e9,
    gflops: est.flops / ms / 1e6,
    dispatches: last.dispatches,
    submissions: last.submissions,
    readbacks: last.readbacks,
    attribution_ms: median(dlaTimes),
    attribution_dispatches: dlaDispatches,
  };
}
