// Activation patching on the GPU as batched work. The clean prompt A and the corrupted prompt B run
// once each (two sessions capturing hook_resid_pre, hook_z, hook_attn_out and hook_mlp_out of
// every layer); then, for each hook kind and layer l, one batch of N runs (N = T positions, or H
// heads for hook_z) starts from B's captured resid_pre at l — what every run patched at l shares —
// with one activation of A's patched in per run, runs layers l … L−1 with [N·T, D] rows through the
// forward's row-wise kernels (LayerNorm, matmuls) and a batched attention, and ends in the metric:
// ln_f at each run's last position dotted with wte[answer] − wte[foil] (two logits, no unembedding).
// One submission per hook kind, the metrics of all of them in one buffer: two readbacks in all (the
// clean and corrupted logit differences first, to refuse an undefined normalisation early).
// Definitions and the oracle: src/model/reference-causal.ts.

import type { BufferHookName, HookName } from '../model/hooks';
import {
  checkAnswerFoil,
  checkLogitDiffGap,
  checkPromptPair,
  type PatchKind,
  type PatchingResult,
} from '../model/reference-causal';
import { readBuffer } from '../gpu/readback';
import {
  attributeOnGpu,
  attributionHooks,
  engineParts,
  gatherWteRows,
  type GpuAttribution,
} from './attribution';
import type { Engine } from './engine';
import type { PromptSession } from './session';
import { ceilDiv, encodeSteps, StepFactory, type Step } from './steps';

export const patchKinds: readonly PatchKind[] = ['resid_pre', 'attn_out', 'mlp_out', 'z'];

/** The hooks each of the two sessions captures. */
export function patchingHooks(L: number): HookName[] {
  return Array.from({ length: L }, (_, l) => [
    `blocks.${l}.hook_resid_pre` as const,
    `blocks.${l}.attn.hook_z` as const,
    `blocks.${l}.hook_attn_out` as const,
    `blocks.${l}.hook_mlp_out` as const,
  ]).flat();
}

/** The work before it starts: batched runs, layer passes, dispatches. */
export interface PatchingEstimate {
  /** Patched runs: 3·L·T + L·H. */
  readonly runs: number;
  /** Layer passes over a batch (Σ over kinds and start layers of L − l). */
  readonly layerPasses: number;
  /** Compute dispatches of the batched work. */
  readonly dispatches: number;
  /** Multiply-adds ×2 of the batched work (the matmuls). */
  readonly flops: number;
}

export function estimatePatching(engine: Engine, T: number): PatchingEstimate {
  const { nLayer: L, nHead: H, nEmbd: D, nInner: F } = engine.config;
  const passes = (L * (L + 1)) / 2;
  const perLayer = 7; // ln_1, c_attn, attention, c_proj, ln_2, c_fc, mlp c_proj
  const rows = 3 * T * T + H * T;
  return {
    runs: 3 * L * T + L * H,
    layerPasses: 4 * passes,
    dispatches: 4 * passes * perLayer + 4 * L * 3,
    flops: passes * rows * 2 * (3 * D * D + D * D + 2 * D * F),
  };
}

export interface PatchingOptions {
  /** Called after each hook kind's submission finished: kinds done of 4. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Checked between the hook kinds' submissions. */
  readonly signal?: AbortSignal;
}

export interface GpuPatching extends PatchingResult {
  /** Direct logit attribution of the clean prompt (from the same clean run). */
  readonly dla: GpuAttribution;
  readonly dispatches: number;
  readonly submissions: number;
  readonly readbacks: number;
}

/** One batch class: N runs of T rows, its buffers, uniform and layer steps. */
interface Batch {
  readonly n: number;
  readonly f: StepFactory;
  readonly x: readonly [GPUBuffer, GPUBuffer]; // [N·T, D] ping-pong residual
  readonly z: GPUBuffer; // [N·T, D]
  readonly m: GPUBuffer; // [N] metric of each run
  /** Layer l's steps around the three patch points: before z, z → attn_out, → mlp_out, after. */
  readonly layers: readonly { attn: Step[]; proj: Step[]; mlp: Step[] }[];
  readonly metric: Step;
}

/**
 * Patches every activation of `clean` into `corrupt` (see activationPatching in
 * reference-causal.ts) and attributes the clean prompt's logit difference, on `engine`.
 */
