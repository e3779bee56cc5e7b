// session.capture(hook) for every kind of hook against the CPU reference, and the names filter
// (run_with_cache's names_filter): only the hooks asked for get buffers, the table's formulas match
// the real allocation, the forward's results do not depend on what is captured, and asking for a
// hook that is not captured (or does not exist) is a clear error. Tolerances: patterns 1e-5 max
// abs; residuals, hook_z, hook_attn_out, hook_mlp_out and logits 1e-4 × max |value|.
import { describe, expect, test } from 'vitest';
import { activationTable } from '../src/engine/activations';
import { activationBytes, captureBytes, forwardFlops } from '../src/engine/cost';
import { lensChunk, lensTopK, type PromptSession } from '../src/engine/session';
import { readBuffer, readTextureLayer } from '../src/gpu/readback';
import type { Ablation } from '../src/model/ablation';
import { hookName, hookPoints, type BufferHookName } from '../src/model/hooks';
import { gpt2Config } from '../src/model/fixtures';
import { referenceForward, type ReferenceResult } from '../src/model/reference';
import type { Gpt2Config } from '../src/model/types';
import { kernelCases } from './support/kernel-cases';
import { useGpu, withEngine } from './support/tiny-engine';
import { maxAbs, randomTokens, sharpWeights } from './support/tiny-models';

const gpu = useGpu();

/** Max |got − want| over the first n values, and the scale 1e-4 × max |want| it must stay within. */
async function bufferError(session: PromptSession, name: BufferHookName, want: Float32Array) {
  const got = new Float32Array(await readBuffer(gpu.device, session.capture(name), want.length * 4));
  let err = 0;
  for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i]! - want[i]!));
  return { err, bound: 1e-4 * maxAbs(want) };
}

/** Checks every captured hook of `session` (all of them captured) against the reference. */
async function checkAll(session: PromptSession, config: Gpt2Config, ref: ReferenceResult, T: number) {
  const { nLayer: L, nHead: H, vocabSize: V } = config;
  for (let l = 0; l < L; l++) {
    const tex = session.capture(`blocks.${l}.attn.hook_pattern`);
    let worst = 0;
    for (let h = 0; h < H; h++) {
      const got = await readTextureLayer(gpu.device, tex, h);
      for (let q = 0; q < T; q++)
        for (let k = 0; k < T; k++)
          worst = Math.max(
            worst,
            Math.abs(got[q * tex.width * 4 + k]! - ref.patterns[l]![(h * T + q) * T + k]!),
          );
    }
    expect(worst, `blocks.${l}.attn.hook_pattern`).toBeLessThanOrEqual(1e-5);
    const resid: [BufferHookName, Float32Array][] = [
      [`blocks.${l}.hook_resid_pre`, ref.residPre[l]!],
      [`blocks.${l}.hook_resid_mid`, ref.residMid[l]!],
      [`blocks.${l}.hook_resid_post`, l + 1 < L ? ref.residPre[l + 1]! : ref.residPost],
      [`blocks.${l}.attn.hook_z`, ref.hooks.z[l]!],
      [`blocks.${l}.hook_attn_out`, ref.hooks.attnOut[l]!],
      [`blocks.${l}.hook_mlp_out`, ref.hooks.mlpOut[l]!],
    ];
    for (const [name, want] of resid) {
      const { err, bound } = await bufferError(session, name, want);
      expect(err, name).toBeLessThanOrEqual(bound);
    }
  }
  const { err, bound } = await bufferError(session, 'logits_last', ref.logits.subarray((T - 1) * V, T * V));
  expect(err, 'logits_last').toBeLessThanOrEqual(bound);
}

