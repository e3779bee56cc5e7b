// The parts of the studio's state that live in the URL, so that a link reproduces the view.
//   ?model=<hub id> | local:<folder in static/models>   (default local:gpt2-brown-mini)
//   &hub=<endpoint>    a hub mirror (default https://huggingface.co)
//   &prompt=<text>     &bos=1

export const bundledModel = 'gpt2-brown-mini';

export type ModelRef =
  { readonly kind: 'local'; readonly folder: string } | { readonly kind: 'hub'; readonly id: string };

export interface UrlState {
  readonly model: ModelRef;
  readonly hubEndpoint: string | undefined;
  readonly prompt: string | undefined;
  readonly bos: boolean;
}

export function parseModelRef(value: string | null | undefined): ModelRef {
  if (!value) return { kind: 'local', folder: bundledModel };
  if (value.startsWith('local:')) return { kind: 'local', folder: value.slice('local:'.length) };
  return { kind: 'hub', id: value };
}

export function formatModelRef(ref: ModelRef): string {
  return ref.kind === 'local' ? `local:${ref.folder}` : ref.id;
}

export function readUrlState(search: string): UrlState {
  const params = new URLSearchParams(search);
  return {
    model: parseModelRef(params.get('model')),
    hubEndpoint: params.get('hub') ?? undefined,
    prompt: params.get('prompt') ?? undefined,
    bos: params.get('bos') === '1',
  };
}

export function writeUrlState(state: UrlState): string {
  const params = new URLSearchParams();
  params.set('model', formatModelRef(state.model));
  if (state.hubEndpoint) params.set('hub', state.hubEndpoint);
  if (state.prompt !== undefined) params.set('prompt', state.prompt);
  if (state.bos) params.set('bos', '1');
  return `?${params.toString()}`;
}
