// The parts of the studio's state that live in the URL, so that a link reproduces the view.
//   ?model=<hub id> | local:<folder in static/models>   (default local:gpt2-brown-mini)
//   &hub=<endpoint>    a hub mirror (default https://huggingface.co)
//   &prompt=<text>     &bos=1
//   &compare=<text>    compare mode: the second prompt (B)   &bos_b=1
//   &layer=<n> &head=<n>                       the layer shown and the focused head
//   &colormap=viridis|magma|… &scale=linear|log &norm=head|shared &sink=show|hide|renormalize
//   &view=heads|atlas|text    the main view
//   &tab=detectors|entropy|depth|lens|ablation|attribution|patch  the instruments' tab
//   &answer=<text> &foil=<text>   the causal instruments' answer and foil (one token each)
//   &ablate=1.2,0.3,mlp1 &ablate_mode=zero|mean   the ablation selection (heads L.H, MLP layers mlpL)
//   &track=464,3139           the logit lens's tracked token ids
//   (after a local-file load there is no model=: files cannot be named by a link)
//   &kernels=tiled|fallback   the kernel set regardless of the adapter (default: barrier-free on
//                             CPU fallback adapters, tiled on GPUs), to compare the two

import { colormapNames, type ColormapName } from '../viz/colormaps';
import type { HeatmapNormalization, HeatmapScale, SinkMode } from '../render/heatmap-renderer';

export const bundledModel = 'gpt2-brown-mini';

export type ModelRef =
  { readonly kind: 'local'; readonly folder: string } | { readonly kind: 'hub'; readonly id: string };

/** Which kernels the engine runs: 'auto' picks from the adapter. */
export type KernelChoice = 'auto' | 'tiled' | 'fallback';

/** The main area's views (the heads, the all-heads atlas, the text view). */
export const stageViews = ['heads', 'atlas', 'text'] as const;
export type StageView = (typeof stageViews)[number];

/** The instruments' tabs. */
export const instrumentTabs = [
  'detectors',
  'entropy',
  'depth',
  'lens',
  'ablation',
  'attribution',
  'patch',
] as const;
export type InstrumentTab = (typeof instrumentTabs)[number];

/** The ablation instrument's selection. */
export interface AblationSelection {
  readonly heads: readonly { readonly layer: number; readonly head: number }[];
  readonly mlps: readonly number[];
  readonly mode: 'zero' | 'mean';
}

export const emptyAblation: AblationSelection = { heads: [], mlps: [], mode: 'zero' };

export interface ViewState {
  readonly layer: number;
  readonly head: number | undefined;
  readonly colormap: ColormapName;
  readonly scale: HeatmapScale;
  readonly normalization: HeatmapNormalization;
  readonly sink: SinkMode;
}

export interface UrlState {
  /** Undefined: local files (not reachable from a link); reading, the bundled model. */
  readonly model: ModelRef | undefined;
  readonly hubEndpoint: string | undefined;
  readonly prompt: string | undefined;
  readonly bos: boolean;
  /** Compare mode's second prompt; undefined: compare mode off. */
  readonly compare: string | undefined;
  readonly bosB: boolean;
  readonly kernels: KernelChoice;
  readonly view: ViewState;
  readonly stage: StageView;
  readonly tab: InstrumentTab;
  readonly ablation: AblationSelection;
  /** Token ids the logit lens tracks. */
  readonly track: readonly number[];
  /** The causal instruments' answer and foil, as typed (" Mary", " John"). */
  readonly causal: CausalPickState;
}

export interface CausalPickState {
  readonly answer: string;
  readonly foil: string;
}

export const defaultCausalPick: CausalPickState = { answer: ' Mary', foil: ' John' };
const causalTabs: readonly InstrumentTab[] = ['attribution', 'patch'];

export const defaultView: ViewState = {
  layer: 0,
  head: undefined,
  colormap: 'viridis',
  scale: 'linear',
  normalization: 'head',
  sink: 'show',
};

export function parseModelRef(value: string | null | undefined): ModelRef {
  if (!value) return { kind: 'local', folder: bundledModel };
  if (value.startsWith('local:')) return { kind: 'local', folder: value.slice('local:'.length) };
  return { kind: 'hub', id: value };
}

export function formatModelRef(ref: ModelRef): string {
  return ref.kind === 'local' ? `local:${ref.folder}` : ref.id;
}

/** One of `allowed`, or the fallback for anything else (a hand-edited link must not break the page). */
function oneOf<T extends string>(value: string | null, allowed: readonly T[], fallback: T): T {
  return allowed.includes(value as T) ? (value as T) : fallback;
}