describe.each(kernelCases)('capture(hook) against the reference: $name', ({ config, fallbackKernels }) => {
  const weights = sharpWeights(config, 11);
  const T = 13;
  const tokens = randomTokens(T, config.vocabSize, 4);
  const ablate: Ablation = { heads: [{ layer: 0, head: 1 }], mlps: [1], mode: 'mean' };

  test('every hook, clean and ablated (mean, and zero with hook_mlp_out captured)', async () => {
    await withEngine(gpu, weights, { fallbackKernels }, async (engine) => {
      const session = engine.createSession({ capacity: 8, namesFilter: () => true });
      const names = hookPoints(config.nLayer).map(hookName);
      // resid_post of block 0 is the same capture as resid_pre of block 1.
      expect(session.captures.length).toBe(names.length - (config.nLayer - 1));
      const clean = await session.run(tokens);
      await checkAll(session, config, referenceForward(weights, tokens), T);
      // hook_attn_out, hook_mlp_out and mlp.hook_pre cost no FLOPs (the matmuls store them beside
      // their epilogue); the hooks computed for their capture alone are counted.
      // `logits` costs none either where the lens kernel writes the final stream's rows whole (the
      // tiled and vec4 kernels), else one unembedding of every position.
      const { nLayer: L, nEmbd: D } = config;
      const logitsLastFused = fallbackKernels ? D % 4 === 0 : true;
      expect(clean.flops).toBe(
        forwardFlops(config, T, L + 1, { logitsLastFused }) +
          L * 2 * ((T * (T + 1)) / 2) * D + // attn.hook_attn_scores: q·k per causal pair
          (logitsLastFused ? 0 : T * 2 * D * config.vocabSize), // logits at every position
      );
      await session.run(tokens, { ablate });
      await checkAll(session, config, referenceForward(weights, tokens, { ablate }), T);
      const zero: Ablation = { heads: [{ layer: 1, head: 0 }], mlps: [0], mode: 'zero' };
      await session.run(tokens, { ablate: zero });
      await checkAll(session, config, referenceForward(weights, tokens, { ablate: zero }), T);
    });
  });

  test('a names filter allocates only the hooks asked for; results do not depend on it', async () => {
    await withEngine(gpu, weights, { fallbackKernels }, async (engine) => {
      const C = 16;
      const full = engine.createSession({ capacity: C, lens: 'final' });
      const few = engine.createSession({
        capacity: C,
        lens: 'final',
        namesFilter: ['blocks.1.attn.hook_z', 'blocks.0.hook_mlp_out', { kind: 'pattern', layer: 1 }],
      });
      const want = new Set([
        'blocks.1.attn.hook_z',
        'blocks.0.hook_mlp_out',
        'blocks.1.attn.hook_pattern',
        `blocks.${config.nLayer - 1}.hook_resid_post`, // the lens point
        'logits_last',
      ]);
      expect(new Set(few.captures)).toEqual(want);
      const fewSet = new Set(few.captures);
      const table = activationTable(config, C, {
        lensPoints: 1,
        lensChunk,
        topK: lensTopK,
        captureFormat: few.captureFormat,
        captures: fewSet,
      });
      expect(new Set(table.rows.filter((r) => r.hook).map((r) => r.name))).toEqual(want);
      expect(few.bytes).toBe(
        captureBytes(config, C, few.captureFormat, fewSet) +
          activationBytes(config, C, 1, lensChunk, lensTopK, fewSet),
      );
      // Asking for nothing: the lens point and logits_last only. Against the default: 2L+1 residual
      // buffers become 1 and two ping-pong scratch ones, L pattern textures one scratch texture.
      const none = engine.createSession({ capacity: C, lens: 'final', namesFilter: [] });
      const { nLayer: L, nEmbd: D } = config;
      expect(full.bytes - none.bytes).toBe(
        (2 * L - 2) * C * D * 4 + ((L - 1) / L) * captureBytes(config, C, full.captureFormat),
      );

      const a = await full.run(tokens, { ablate });
      const b = await few.run(tokens, { ablate });
      expect(b.lens.ids).toEqual(a.lens.ids);
      expect(b.lens.probs).toEqual(a.lens.probs);
      const logits = async (s: PromptSession) =>
        new Float32Array(await readBuffer(gpu.device, s.capture('logits_last')));
      expect(await logits(few)).toEqual(await logits(full));
      const ref = referenceForward(weights, tokens, { ablate });
      const { err, bound } = await bufferError(few, 'blocks.1.attn.hook_z', ref.hooks.z[1]!);
      expect(err).toBeLessThanOrEqual(bound);

      expect(() => few.capture('blocks.0.hook_resid_mid')).toThrow(
        'blocks.0.hook_resid_mid is not captured by this session; it captures ',
      );
      expect(() => few.capture({ kind: 'pattern', layer: 0 })).toThrow(/blocks\.1\.attn\.hook_pattern/);
      expect(() => full.capture('blocks.0.attn.hook_z')).toThrow(
        'blocks.0.attn.hook_z is not captured by this session',
      );
    });
  });

  test.each(['final', 'all'] as const)(
    '`logits` with lens %s: every position against the reference, logits_last its last row',
    async (lens) => {
      await withEngine(gpu, weights, { fallbackKernels }, async (engine) => {
        const base = { capacity: 16, lens, namesFilter: [] };
        const plain = engine.createSession(base);
        const withLogits = engine.createSession({ ...base, namesFilter: ['logits'] as const });
        const r1 = await plain.run(tokens);
        const r2 = await withLogits.run(tokens);
        const ref = referenceForward(weights, tokens);
        const { err, bound } = await bufferError(withLogits, 'logits', ref.logits);
        expect(err).toBeLessThanOrEqual(bound);
        const V = config.vocabSize;
        const last = async (s: PromptSession) =>
          new Float32Array(await readBuffer(gpu.device, s.capture('logits_last')));
        const all = new Float32Array(await readBuffer(gpu.device, withLogits.capture('logits'), T * V * 4));
        expect(await last(withLogits)).toEqual(all.subarray((T - 1) * V, T * V));
        expect(await last(withLogits)).toEqual(await last(plain));
        expect(r2.lens.probs).toEqual(r1.lens.probs);
        // The tiled and vec4 lens kernels write the final stream's rows whole as they unembed
        // them: no step and no FLOPs of its own. The scalar path runs ln_final and the
        // unembedding of every position.
        const inLens = !fallbackKernels || config.nEmbd % 4 === 0;
        const { wteParts } = engine.weights;
        expect(r2.dispatches - r1.dispatches).toBe(inLens ? 0 : 1 + wteParts.length);
        expect(r2.flops - r1.flops).toBe(inLens ? 0 : T * 2 * config.nEmbd * V);
      });
    },
  );
});

test('unknown hooks in a names filter are refused when the session is made', async () => {
  const config = gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 16, nCtx: 8, vocabSize: 50 });
  await withEngine(gpu, sharpWeights(config, 2), async (engine) => {
    expect(() => engine.createSession({ namesFilter: ['blocks.2.hook_resid_pre'] })).toThrow(
      'blocks.2.hook_resid_pre is not a hook this engine captures for a model of 2 layers',
    );
    expect(() => engine.createSession({ namesFilter: 'ln_final.hook_norm' as never })).toThrow(
      'ln_final.hook_norm is not a hook this engine captures',
    );
    // A predicate that asks for nothing still captures the lens points and logits_last.
    const s = engine.createSession({ lens: 'final', namesFilter: () => false });
    expect(s.captures).toEqual(['blocks.1.hook_resid_post', 'logits_last']);
    const r = await s.run([1, 2, 3]);
    expect(r.lens.ids.length).toBe(3 * r.lens.k);
  });
});
