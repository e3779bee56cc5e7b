// The fused forward (ln_1 + c_attn and ln_2 + c_fc with the LayerNorm folded into the matmul,
// softmax + values in one attention kernel: 5 dispatches per block), the attention alone fused (7)
// and the unfused forward (8) against the CPU reference (src/model/reference.ts, runWithCache for
// the hooks), on both kernel sets (the barrier-free fallback kernels, scalar and vec4, and the
// tiled ones), on odd shapes (D and head size not multiples of 4, T = 1, T not a multiple of the
// 64-row tiles) and on the bundled model.
// Tolerances: attention patterns max abs error ≤ 1e-5; residuals, hook_z, logits and every other
// hook ≤ 1e-4 × max |value|.
import { describe, expect, test } from 'vitest';
import { filesFromDirectory } from '../src/cli/node-source';
import { blockDispatches, forwardDispatches } from '../src/engine/cost';
import type { PromptSession } from '../src/engine/session';
import { readBuffer, readTextureLayer } from '../src/gpu/readback';
import { hookName, residualBoundaries, type HookName } from '../src/model/hooks';
import { openModel } from '../src/model/load';
import { referenceForward, type ReferenceResult } from '../src/model/reference';
import { runWithCache } from '../src/model/reference-hooks';
import type { Gpt2Config, Gpt2Weights } from '../src/model/types';
import { referenceResiduals, kernelCase } from './support/reference-cases';
import { loadEngine, useGpu, withEngine } from './support/tiny-engine';
import { maxAbs, randomTokens, sharpWeights } from './support/tiny-models';

const gpu = useGpu();

/** The default captures (patterns, residual stream, logits_last) and hook_z: no capture-only steps. */
const forwardHooks = (name: string) => /hook_pattern|hook_resid|hook_z|logits_last/.test(name);

interface Case {
  readonly name: string;
  readonly config: Gpt2Config;
  readonly T: number;
  readonly fallbackKernels: boolean;
}

const cases: Case[] = [
  kernelCase('fallback vec4, D=48, HD=16, T=nCtx', [2, 3, 48, 24, 300], 24, 'fallback'),
  kernelCase('fallback scalar, D=30, HD=10, T=11', [2, 3, 30, 12, 130], 11, 'fallback'),
  kernelCase('fallback, D=60, HD=12, nInner=100, T=1', [1, 5, 60, 16, 517, 100], 1, 'fallback'),
  kernelCase(
    'fallback, D=36, HD=6 (vec4 matmuls, scalar attention), T=9',
    [2, 6, 36, 16, 200],
    9,
    'fallback',
  ),
  kernelCase('tiled, D=72, H=3, T=67 (not a multiple of 64)', [1, 3, 72, 70, 260], 67, 'tiled'),
  kernelCase('tiled, D=30, HD=10, T=1', [2, 3, 30, 8, 130], 1, 'tiled'),
  kernelCase('tiled, HD=80 > 64 threads, T=13', [1, 2, 160, 16, 100], 13, 'tiled'),
];

/** Max |got − want| over want's values, with the bound 1e-4 × max |want|. */
async function bufferError(buffer: GPUBuffer, want: Float32Array) {
  const got = new Float32Array(await readBuffer(gpu.device, buffer, want.length * 4));
  let err = 0;
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i]! - want[i]!));
  return { err, bound: 1e-4 * maxAbs(want) };
}

async function patternError(session: PromptSession, ref: ReferenceResult, H: number, T: number) {
  let worst = 0;
  for (const [l, want] of ref.patterns.entries()) {
    const tex = session.capture({ kind: 'pattern', layer: l });
    for (let h = 0; h < H; h++) {
      const got = await readTextureLayer(gpu.device, tex, h);
      for (let q = 0; q < T; q++)
        for (let k = 0; k < T; k++)
          worst = Math.max(worst, Math.abs(got[q * tex.width * 4 + k]! - want[(h * T + q) * T + k]!));
    }
  }
  return worst;
}

/** Patterns, the residual stream at every boundary, hook_z and logits_last against the reference. */
async function checkForward(session: PromptSession, weights: Gpt2Weights, tokens: number[]) {
  const { nLayer: L, nHead: H, vocabSize: V } = weights.config;
  const T = tokens.length;
  const ref = referenceForward(weights, tokens);
  expect(await patternError(session, ref, H, T), 'patterns').toBeLessThanOrEqual(1e-5);
  const resid = referenceResiduals(ref);
  for (const [i, point] of residualBoundaries(L).entries()) {
    const { err, bound } = await bufferError(session.capture(point), resid[i]!);
    expect(err, hookName(point)).toBeLessThanOrEqual(bound);
  }
  for (let l = 0; l < L; l++) {
    const { err, bound } = await bufferError(session.capture(`blocks.${l}.attn.hook_z`), ref.hooks.z[l]!);
    expect(err, `blocks.${l}.attn.hook_z`).toBeLessThanOrEqual(bound);
  }
  const want = ref.logits.subarray((T - 1) * V, T * V);
  const { err, bound } = await bufferError(session.capture('logits_last'), Float32Array.from(want));
  expect(err, 'logits_last').toBeLessThanOrEqual(bound);
}

