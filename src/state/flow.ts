// The residual-stream flow view's model: plain data from one run's logit lens (RunResult.lens) and
// residual stats (src/engine/residual-stats.ts), laid out as depths × positions. Depth 0 is the
// embeddings (resid_pre 0), depth l the stream entering block l, depth L the final resid_post (the
// model's output); block l sits between depths l and l+1 and adds attention's and the MLP's output.

import type { ResidualStats } from '../instruments/residual-stats';
import { residualStatsAt } from '../instruments/residual-stats';
import type { RunResult } from '../engine/session';
import { hookName, type HookPoint } from '../model/hooks';
import type { FlowBlock, FlowCell, FlowGrid } from '../viz/flow-layout';

export type { FlowBlock, FlowCell, FlowGrid, LensToken } from '../viz/flow-layout';

/** The lens point that depth `d` of an L-layer model reads. */
export function depthPoint(d: number, L: number): HookPoint {
  return d < L ? { kind: 'resid_pre', layer: d } : { kind: 'resid_post', layer: L - 1 };
}

/** A depth's name in TransformerLens terms, and in words. */
export function depthName(d: number, L: number): string {
  if (d === 0) return 'embeddings (blocks.0.hook_resid_pre)';
  if (d === L) return `output (blocks.${L - 1}.hook_resid_post)`;
  return `blocks.${d}.hook_resid_pre`;
}

export function flowGrid(result: RunResult, stats: ResidualStats, label: (id: number) => string): FlowGrid {
  const L = stats.nLayer;
  const T = result.tokens.length;
  if (stats.T !== T) throw new Error(`residual stats cover ${stats.T} positions, the run ${T}`);
  const { lens } = result;
  const cells = Array.from({ length: L + 1 }, (_, d) => {
    const want = depthPoint(d, L);
    const p = lens.points.findIndex((q) => hookName(q) === hookName(want));
    if (p < 0) throw new Error('the run has no logit lens at every layer');
    return Array.from({ length: T }, (_, t): FlowCell => {
      const top = Array.from({ length: lens.k }, (_, i) => {
        const at = (p * T + t) * lens.k + i;
        const id = lens.ids[at]!;
        return { id, label: label(id), p: lens.probs[at]! };
      });
      const norm = d < L ? residualStatsAt(stats, d, t).preNorm : residualStatsAt(stats, L - 1, t).postNorm;
      return { depth: d, position: t, top, norm };
    });
  });
  const blocks = Array.from({ length: L }, (_, l) =>
    Array.from({ length: T }, (_, t): FlowBlock => {
      const s = residualStatsAt(stats, l, t);
      return {
        layer: l,
        position: t,
        attnNorm: s.attnNorm,
        mlpNorm: s.mlpNorm,
        attnCos: s.attnCos,
        mlpCos: s.mlpCos,
        midNorm: s.midNorm,
      };
    }),
  );
  let maxNorm = 0;
  let maxAdd = 0;
  for (const row of cells) for (const c of row) maxNorm = Math.max(maxNorm, c.norm);
  for (const row of blocks) for (const b of row) maxAdd = Math.max(maxAdd, b.attnNorm, b.mlpNorm);
  return { nLayer: L, T, tokens: result.tokens, cells, blocks, maxNorm, maxAdd };
}
