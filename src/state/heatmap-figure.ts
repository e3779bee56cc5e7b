// The words of a focused head's exported figure (HeatmapView.exportPng): title lines naming the
// head, its hook, the model, the view's settings and the prompt(s); a label per token; what the
// colour bar's values are. Pure: the component passes what it shows.

import { headName } from '../viz/depth-names';
import { headFigureTitle } from '../viz/figure-layout';
import type { HeatmapFigure, HeatmapSettings } from './heatmaps.svelte';

export interface HeatmapFigureInput {
  readonly settings: Pick<HeatmapSettings, 'layer' | 'scale' | 'normalization' | 'sink'>;
  readonly head: number;
  /** The difference view (A − B) rather than one prompt's pattern. */
  readonly diff: boolean;
  readonly model: string;
  readonly T: number;
  /** The prompt(s) as text. */
  readonly prompt: string;
  readonly promptB?: string;
  /** A label per token, and prompt B's in the difference view. */
  readonly labels: readonly string[];
  readonly labelsB?: readonly string[];
}

export function heatmapFigure(f: HeatmapFigureInput): HeatmapFigure {
  const { settings, diff, labels, labelsB } = f;
  const view = [
    settings.scale === 'log' ? 'log scale' : 'linear scale',
    settings.normalization === 'head' ? (diff ? 'per-head max |A − B|' : 'per-head max') : 'shared scale',
    settings.sink === 'show'
      ? 'first token shown'
      : settings.sink === 'hide'
        ? 'first token hidden'
        : 'first token renormalized away',
  ].join(' · ');
  return {
    title: headFigureTitle({
      head: headName(settings.layer, f.head),
      hook: `blocks.${settings.layer}.attn.hook_pattern`,
      model: f.model,
      tokens: f.T,
      view,
      prompt: f.prompt,
      promptB: f.promptB,
    }),
    rowLabels: labelsB ? labels.map((l, i) => (labelsB[i] !== l ? `${l}/${labelsB[i] ?? ''}` : l)) : labels,
    colLabels: labels,
    valueTitle: diff ? 'attention weight, A − B' : 'attention weight',
  };
}