/** Every hook the session captures against runWithCache (patterns 1e-5, the rest 1e-4 × max). */
async function checkHooks(session: PromptSession, weights: Gpt2Weights, tokens: number[]) {
  const T = tokens.length;
  const { nHead: H } = weights.config;
  const names = session.captures.filter((n) => n !== 'logits_last');
  const cache = runWithCache(weights, tokens, names, { logits: 'all' });
  for (const name of names) {
    const want = cache.get(name as Parameters<typeof cache.get>[0])!.data;
    if (name.endsWith('hook_pattern')) {
      const tex = session.capture(name as `blocks.${number}.attn.hook_pattern`);
      let worst = 0;
      for (let h = 0; h < H; h++) {
        const got = await readTextureLayer(gpu.device, tex, h);
        for (let q = 0; q < T; q++)
          for (let k = 0; k < T; k++)
            worst = Math.max(worst, Math.abs(got[q * tex.width * 4 + k]! - want[(h * T + q) * T + k]!));
      }
      expect(worst, name).toBeLessThanOrEqual(1e-5);
      continue;
    }
    const buffer = session.capture(name as Exclude<HookName, `blocks.${number}.attn.hook_pattern`>);
    const got = new Float32Array(await readBuffer(gpu.device, buffer, want.length * 4));
    // attn.hook_attn_scores: -Infinity above the diagonal on both sides.
    const finite = want.filter(Number.isFinite);
    const bound = 1e-4 * maxAbs(finite);
    let err = 0;
    for (let i = 0; i < want.length; i++) {
      if (Number.isFinite(want[i]!)) err = Math.max(err, Math.abs(got[i]! - want[i]!));
      else expect(got[i], `${name}[${i}]`).toBe(want[i]);
    }
    expect(err, name).toBeLessThanOrEqual(bound);
  }
}

describe.each(cases)('fused and unfused forward against the reference: $name', (c) => {
  const weights = sharpWeights(c.config, 7);
  const tokens = randomTokens(c.T, c.config.vocabSize, 3);

  test('patterns, residuals, hook_z, logits; fusion on, attention, off: 5, 7, 8 dispatches per block', async () => {
    await withEngine(gpu, weights, { fallbackKernels: c.fallbackKernels }, async (engine) => {
      const { nLayer: L, nEmbd: D } = c.config;
      const logitsLastFused = !c.fallbackKernels || D % 4 === 0;
      const wteParts = engine.weights.wteParts.length;
      for (const fusion of ['on', 'attention', 'off'] as const) {
        const session = engine.createSession({ capacity: 8, fusion, namesFilter: forwardHooks }); // grows to fit T
        const result = await session.run(tokens);
        await checkForward(session, weights, tokens);
        const o = { fusion, wteParts, logitsLastFused };
        expect(result.dispatches).toBe(forwardDispatches(L, o));
        expect(forwardDispatches(L, o) - forwardDispatches(0, o)).toBe(L * blockDispatches(fusion));
        expect(blockDispatches(fusion)).toBe({ on: 5, attention: 7, off: 8 }[fusion]);
        session.destroy();
      }
    });
  });
});

describe.each(cases.filter((c) => c.T > 1))('captures with fusion: $name', (c) => {
  const weights = sharpWeights(c.config, 11);
  const tokens = randomTokens(c.T, c.config.vocabSize, 4);
  const lnOutputs = /ln\d\.hook_normalized/;

  test('every hook but the LayerNorm outputs, then every hook (the LayerNorms also run alone)', async () => {
    await withEngine(gpu, weights, { fallbackKernels: c.fallbackKernels }, async (engine) => {
      const base = { capacity: c.T, fusion: 'on' } as const;
      const fused = engine.createSession({ ...base, namesFilter: (n) => !lnOutputs.test(n) });
      const all = engine.createSession({ ...base, namesFilter: () => true });
      const r1 = await fused.run(tokens);
      await checkHooks(fused, weights, tokens);
      const r2 = await all.run(tokens);
      await checkHooks(all, weights, tokens);
      // Capturing ln1/ln2.hook_normalized brings back ln_1 and ln_2 in every block, each writing
      // its capture and its hook_scale, in place of the 2 steps per block that computed the scales
      // alone (ln_final likewise): as many dispatches. The forward's own steps stay the fused
      // ones, so its results are bit-identical.
      expect(r1.dispatches).toBeGreaterThan(0);
      expect(r2.dispatches - r1.dispatches).toBe(0);
      expect(r2.lens.probs).toEqual(r1.lens.probs);
      const logits = async (s: PromptSession) =>
        new Float32Array(await readBuffer(gpu.device, s.capture('logits_last')));
      expect(await logits(all)).toEqual(await logits(fused));
    });
  });
});

