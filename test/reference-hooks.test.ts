// runWithCache, the CPU reference forward with every TransformerLens hook: against the independent
// numpy forward (tools/reference_numpy.py) on random checkpoints in the hub's layouts and on the
// bundled model, bit-identical to referenceForward where both produce a value, and the algebra that
// ties the hooks together (resid_mid = resid_pre + attn_out, …) recomputed here in f64.
import { describe, expect, it } from 'vitest';
import { filesFromDirectory } from '../src/cli/node-source';
import { bytesSource } from '../src/model/byte-source';
import { openGpt2Checkpoint } from '../src/model/checkpoint';
import { toFloat32 } from '../src/model/dtype';
import { checkpointVariants, encodeGpt2Checkpoint, gpt2Config } from '../src/model/fixtures';
import { allHookNames, type HookName } from '../src/model/hook-names';
import { openModel } from '../src/model/load';
import { referenceForward } from '../src/model/reference';
import { runWithCache, type ActivationCache } from '../src/model/reference-hooks';
import { openSafetensors } from '../src/model/safetensors';
import type { Gpt2Weights } from '../src/model/types';
import { expectCloseHook, numpyHooks } from './support/numpy-hooks';
import { maxAbs, randomTokens, sharpWeights } from './support/tiny-models';

const config = gpt2Config({ nLayer: 2, nHead: 4, nEmbd: 32, nCtx: 16, vocabSize: 97, nInner: 80 });

/** Attention (scores, pattern) at 1e-5 of max |value|, everything else at 1e-5 too: both are f64 forwards. */
const tolerance = 1e-5;

function expectMatchesNumpy(cache: ActivationCache, numpy: ReturnType<typeof numpyHooks>, label: string) {
  expect([...cache.keys()], `${label}: names in forward order`).toEqual([...numpy.keys()]);
  for (const [name, ours] of cache) {
    const theirs = numpy.get(name)!;
    expect(ours.shape, `${label}: ${name} shape`).toEqual(theirs.shape);
    expectCloseHook(ours.data, theirs.data, `${label}: ${name}`, tolerance);
  }
}

async function weightsFromCheckpoint(bytes: Uint8Array): Promise<Gpt2Weights> {
  return openGpt2Checkpoint(
    config,
    await openSafetensors(bytesSource('model.safetensors', bytes)),
  ).loadWeights();
}

describe('runWithCache against tools/reference_numpy.py', () => {
  // One of each dtype, the prefix, lm_head and mask-buffer variants each present in some.
  const variants = [0, 7, 10, 13, 20].map((i) => checkpointVariants[i]!);
  for (const variant of variants) {
    const label = `${variant.dtype}${variant.prefix ? ', transformer. prefix' : ''}${variant.lmHead ? ', lm_head' : ''}${variant.attnBias ? ', mask buffers' : ''}`;
    it(`every hook of a random checkpoint (${label}), logits at every position`, async () => {
      const weights = await weightsFromCheckpoint(encodeGpt2Checkpoint(sharpWeights(config, 5), variant));
      const tokens = randomTokens(9, config.vocabSize, 3);
      const cache = runWithCache(weights, tokens, allHookNames(config.nLayer), { logits: 'all' });
      expectMatchesNumpy(cache, numpyHooks(weights, tokens), label);
    });
  }

  it('with heads and an MLP ablated (mean): hook_z and hook_mlp_out hold the ablated values', () => {
    const weights = sharpWeights(config, 8);
    const tokens = randomTokens(11, config.vocabSize, 4);
    const ablate = {
      heads: [
        { layer: 0, head: 2 },
        { layer: 1, head: 0 },
      ],
      mlps: [0],
      mode: 'mean' as const,
    };
    const cache = runWithCache(weights, tokens, allHookNames(config.nLayer), { logits: 'all', ablate });
    expectMatchesNumpy(cache, numpyHooks(weights, tokens, ablate), 'ablated');
    const z = cache.get('blocks.0.attn.hook_z')!.data; // (T, H, hd): head 2 is its mean over positions
    const hd = config.headDim;
    for (let t = 1; t < tokens.length; t++) {
      for (let j = 0; j < hd; j++) expect(z[t * 32 + 2 * hd + j]).toBe(z[2 * hd + j]);
    }
  });

  it("the bundled model on an English prompt, the last position's logits", async () => {
    const model = await openModel(await filesFromDirectory('static/models/gpt2-brown-mini'));
    const weights = await model.checkpoint.loadWeights();
    const tokens = model.tokenizer.encode('The jury said the election was conducted well.');
    const names = allHookNames(model.config.nLayer);
    const cache = runWithCache(weights, tokens, names);
    const numpy = numpyHooks(weights, tokens);
    const V = model.config.vocabSize;
    const all = numpy.get('logits')!;
    numpy.set('logits', { shape: [1, V], data: all.data.slice((tokens.length - 1) * V) });
    expectMatchesNumpy(cache, numpy, 'gpt2-brown-mini');
  });
});

