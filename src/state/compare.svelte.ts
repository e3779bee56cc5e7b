// Compare mode: two prompts side by side on one model. Each prompt is a PromptRun with its own
// session (its own captures and activations); the engine's weights are shared. The layer and head
// shown are linked (one HeatmapSettings for both). The difference: attention A − B per head when
// the two prompts have as many tokens (drawn on the GPU from both capture textures), otherwise the
// similarity of the two residual streams layer by layer, from each run's small stats readback.

import { rowCosines } from '../instruments/residual-stats';
import type { HeatmapSource } from './heatmap-canvas.svelte';
import type { PromptRun } from './prompt-run.svelte';

export class Compare {
  enabled = $state(false);
  readonly a: PromptRun;
  readonly b: PromptRun;
  /** Draws A − B (for heatmapCanvas). */
  readonly diffSource: HeatmapSource;

  constructor(a: PromptRun, b: PromptRun) {
    this.a = a;
    this.b = b;
    this.diffSource = {
      attachHeatmaps: (canvas) => a.attachHeatmaps(canvas, b),
      get result() {
        return [a.result, b.result];
      },
    };
  }

  /** Both prompts have run with as many tokens: their attention compares cell by cell. */
  readonly sameLength = $derived.by(() => {
    const ra = this.a.result;
    const rb = this.b.result;
    return ra !== undefined && rb !== undefined && ra.tokens.length === rb.tokens.length;
  });

  /**
   * cos(stream A, stream B) at each prompt's last position, per lens depth (resid_pre 0 … L−1,
   * then the final resid_post); undefined until both runs' stats are back.
   */
  readonly similarity = $derived.by((): number[] | undefined => {
    const fa = this.a.flow;
    const fb = this.b.flow;
    if (!fa || !fb || fa.stats.lastRows.length !== fb.stats.lastRows.length) return undefined;
    const D = fa.stats.lastRows.length / (fa.stats.nLayer + 1);
    return rowCosines(fa.stats.lastRows, fb.stats.lastRows, D);
  });
}
