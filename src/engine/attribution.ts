// Direct logit attribution on the GPU: one small pass over a session's captures (hook_z and
// hook_mlp_out of every layer, the final residual) after it ran a prompt. One dispatch per layer
// (its heads, c_proj's bias, its MLP) and one for the embedding, ln_f's bias and the total, all
// into one buffer, one readback of a few hundred bytes. Definitions: src/model/reference-causal.ts.

import type { Attribution } from '../model/reference-causal';
import { attributionSum, checkAnswerFoil } from '../model/reference-causal';
import type { HookName } from '../model/hooks';
import type { Gpt2Config } from '../model/types';
import { readBuffer } from '../gpu/readback';
import type { Engine } from './engine';
import type { PromptSession } from './session';
import { encodeSteps, StepFactory, type EngineParts, type Step } from './steps';

/** The hooks a session must capture for attribution (lens 'final' adds the final residual). */
export function attributionHooks(config: Gpt2Config): HookName[] {
  return Array.from({ length: config.nLayer }, (_, l) => [
    `blocks.${l}.attn.hook_z` as const,
    `blocks.${l}.hook_mlp_out` as const,
  ]).flat();
}

/** The engine's parts, as a session gets them. */
export function engineParts(engine: Engine): EngineParts {
  return {
    device: engine.gpu.device,
    kernels: engine.kernels,
    weights: engine.weights,
    fallback: engine.fallbackKernels,
    none: engine.none,
  };
}

/**
 * Steps that gather wte rows `ids` as f32 into `rows` ([ids, D]), one dispatch per vocabulary part
 * (wte is split across buffers); the buffers made are pushed onto `owned`.
 */
export function gatherWteRows(
  parts: EngineParts,
  ids: readonly number[],
  owned: GPUBuffer[],
): { rows: GPUBuffer; steps: Step[] } {
  const { device, weights } = parts;
  const D = weights.config.nEmbd;
  const make = (label: string, size: number, usage: number) => {
    const b = device.createBuffer({ label, size, usage });
    owned.push(b);
    return b;
  };
  const params = make('causal.gather.params', 16, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
  device.queue.writeBuffer(params, 0, new Uint32Array([ids.length, 0, 0, 0]));
  const idBuf = make(
    'causal.gather.ids',
    Math.max(16, ids.length * 4),
    GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
  );
  device.queue.writeBuffer(idBuf, 0, new Uint32Array(ids));
  const rows = make('causal.wte_rows', ids.length * D * 4, GPUBufferUsage.STORAGE);
  const f = new StepFactory(parts, params);
  const steps = weights.wteParts.map((part) =>
    f.step(
      'causal.gather_rows',
      'causalGatherRows',
      { ...f.weightVariant, overrides: { D, VOCAB_START: part.start, VOCAB_COUNT: part.count } },
      [f.uniform(0), { buffer: idBuf }, { buffer: part.buffer }, { buffer: rows }],
      () => [Math.ceil(D / 64), ids.length, 1],
    ),
  );
  return { rows, steps };
}

/** Bytes of one layer's slot in the terms buffer (a storage offset alignment). */
const slotBytes = 256;

export interface GpuAttribution extends Attribution {
  readonly dispatches: number;
  readonly readbackBytes: number;
}

/**
 * Direct logit attribution of the last position of `tokens`, which `session` has just run with
 * attributionHooks captured and lens 'final'.
 */
export async function attributeOnGpu(
  engine: Engine,
  session: PromptSession,
  tokens: readonly number[],
  answer: number,
  foil: number,
): Promise<GpuAttribution> {
  const c = engine.config;
  checkAnswerFoil(c, answer, foil);
  const { nLayer: L, nHead: H, nEmbd: D, headDim: HD, layerNormEpsilon: EPS } = c;
  if (H + 2 > slotBytes / 4) throw new Error(`attribution: ${H} heads do not fit a slot`);
  const device = engine.gpu.device;
  const w = engine.weights;
  const p = tokens.length - 1;
  const buffers: GPUBuffer[] = [];
  const make = (label: string, size: number, usage: number) => {
    const b = device.createBuffer({ label, size, usage });
    buffers.push(b);
    return b;
  };
  try {
    const params = make('attribution.params', 256, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    device.queue.writeBuffer(params, 0, new Uint32Array([p, 0, 0, 0]));
    const parts = engineParts(engine);
    const gather = gatherWteRows(parts, [answer, foil, tokens[p]!], buffers);
    // [L + 1 slots of 64 f32]: layer l's H heads, bias, MLP; then embed, ln_final_bias, total.
    const terms = make(
      'attribution.terms',
      (L + 1) * slotBytes,
      GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    );
    const f = new StepFactory(parts, params);
    const wf = f.weightVariant;
    const resid = session.capture(`blocks.${L - 1}.hook_resid_post`);
    const uf = { buffer: gather.rows };
    const steps: Step[] = w.blocks.map((b, l) =>
      f.step(
        `attribution.layer${l}`,
        'causalDlaLayer',
        { ...wf, overrides: { D, H, HD, EPS } },
        [
          { buffer: params, size: 16 },
          { buffer: resid },
          { buffer: session.capture(`blocks.${l}.attn.hook_z`) },
          { buffer: b.attnProj.weight },
          { buffer: b.attnProj.bias },
          { buffer: session.capture(`blocks.${l}.hook_mlp_out`) },
          { buffer: w.lnF.weight },
          uf,
          { buffer: terms, offset: l * slotBytes, size: slotBytes },
        ],
        () => [1, 1, 1],
      ),
    );
    steps.push(
      f.step(
        'attribution.final',
        'causalDlaFinal',
        { ...wf, overrides: { D, EPS } },
        [
          { buffer: params, size: 16 },
          { buffer: resid },
          { buffer: w.wpe },
          { buffer: w.lnF.weight },
          { buffer: w.lnF.bias },
          uf,
          { buffer: terms, offset: L * slotBytes, size: slotBytes },
        ],
        () => [1, 1, 1],
      ),
    );
    const encoder = device.createCommandEncoder({ label: 'attribution' });
    const dispatches = encodeSteps(encoder, 'attribution', [...gather.steps, ...steps], 1);
    device.queue.submit([encoder.finish()]);
    const got = new Float32Array(await readBuffer(device, terms));
    const slot = (l: number) => got.subarray((l * slotBytes) / 4, (l * slotBytes) / 4 + H + 2);
    const heads = Array.from({ length: L }, (_, l) => Array.from(slot(l).subarray(0, H)));
    const attnBias = Array.from({ length: L }, (_, l) => slot(l)[H]!);
    const mlp = Array.from({ length: L }, (_, l) => slot(l)[H + 1]!);
    const [embed, lnFinalBias, total] = slot(L);
    const sum = attributionSum(embed!, lnFinalBias!, attnBias, mlp, heads);
    return {
      position: p,
      heads,
      attn_bias: attnBias,
      mlp,
      embed: embed!,
      ln_final_bias: lnFinalBias!,
      total: total!,
      sum_error: sum - total!,
      dispatches,
      readbackBytes: terms.size,
    };
  } finally {
    for (const b of buffers) b.destroy();
  }
}
