import { expect, test } from 'vitest';
import { defaultView, readUrlState, writeUrlState } from '../src/state/url-state';

test('the URL round-trips model, prompt and view', () => {
  const state = {
    model: { kind: 'hub', id: 'openai-community/gpt2' } as const,
    hubEndpoint: 'http://127.0.0.1:9999',
    prompt: 'The capital of France is & more?',
    bos: true,
    compare: 'The capital of Italy is',
    bosB: true,
    kernels: 'tiled' as const,
    view: {
      layer: 5,
      head: 1,
      colormap: 'magma',
      scale: 'log',
      normalization: 'shared',
      sink: 'renormalize',
    } as const,
  };
  expect(readUrlState(writeUrlState(state))).toEqual(state);
});

test('defaults stay out of the URL; the bundled model is the default', () => {
  const search = writeUrlState({
    model: { kind: 'local', folder: 'gpt2-brown-mini' },
    hubEndpoint: undefined,
    prompt: 'Hi',
    bos: false,
    compare: undefined,
    bosB: true, // only written with a compare prompt
    kernels: 'auto',
    view: defaultView,
  });
  expect(search).toBe('?model=local%3Agpt2-brown-mini&prompt=Hi');
  expect(readUrlState('').model).toEqual({ kind: 'local', folder: 'gpt2-brown-mini' });
  expect(readUrlState('').compare).toBeUndefined();
  expect(readUrlState('?compare=').compare).toBe('');
});

test('a hand-edited link with bad values falls back instead of breaking the page', () => {
  const s = readUrlState('?layer=-3&head=x&colormap=rainbow&scale=cubic&norm=&sink=1&kernels=fast');
  expect(s.view).toEqual(defaultView);
  expect(s.kernels).toBe('auto');
});