function index(value: string | null): number | undefined {
  const n = Number(value);
  return value !== null && value !== '' && Number.isInteger(n) && n >= 0 ? n : undefined;
}

/** "1.2,0.3,mlp1" → heads and MLP layers; anything else in the list is left out. */
export function parseAblation(value: string | null, modeValue: string | null): AblationSelection {
  const heads: { layer: number; head: number }[] = [];
  const mlps: number[] = [];
  for (const part of (value ?? '').split(',')) {
    const mlp = /^mlp(\d+)$/.exec(part);
    const head = /^(\d+)\.(\d+)$/.exec(part);
    if (mlp && !mlps.includes(Number(mlp[1]))) mlps.push(Number(mlp[1]));
    else if (head && !heads.some((h) => h.layer === Number(head[1]) && h.head === Number(head[2])))
      heads.push({ layer: Number(head[1]), head: Number(head[2]) });
  }
  return { heads, mlps, mode: oneOf(modeValue, ['zero', 'mean'], 'zero') };
}

export function formatAblation(a: AblationSelection): string {
  return [...a.heads.map((h) => `${h.layer}.${h.head}`), ...a.mlps.map((l) => `mlp${l}`)].join(',');
}

function ids(value: string | null): number[] {
  const out: number[] = [];
  for (const part of (value ?? '').split(',')) {
    const n = index(part);
    if (n !== undefined && !out.includes(n)) out.push(n);
  }
  return out;
}

export function readUrlState(search: string): UrlState {
  const params = new URLSearchParams(search);
  return {
    model: parseModelRef(params.get('model')),
    hubEndpoint: params.get('hub') ?? undefined,
    prompt: params.get('prompt') ?? undefined,
    bos: params.get('bos') === '1',
    compare: params.get('compare') ?? undefined,
    bosB: params.get('bos_b') === '1',
    kernels: oneOf(params.get('kernels'), ['auto', 'tiled', 'fallback'], 'auto'),
    view: {
      layer: index(params.get('layer')) ?? defaultView.layer,
      head: index(params.get('head')),
      colormap: oneOf(params.get('colormap'), colormapNames, defaultView.colormap),
      scale: oneOf(params.get('scale'), ['linear', 'log'], defaultView.scale),
      normalization: oneOf(params.get('norm'), ['head', 'shared'], defaultView.normalization),
      sink: oneOf(params.get('sink'), ['show', 'hide', 'renormalize'], defaultView.sink),
    },
    stage: oneOf(params.get('view'), stageViews, 'heads'),
    tab: oneOf(params.get('tab'), instrumentTabs, 'detectors'),
    ablation: parseAblation(params.get('ablate'), params.get('ablate_mode')),
    track: ids(params.get('track')),
    causal: {
      answer: params.get('answer') ?? defaultCausalPick.answer,
      foil: params.get('foil') ?? defaultCausalPick.foil,
    },
  };
}

export function writeUrlState(state: UrlState): string {
  const params = new URLSearchParams();
  if (state.model) params.set('model', formatModelRef(state.model));
  if (state.hubEndpoint) params.set('hub', state.hubEndpoint);
  if (state.prompt !== undefined) params.set('prompt', state.prompt);
  if (state.bos) params.set('bos', '1');
  if (state.compare !== undefined) {
    params.set('compare', state.compare);
    if (state.bosB) params.set('bos_b', '1');
  }
  if (state.kernels !== 'auto') params.set('kernels', state.kernels);
  const v = state.view;
  if (v.layer !== defaultView.layer) params.set('layer', String(v.layer));
  if (v.head !== undefined) params.set('head', String(v.head));
  if (v.colormap !== defaultView.colormap) params.set('colormap', v.colormap);
  if (v.scale !== defaultView.scale) params.set('scale', v.scale);
  if (v.normalization !== defaultView.normalization) params.set('norm', v.normalization);
  if (v.sink !== defaultView.sink) params.set('sink', v.sink);
  if (state.stage !== 'heads') params.set('view', state.stage);
  if (state.tab !== 'detectors') params.set('tab', state.tab);
  const ablate = formatAblation(state.ablation);
  if (ablate) params.set('ablate', ablate);
  if (ablate && state.ablation.mode !== 'zero') params.set('ablate_mode', state.ablation.mode);
  if (state.track.length > 0) params.set('track', state.track.join(','));
  // The answer and the foil: with a causal tab shown, or when they are not the defaults.
  const { answer, foil } = state.causal;
  const causalShown = causalTabs.includes(state.tab);
  if (causalShown || answer !== defaultCausalPick.answer) params.set('answer', answer);
  if (causalShown || foil !== defaultCausalPick.foil) params.set('foil', foil);
  return `?${params.toString()}`;
}