describe.each(cases.filter((c) => c.T > 1))('side outputs: $name', (c) => {
  const weights = sharpWeights(c.config, 12);
  const tokens = randomTokens(c.T, c.config.vocabSize, 5);
  const side = /hook_attn_out|hook_mlp_out|mlp\.hook_(pre|post)/;

  test.each(['on', 'off'] as const)(
    'hook_attn_out, hook_mlp_out and mlp.hook_pre/post add no dispatch (fusion %s)',
    async (fusion) => {
      await withEngine(gpu, weights, { fallbackKernels: c.fallbackKernels }, async (engine) => {
        const base = { capacity: c.T, lens: 'final' as const, fusion };
        const plain = engine.createSession({ ...base, namesFilter: forwardHooks });
        const withSide = engine.createSession({
          ...base,
          namesFilter: (n) => forwardHooks(n) || side.test(n),
        });
        const r1 = await plain.run(tokens);
        const r2 = await withSide.run(tokens);
        // The matmuls store them beside their epilogue: same steps, same FLOPs, same results.
        expect(r2.dispatches).toBe(r1.dispatches);
        expect(r2.flops).toBe(r1.flops);
        await checkHooks(withSide, weights, tokens);
        const logits = async (s: PromptSession) =>
          new Float32Array(await readBuffer(gpu.device, s.capture('logits_last')));
        expect(await logits(withSide)).toEqual(await logits(plain));
      });
    },
  );
});

describe.each(cases.filter((c) => c.T > 1))('hook_scale in the LayerNorm: $name', (c) => {
  const weights = sharpWeights(c.config, 13);
  const tokens = randomTokens(c.T, c.config.vocabSize, 6);
  const L = c.config.nLayer;
  const normalized = /ln(1|2|_final)\.hook_normalized/;
  const scales = /ln(1|2|_final)\.hook_scale/;

  test.each(['on', 'off'] as const)(
    'ln*.hook_scale is written by the LayerNorm where it runs (fusion %s)',
    async (fusion) => {
      await withEngine(gpu, weights, { fallbackKernels: c.fallbackKernels }, async (engine) => {
        const base = { capacity: c.T, lens: 'final' as const, fusion };
        const session = (f: (n: string) => boolean) =>
          engine.createSession({ ...base, namesFilter: (n) => forwardHooks(n) || f(n) });
        const plain = await session(() => false).run(tokens);
        const norm = await session((n) => normalized.test(n)).run(tokens);
        const scaleOnly = session((n) => scales.test(n));
        const both = session((n) => normalized.test(n) || scales.test(n));
        // Beside a captured hook_normalized, every LayerNorm runs and writes its scale: no dispatch more.
        expect((await both.run(tokens)).dispatches).toBe(norm.dispatches);
        await checkHooks(both, weights, tokens);
        // Alone, hook_scale takes a step where its LayerNorm does not run: ln_1 and ln_2 folded into
        // their matmuls (fusion 'on'), and ln_final (the lens normalises the final stream itself).
        const alone = (await scaleOnly.run(tokens)).dispatches - plain.dispatches;
        expect(alone).toBe(fusion === 'on' ? 2 * L + 1 : 1);
        await checkHooks(scaleOnly, weights, tokens);
      });
    },
  );
});

test('the bundled model: fused and unfused agree with the reference', async () => {
  const model = await openModel(await filesFromDirectory('static/models/gpt2-brown-mini'));
  const weights = await model.checkpoint.loadWeights();
  const tokens = model.tokenizer.encode(
    'The jury said the election was conducted well, and the city agreed.',
  );
  for (const fallbackKernels of [true, false]) {
    const engine = await loadEngine(gpu, model.checkpoint, { fallbackKernels });
    try {
      for (const fusion of ['on', 'off'] as const) {
        const session = engine.createSession({ lens: 'final', fusion, namesFilter: forwardHooks });
        await session.run(tokens);
        await checkForward(session, weights, tokens);
        session.destroy();
      }
    } finally {
      engine.dispose();
    }
  }
});