describe('runWithCache and referenceForward', () => {
  const weights = sharpWeights(config, 2);
  const tokens = randomTokens(12, config.vocabSize, 9);
  const cache = runWithCache(weights, tokens, allHookNames(config.nLayer), { logits: 'all' });
  const get = (n: HookName) => cache.get(n)!.data;

  it('agree bit for bit on the patterns, the residual stream and the logits', () => {
    const r = referenceForward(weights, tokens);
    for (let l = 0; l < config.nLayer; l++) {
      expect(get(`blocks.${l}.attn.hook_pattern`)).toEqual(r.patterns[l]);
      expect(get(`blocks.${l}.hook_resid_pre`)).toEqual(r.residPre[l]);
      expect(get(`blocks.${l}.hook_resid_mid`)).toEqual(r.residMid[l]);
    }
    expect(get(`blocks.${config.nLayer - 1}.hook_resid_post`)).toEqual(r.residPost);
    expect(get('logits')).toEqual(r.logits);
  });

  it('keep only the hooks asked for, and the same values as a full run', () => {
    const names: HookName[] = ['logits', 'blocks.0.attn.hook_pattern', 'hook_embed'];
    const few = runWithCache(weights, tokens, names);
    expect([...few.keys()]).toEqual(['hook_embed', 'blocks.0.attn.hook_pattern', 'logits']);
    expect(few.get('blocks.0.attn.hook_pattern')!.data).toEqual(get('blocks.0.attn.hook_pattern'));
    const V = config.vocabSize;
    expect(few.get('logits')!.shape).toEqual([1, V]);
    expect(few.get('logits')!.data).toEqual(get('logits').subarray((tokens.length - 1) * V));
    const early = runWithCache(weights, tokens, ['blocks.0.hook_resid_pre']);
    expect(early.get('blocks.0.hook_resid_pre')!.data).toEqual(get('blocks.0.hook_resid_pre'));
  });

  it('refuse an unknown name before any work', () => {
    expect(() => runWithCache(weights, tokens, ['blocks.2.hook_resid_pre'])).toThrow(
      'unknown hook "blocks.2.hook_resid_pre": the model has 2 layers',
    );
    expect(() => runWithCache(weights, [], ['logits'])).toThrow('prompt is empty');
  });
});

