// The parts of the studio's state that live in the URL, so that a link reproduces the view.
//   ?model=<hub id> | local:<folder in static/models>   (default local:gpt2-brown-mini)
//   &hub=<endpoint>    a hub mirror (default https://huggingface.co)
//   &prompt=<text>     &bos=1
//   &compare=<text>    compare mode: the second prompt (B)   &bos_b=1
//   &layer=<n> &head=<n>                       the layer shown and the focused head
//   &colormap=viridis|magma|… &scale=linear|log &norm=head|shared &sink=show|hide|renormalize
//   &kernels=tiled|fallback   the kernel set regardless of the adapter (default: barrier-free on
//                             CPU fallback adapters, tiled on GPUs), to compare the two

import { colormapNames, type ColormapName } from '../viz/colormaps';
import type { HeatmapNormalization, HeatmapScale, SinkMode } from '../render/heatmap-renderer';

export const bundledModel = 'gpt2-brown-mini';

export type ModelRef =
  { readonly kind: 'local'; readonly folder: string } | { readonly kind: 'hub'; readonly id: string };

/** Which kernels the engine runs: 'auto' picks from the adapter. */
export type KernelChoice = 'auto' | 'tiled' | 'fallback';

export interface ViewState {
  readonly layer: number;
  readonly head: number | undefined;
  readonly colormap: ColormapName;
  readonly scale: HeatmapScale;
  readonly normalization: HeatmapNormalization;
  readonly sink: SinkMode;
}

export interface UrlState {
  readonly model: ModelRef;
  readonly hubEndpoint: string | undefined;
  readonly prompt: string | undefined;
  readonly bos: boolean;
  /** Compare mode's second prompt; undefined: compare mode off. */
  readonly compare: string | undefined;
  readonly bosB: boolean;
  readonly kernels: KernelChoice;
  readonly view: ViewState;
}

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
  };
}

export function writeUrlState(state: UrlState): string {
  const params = new URLSearchParams();
  params.set('model', formatModelRef(state.model));
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
  return `?${params.toString()}`;
}
