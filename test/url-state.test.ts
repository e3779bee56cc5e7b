import { expect, test } from 'vitest';
import {
  defaultCausalPick,
  defaultView,
  emptyAblation,
  readUrlState,
  writeUrlState,
} from '../src/state/url-state';

test('the URL round-trips model, prompt and view, the instruments tab, the ablation and tracked tokens', () => {
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
    stage: 'atlas' as const,
    tab: 'ablation' as const,
    ablation: {
      heads: [
        { layer: 1, head: 2 },
        { layer: 0, head: 3 },
      ],
      mlps: [1],
      mode: 'mean',
    } as const,
    track: [464, 3139],
    causal: { answer: ' drink & more', foil: '<|endoftext|>' },
  };
  const search = writeUrlState(state);
  expect(search).toContain('tab=ablation');
  expect(search).toContain('ablate=1.2%2C0.3%2Cmlp1');
  expect(search).toContain('track=464%2C3139');
  expect(readUrlState(search)).toEqual(state);
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
    stage: 'heads',
    tab: 'detectors',
    ablation: emptyAblation,
    track: [],
    causal: defaultCausalPick,
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

test('a hand-edited ablation or track list keeps what it can read', () => {
  const s = readUrlState('?ablate=1.2,x,mlp,mlp3,1.2,4.&ablate_mode=half&track=5,-1,a,5,7&tab=nope&view=3d');
  expect(s.ablation).toEqual({ heads: [{ layer: 1, head: 2 }], mlps: [3], mode: 'zero' });
  expect(s.track).toEqual([5, 7]);
  expect(s.tab).toBe('detectors');
  expect(s.stage).toBe('heads');
});

test('after a local-file load the URL names no model', () => {
  const search = writeUrlState({
    model: undefined,
    hubEndpoint: undefined,
    prompt: 'Hi',
    bos: false,
    compare: undefined,
    bosB: false,
    kernels: 'auto',
    view: defaultView,
    stage: 'heads',
    tab: 'lens',
    ablation: emptyAblation,
    track: [],
    causal: defaultCausalPick,
  });
  expect(search).toBe('?prompt=Hi&tab=lens');
  expect(search).not.toContain('gpt2-brown-mini');
});

test('the causal tabs keep the tab, the answer and the foil in the URL', () => {
  const base = readUrlState('?prompt=Hi');
  expect(base.causal).toEqual(defaultCausalPick);
  // A causal tab shown: the answer and the foil are written even as the defaults.
  const patch = writeUrlState({ ...base, tab: 'patch' });
  expect(patch).toBe('?model=local%3Agpt2-brown-mini&prompt=Hi&tab=patch&answer=+Mary&foil=+John');
  expect(readUrlState(patch)).toEqual({ ...base, tab: 'patch' });
  const typed = { ...base, tab: 'attribution' as const, causal: { answer: ' the', foil: ' a' } };
  expect(readUrlState(writeUrlState(typed))).toEqual(typed);
  // Another tab: only an answer or a foil that is not the default is written.
  expect(writeUrlState({ ...typed, tab: 'lens' })).toContain('answer=+the&foil=+a');
  expect(writeUrlState({ ...base, tab: 'lens' })).not.toContain('answer');
});