describe('the hooks fit together', () => {
  const weights = sharpWeights(config, 4);
  const tokens = randomTokens(10, config.vocabSize, 1);
  const T = tokens.length;
  const {
    nLayer: L,
    nEmbd: D,
    nHead: H,
    headDim: hd,
    nInner: F,
    vocabSize: V,
    layerNormEpsilon: eps,
  } = config;
  const cache = runWithCache(weights, tokens, allHookNames(L), { logits: 'all' });
  const get = (n: string) => cache.get(n as HookName)!.data;
  const f32 = toFloat32;
  /** a (rows, n) · W (n, m) + b, in f64. */
  const matmul = (
    a: ArrayLike<number>,
    rows: number,
    n: number,
    W: Float32Array,
    b: Float32Array | null,
    m: number,
  ) => {
    const out = new Float64Array(rows * m);
    for (let r = 0; r < rows; r++)
      for (let o = 0; o < m; o++) {
        let s = b ? b[o]! : 0;
        for (let i = 0; i < n; i++) s += a[r * n + i]! * W[i * m + o]!;
        out[r * m + o] = s;
      }
    return out;
  };
  const close = (actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, rel = 1e-6) =>
    expectCloseHook(actual, expected, what, rel);
  const add = (a: ArrayLike<number>, b: ArrayLike<number>) => Float64Array.from(a, (v, i) => v + b[i]!);

  it('the residual stream: embed + pos_embed, resid_pre + attn_out, resid_mid + mlp_out', () => {
    close(get('blocks.0.hook_resid_pre'), add(get('hook_embed'), get('hook_pos_embed')), 'resid_pre 0');
    for (let l = 0; l < L; l++) {
      const b = `blocks.${l}.`;
      close(
        get(b + 'hook_resid_mid'),
        add(get(b + 'hook_resid_pre'), get(b + 'hook_attn_out')),
        `resid_mid ${l}`,
      );
      close(
        get(b + 'hook_resid_post'),
        add(get(b + 'hook_resid_mid'), get(b + 'hook_mlp_out')),
        `resid_post ${l}`,
      );
      if (l + 1 < L) expect(get(`blocks.${l + 1}.hook_resid_pre`)).toEqual(get(b + 'hook_resid_post'));
    }
  });

  it('every LayerNorm: normalized = (x − mean) / scale · w + b, scale = √(var + eps)', () => {
    const lns: [string, string, Gpt2Weights['lnF']][] = [];
    for (let l = 0; l < L; l++) {
      lns.push([`blocks.${l}.hook_resid_pre`, `blocks.${l}.ln1`, weights.blocks[l]!.ln1]);
      lns.push([`blocks.${l}.hook_resid_mid`, `blocks.${l}.ln2`, weights.blocks[l]!.ln2]);
    }
    lns.push([`blocks.${L - 1}.hook_resid_post`, 'ln_final', weights.lnF]);
    for (const [input, ln, p] of lns) {
      const x = get(input);
      const scale = get(`${ln}.hook_scale`);
      const norm = get(`${ln}.hook_normalized`);
      const [w, b] = [f32(p.weight), f32(p.bias)];
      const expected = new Float64Array(T * D);
      for (let t = 0; t < T; t++) {
        let mean = 0;
        for (let i = 0; i < D; i++) mean += x[t * D + i]! / D;
        let variance = 0;
        for (let i = 0; i < D; i++) variance += (x[t * D + i]! - mean) ** 2 / D;
        expect(Math.abs(scale[t]! - Math.sqrt(variance + eps)), `${ln} scale ${t}`).toBeLessThan(
          1e-6 * scale[t]!,
        );
        for (let i = 0; i < D; i++)
          expected[t * D + i] = ((x[t * D + i]! - mean) / scale[t]!) * w[i]! + b[i]!;
      }
      close(norm, expected, `${ln}.hook_normalized`);
    }
  });

  it('attention: q, k, v from ln1; scores = q·k/√hd masked -∞; pattern = softmax; z = pattern·v; attn_out = z·W_O + b_O', () => {
    for (let l = 0; l < L; l++) {
      const b = `blocks.${l}.`;
      const blk = weights.blocks[l]!;
      const qkv = matmul(
        get(b + 'ln1.hook_normalized'),
        T,
        D,
        f32(blk.cAttn.weight),
        f32(blk.cAttn.bias),
        3 * D,
      );
      const [q, k, v] = [0, 1, 2].map((i) =>
        Float64Array.from({ length: T * D }, (_, n) => qkv[Math.floor(n / D) * 3 * D + i * D + (n % D)]!),
      );
      close(get(b + 'attn.hook_q'), q!, `q ${l}`);
      close(get(b + 'attn.hook_k'), k!, `k ${l}`);
      close(get(b + 'attn.hook_v'), v!, `v ${l}`);
      const [Q, K, Vv] = [get(b + 'attn.hook_q'), get(b + 'attn.hook_k'), get(b + 'attn.hook_v')];
      const scores = get(b + 'attn.hook_attn_scores');
      const pattern = get(b + 'attn.hook_pattern');
      const expScores = new Float64Array(H * T * T);
      const expPattern = new Float64Array(H * T * T);
      const expZ = new Float64Array(T * D);
      for (let h = 0; h < H; h++)
        for (let qi = 0; qi < T; qi++) {
          const row = (h * T + qi) * T;
          for (let ki = 0; ki < T; ki++) {
            let s = 0;
            for (let j = 0; j < hd; j++) s += Q[qi * D + h * hd + j]! * K[ki * D + h * hd + j]!;
            expScores[row + ki] = ki > qi ? -Infinity : s / Math.sqrt(hd);
          }
          const m = Math.max(...expScores.subarray(row, row + T));
          let sum = 0;
          for (let ki = 0; ki < T; ki++) sum += Math.exp(scores[row + ki]! - m);
          for (let ki = 0; ki < T; ki++) expPattern[row + ki] = Math.exp(scores[row + ki]! - m) / sum;
          for (let j = 0; j < hd; j++) {
            let s = 0;
            for (let ki = 0; ki <= qi; ki++) s += pattern[row + ki]! * Vv[ki * D + h * hd + j]!;
            expZ[qi * D + h * hd + j] = s;
          }
        }
      close(scores, expScores, `scores ${l}`, 1e-5);
      close(pattern, expPattern, `pattern ${l}`, 1e-5);
      for (let i = 0; i < pattern.length; i++) if (!Number.isFinite(scores[i]!)) expect(pattern[i]).toBe(0);
      close(get(b + 'attn.hook_z'), expZ, `z ${l}`, 1e-5);
      const out = matmul(get(b + 'attn.hook_z'), T, D, f32(blk.attnProj.weight), f32(blk.attnProj.bias), D);
      close(get(b + 'hook_attn_out'), out, `attn_out ${l}`, 1e-5);
      expect(maxAbs(scores.filter(Number.isFinite))).toBeGreaterThan(1); // sharp enough to mean something
    }
  });

  it('the MLP: pre = ln2·W_in + b_in, post = gelu_new(pre), mlp_out = post·W_out + b_out', () => {
    for (let l = 0; l < L; l++) {
      const b = `blocks.${l}.`;
      const blk = weights.blocks[l]!;
      close(
        get(b + 'mlp.hook_pre'),
        matmul(get(b + 'ln2.hook_normalized'), T, D, f32(blk.fc.weight), f32(blk.fc.bias), F),
        `pre ${l}`,
        1e-5,
      );
      const gelu = Float64Array.from(
        get(b + 'mlp.hook_pre'),
        (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
      );
      close(get(b + 'mlp.hook_post'), gelu, `post ${l}`);
      close(
        get(b + 'hook_mlp_out'),
        matmul(get(b + 'mlp.hook_post'), T, F, f32(blk.mlpProj.weight), f32(blk.mlpProj.bias), D),
        `mlp_out ${l}`,
        1e-5,
      );
    }
  });

  it('the logits: ln_final.hook_normalized · wteᵀ (the tied unembedding, no bias)', () => {
    const wte = f32(weights.wte);
    const wT = new Float32Array(D * V);
    for (let v = 0; v < V; v++) for (let i = 0; i < D; i++) wT[i * V + v] = wte[v * D + i]!;
    close(get('logits'), matmul(get('ln_final.hook_normalized'), T, D, wT, null, V), 'logits', 1e-5);
  });
});
