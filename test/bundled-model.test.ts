// The bundled model (static/models/gpt2-brown-mini), loaded as the studio loads it and run on the
// WGSL engine, shows the phenomena it was trained for (issue: the bundled offline model):
//  - a previous-token head: mean attention from position i to i−1 on English text ≥ 0.5;
//  - an induction head: on [BOS] + R + R (R: 40 random tokens, as TransformerLens measures it),
//    mean attention from each position of the second R to the token after its first occurrence ≥ 0.5.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { filesFromDirectory } from '../src/cli/node-source';
import type { Engine } from '../src/engine/engine';
import { readTextureLayer } from '../src/gpu/readback';
import { openModel, type OpenedModel } from '../src/model/load';
import { loadEngine, useGpu } from './support/tiny-engine';

const gpu = useGpu();
let model: OpenedModel;
let engine: Engine;

beforeAll(async () => {
  model = await openModel(await filesFromDirectory('static/models/gpt2-brown-mini'));
  engine = await loadEngine(gpu, model.checkpoint);
});
afterAll(() => engine?.dispose());

/** patterns[layer][head] as [T, T] row-major, read from the engine's captures. */
async function patterns(tokens: number[]): Promise<Float32Array[][]> {
  const session = engine.createSession({ lens: 'final', captureFormat: 'rgba32float' });
  await session.run(tokens);
  const T = tokens.length;
  const out: Float32Array[][] = [];
  for (let l = 0; l < model.config.nLayer; l++) {
    const tex = session.capture({ kind: 'pattern', layer: l });
    const heads: Float32Array[] = [];
    for (let h = 0; h < model.config.nHead; h++) {
      const raw = await readTextureLayer(gpu.device, tex, h);
      const p = new Float32Array(T * T);
      for (let q = 0; q < T; q++) p.set(raw.subarray(q * tex.width * 4, q * tex.width * 4 + T), q * T);
      heads.push(p);
    }
    out.push(heads);
  }
  session.destroy();
  return out;
}

const best = (scores: number[][]) => Math.max(...scores.flat());

test('the model is the GPT-2 architecture with the GPT-2 tokenizer and a context of at least 256', () => {
  const c = model.config;
  expect(c.vocabSize).toBe(50257);
  expect(c.nCtx).toBeGreaterThanOrEqual(256);
  expect(c.nLayer).toBeGreaterThanOrEqual(4);
  expect(c.nHead).toBeGreaterThanOrEqual(4);
  expect(model.tokenizer.encode('The capital of France is')).toEqual([464, 3139, 286, 4881, 318]);
});

test('some head attends to the previous token (score ≥ 0.5)', async () => {
  const text =
    'The jury further said in term-end presentments that the City Executive Committee, which had over-all ' +
    'charge of the election, deserves the praise and thanks of the City of Atlanta for the manner in which ' +
    'the election was conducted.';
  const tokens = model.tokenizer.encode(text);
  const T = tokens.length;
  const p = await patterns(tokens);
  const scores = p.map((layer) =>
    layer.map((head) => {
      let s = 0;
      for (let q = 1; q < T; q++) s += head[q * T + q - 1]!;
      return s / (T - 1);
    }),
  );
  console.log('previous-token scores', scores.map((l) => l.map((s) => s.toFixed(2)).join(' ')).join(' | '));
  expect(best(scores)).toBeGreaterThanOrEqual(0.5);
});

test('some head is an induction head on repeated random tokens (score ≥ 0.5)', async () => {
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed);
  const n = 40;
  const r = Array.from({ length: n }, () => 1000 + (random() % 9000));
  const tokens = [model.tokenizer.endOfTextId, ...r, ...r];
  const T = tokens.length;
  const p = await patterns(tokens);
  const scores = p.map((layer) =>
    layer.map((head) => {
      let s = 0;
      // Position q in the second copy (q ≥ 1 + n) holds r[q − 1 − n]; its first occurrence is at
      // q − n and the token after it at q − n + 1.
      for (let q = 1 + n; q < T; q++) s += head[q * T + (q - n + 1)]!;
      return s / (T - 1 - n);
    }),
  );
  console.log('induction scores', scores.map((l) => l.map((s) => s.toFixed(2)).join(' ')).join(' | '));
  expect(best(scores)).toBeGreaterThanOrEqual(0.5);
});