export async function patchOnGpu(
  engine: Engine,
  clean: readonly number[],
  corrupt: readonly number[],
  answer: number,
  foil: number,
  options: PatchingOptions = {},
): Promise<GpuPatching> {
  const c = engine.config;
  checkPromptPair(c, clean, corrupt);
  checkAnswerFoil(c, answer, foil);
  const { nLayer: L, nHead: H, nEmbd: D, headDim: HD, nInner: F, layerNormEpsilon: EPS } = c;
  if (HD > 64) throw new Error(`patching: head size ${HD} is over the batched attention's 64`);
  const T = clean.length;
  const device = engine.gpu.device;
  const parts = engineParts(engine);
  const w = engine.weights;
  const owned: GPUBuffer[] = [];
  const sessions: PromptSession[] = [];
  const make = (label: string, size: number, usage = GPUBufferUsage.STORAGE) => {
    const b = device.createBuffer({ label, size, usage });
    owned.push(b);
    return b;
  };
  let dispatches = 0;
  let submissions = 0;
  let readbacks = 0;
  try {
    const names = [...new Set([...patchingHooks(L), ...attributionHooks(c)])];
    const open = async (tokens: readonly number[]) => {
      const s = engine.createSession({ capacity: T, lens: 'final', namesFilter: names });
      sessions.push(s);
      const r = await s.run([...tokens]);
      dispatches += r.dispatches;
      submissions += 1;
      readbacks += 1; // the lens's top-k
      return s;
    };
    const A = await open(clean);
    const B = await open(corrupt);
    const dla = await attributeOnGpu(engine, A, clean, answer, foil);
    dispatches += dla.dispatches;
    submissions += 1;
    readbacks += 1;

    const gather = gatherWteRows(parts, [answer, foil], owned);
    const uf = { buffer: gather.rows };
    const wf = { weightFormat: w.format };
    const rw = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const uniforms = GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST;
    const metricStep = (f: StepFactory, uniform: number, x: GPUBuffer, m: GPUBuffer, n: number) =>
      f.step(
        'patching.metric',
        'causalMetric',
        { ...wf, overrides: { D, EPS } },
        [
          f.uniform(uniform),
          { buffer: x },
          { buffer: w.lnF.weight },
          { buffer: w.lnF.bias },
          uf,
          { buffer: m },
        ],
        () => [ceilDiv(n, 64), 1, 1],
      );

    const makeBatch = (n: number, label: string): Batch => {
      const params = make(`patching.${label}.params`, 2 * 256, uniforms);
      // Slot 0: the batch ({rows, T, N}); slot 1: one run (the clean and corrupted metrics).
      device.queue.writeBuffer(params, 0, new Uint32Array([n * T, T, n, 0]));
      device.queue.writeBuffer(params, 256, new Uint32Array([T, T, 1, 0]));
      const f = new StepFactory(parts, params);
      const R = n * T;
      const x: [GPUBuffer, GPUBuffer] = [
        make(`patching.${label}.x0`, R * D * 4, rw),
        make(`patching.${label}.x1`, R * D * 4, rw),
      ];
      const ln = make(`patching.${label}.ln`, R * D * 4);
      const qkv = make(`patching.${label}.qkv`, R * 3 * D * 4);
      const z = make(`patching.${label}.z`, R * D * 4, rw);
      const hid = make(`patching.${label}.hidden`, R * F * 4);
      const m = make(`patching.${label}.m`, Math.max(16, n * 4), rw);
      const lnStep = (name: string, xIn: GPUBuffer, p: { weight: GPUBuffer; bias: GPUBuffer }) =>
        f.layerNorm(name, 0, xIn, p, ln);
      const layers = w.blocks.map((b, l) => ({
        attn: [
          lnStep(`patching.${l}.ln_1`, x[0], b.ln1),
          f.matmul(`patching.${l}.c_attn`, ln, b.cAttn.weight, b.cAttn.bias, qkv, D, 3 * D, 0),
          f.step(
            `patching.${l}.attention`,
            'causalAttention',
            { overrides: { D, H, HD } },
            [f.uniform(0), { buffer: qkv }, { buffer: z }],
            () => [ceilDiv(T, 64), H, n],
          ),
        ],
        proj: [
          f.matmul(`patching.${l}.attn.c_proj`, z, b.attnProj.weight, b.attnProj.bias, x[1], D, D, 2, x[0]),
        ],
        mlp: [
          lnStep(`patching.${l}.ln_2`, x[1], b.ln2),
          f.matmul(`patching.${l}.c_fc`, ln, b.fc.weight, b.fc.bias, hid, D, F, 1),
          f.matmul(`patching.${l}.mlp.c_proj`, hid, b.mlpProj.weight, b.mlpProj.bias, x[0], F, D, 2, x[1]),
        ],
      }));
      return { n, f, x, z, m, layers, metric: metricStep(f, 0, x[0], m, n) };
    };
    const rowsBatch = makeBatch(T, 'positions');
    const headsBatch = makeBatch(H, 'heads');

    // m_A and m_B from the sessions' final residuals; one readback, then the gap is checked.
    const mAB = make('patching.m_ab', 256, rw);
    const f1 = rowsBatch.f;
    const finalOf = (s: PromptSession) => s.capture(`blocks.${L - 1}.hook_resid_post`);
    const mA = make('patching.m_a', 16, rw);
    const mB = make('patching.m_b', 16, rw);
    let encoder = device.createCommandEncoder({ label: 'patching.clean_corrupt' });
    dispatches += encodeSteps(
      encoder,
      'patching.clean_corrupt',
      [...gather.steps, metricStep(f1, 1, finalOf(A), mA, 1), metricStep(f1, 1, finalOf(B), mB, 1)],
      1,
    );
    encoder.copyBufferToBuffer(mA, 0, mAB, 0, 4);
    encoder.copyBufferToBuffer(mB, 0, mAB, 4, 4);
    device.queue.submit([encoder.finish()]);
    submissions += 1;
    const [ma, mb] = new Float32Array(await readBuffer(device, mAB, 8));
    readbacks += 1;
    checkLogitDiffGap(ma!, mb!);

    // [4, L, max(T, H)] metrics of every patched run.
    const stride = Math.max(T, H);
    const results = make('patching.results', 4 * L * stride * 4, rw);
    const hookOf = (kind: PatchKind, l: number): BufferHookName =>
      kind === 'resid_pre'
        ? `blocks.${l}.hook_resid_pre`
        : kind === 'z'
          ? `blocks.${l}.attn.hook_z`
          : kind === 'attn_out'
            ? `blocks.${l}.hook_attn_out`
            : `blocks.${l}.hook_mlp_out`;
    for (const [k, kind] of patchKinds.entries()) {
      if (options.signal?.aborted) throw options.signal.reason ?? new Error('patching cancelled');
      const batch = kind === 'z' ? headsBatch : rowsBatch;
      const { f, x, z, n } = batch;
      encoder = device.createCommandEncoder({ label: `patching.${kind}` });
      for (let l = 0; l < L; l++) {
        const target = kind === 'resid_pre' ? x[0] : kind === 'z' ? z : kind === 'attn_out' ? x[1] : x[0];
        const patch = f.step(
          `patching.${kind}.${l}`,
          'causalPatch',
          { overrides: { D, HD, MODE: kind === 'z' ? 1 : 0 } },
          [
            f.uniform(0),
            { buffer: A.capture(hookOf(kind, l)) },
            { buffer: B.capture(hookOf(kind, l)) },
            { buffer: target },
          ],
          () => [ceilDiv(D, 64), T, n],
        );
        const steps: Step[] = [
          f.step(
            `patching.broadcast.${l}`,
            'causalBroadcast',
            { overrides: { D } },
            [f.uniform(0), { buffer: B.capture(`blocks.${l}.hook_resid_pre`) }, { buffer: x[0] }],
            () => [ceilDiv(D, 64), n * T, 1],
          ),
        ];
        if (kind === 'resid_pre') steps.push(patch);
        for (let j = l; j < L; j++) {
          const s = batch.layers[j]!;
          steps.push(...s.attn);
          if (j === l && kind === 'z') steps.push(patch);
          steps.push(...s.proj);
          if (j === l && kind === 'attn_out') steps.push(patch);
          steps.push(...s.mlp);
          if (j === l && kind === 'mlp_out') steps.push(patch);
        }
        steps.push(batch.metric);
        dispatches += encodeSteps(encoder, `patching.${kind}.${l}`, steps, n * T);
        encoder.copyBufferToBuffer(batch.m, 0, results, (k * L + l) * stride * 4, n * 4);
      }
      device.queue.submit([encoder.finish()]);
      submissions += 1;
      await device.queue.onSubmittedWorkDone();
      options.onProgress?.(k + 1, patchKinds.length);
    }
    const got = new Float32Array(await readBuffer(device, results));
    readbacks += 1;
    const norm = (m: number) => (m - mb!) / (ma! - mb!);
    const map = (k: number, n: number) =>
      Array.from({ length: L }, (_, l) =>
        Array.from(got.subarray((k * L + l) * stride, (k * L + l) * stride + n), norm),
      );
    return {
      clean_logit_diff: ma!,
      corrupt_logit_diff: mb!,
      resid_pre: map(0, T),
      attn_out: map(1, T),
      mlp_out: map(2, T),
      z: map(3, H),
      dla,
      dispatches,
      submissions,
      readbacks,
    };
  } finally {
    for (const s of sessions) s.destroy();
    for (const b of owned) b.destroy();
  }
}
