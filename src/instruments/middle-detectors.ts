// The middle-layer detectors on the GPU, from the attention captures where they are: per layer,
// detect_mass_terms.wgsl sums the weighted segments of each head's pattern that a MassPlan lists,
// and detect_mass_slots.wgsl combines them into the slots of a small [L, H, S, 2] buffer; one
// submission, one readback of L·H·S·8 bytes. Definitions and index lists: middle-scores.ts; CPU
// oracle: middle-reference.ts. measureMiddle runs the shipped datasets (datasets/) through a
// session of their own, as the induction probe runs its sequence, once per model.

import type { Engine } from '../engine/engine';
import type { PromptSession } from '../engine/session';
import type { KernelRegistry } from '../gpu/kernels';
import { middleDatasets, defaultDatasetTokens, type MiddleDatasets } from './datasets/encode';
import { sessionPatterns } from './detectors';
import {
  collectMiddle,
  middlePlan,
  separatorPositions,
  type MassPlan,
  type MiddleScores,
  type MiddleSpec,
} from './middle-scores';

const uniformStride = 256; // one MassParams slot per layer
const wg = 64;
const ceilDiv = (a: number, b: number) => Math.ceil(a / b);

type BufferName = 'params' | 'terms' | 'slots' | 'values' | 'out' | 'staging';

export class MiddleScorer {
  readonly #device: GPUDevice;
  readonly #kernels: KernelRegistry;
  #buffers: Partial<Record<BufferName, GPUBuffer>> = {};
  #queue: Promise<unknown> = Promise.resolve();
  #destroyed = false;

  constructor(device: GPUDevice, kernels: KernelRegistry) {
    this.#device = device;
    this.#kernels = kernels;
  }

  /** Scores every head of every layer of the captures `patterns` (depth order) by `plan`. Queued. */
  score(patterns: readonly GPUTexture[], plan: MassPlan): Promise<MiddleScores> {
    const run = this.#queue.then(() => this.#score(patterns, plan));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  destroy(): void {
    this.#destroyed = true;
    for (const b of Object.values(this.#buffers)) b?.destroy();
    this.#buffers = {};
  }

  #buffer(name: BufferName, bytes: number, usage: number): GPUBuffer {
    const current = this.#buffers[name];
    if (current && current.size >= bytes) return current;
    current?.destroy();
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    const buffer = this.#device.createBuffer({ label: `middle_detectors.${name}`, size, usage });
    this.#buffers[name] = buffer;
    return buffer;
  }

  async #score(patterns: readonly GPUTexture[], plan: MassPlan): Promise<MiddleScores> {
    if (this.#destroyed) throw new Error('this middle-layer scorer was destroyed');
    const first = patterns[0];
    if (!first) throw new RangeError('no attention captures to score: pass one texture per layer');
    const H = first.depthOrArrayLayers;
    const L = patterns.length;
    const { T } = plan;
    for (const [l, p] of patterns.entries()) {
      if (p.depthOrArrayLayers !== H || p.format !== first.format) {
        throw new RangeError(
          `${p.label || `patterns[${l}]`} differs from layer 0's capture in heads or format`,
        );
      }
      if (p.height < T || p.width * 4 < T) {
        throw new RangeError(`${p.label || `patterns[${l}]`} holds fewer than the ${T} tokens scored`);
      }
    }
    const N = plan.terms.length;
    const S = plan.slots.length;
    const device = this.#device;
    const storage = GPUBufferUsage.STORAGE;
    const dst = GPUBufferUsage.COPY_DST;
    const params = this.#buffer('params', L * uniformStride, GPUBufferUsage.UNIFORM | dst);
    const terms = this.#buffer('terms', N * 16, storage | dst); // [N] vec4u
    const slots = this.#buffer('slots', S * 16, storage | dst); // [S] vec4u
    const values = this.#buffer('values', H * N * 4, storage); // [H, N] f32
    const outBytes = L * H * S * 8;
    const out = this.#buffer('out', outBytes, storage | GPUBufferUsage.COPY_SRC); // [L, H, S, 2] f32
    const staging = this.#buffer('staging', outBytes, GPUBufferUsage.MAP_READ | dst);

    const p = new Uint32Array((L * uniformStride) / 4);
    for (let l = 0; l < L; l++) p.set([T, N, S, l], (l * uniformStride) / 4);
    device.queue.writeBuffer(params, 0, p);
    const termData = new ArrayBuffer(Math.max(16, N * 16));
    const u = new Uint32Array(termData);
    const f = new Float32Array(termData);
    for (const [n, t] of plan.terms.entries()) {
      u[4 * n] = (t.fixed | (t.axis === 'column' ? 0x80000000 : 0)) >>> 0;
      u[4 * n + 1] = t.lo;
      u[4 * n + 2] = t.hi;
      f[4 * n + 3] = t.weight;
    }
    device.queue.writeBuffer(terms, 0, termData);
    const slotData = new Uint32Array(Math.max(4, S * 4));
    for (const [j, s] of plan.slots.entries())
      slotData.set([s.start, s.end, s.op === 'max' ? 1 : 0, 0], 4 * j);
    device.queue.writeBuffer(slots, 0, slotData);

    const termsKernel = this.#kernels.get('detectMassTerms', {
      overrides: { WG_X: wg, SQRT_ENCODE: first.format === 'rgba8unorm' ? 1 : 0 },
    });
    const slotsKernel = this.#kernels.get('detectMassSlots', { overrides: { WG_X: wg, H } });
    const encoder = device.createCommandEncoder({ label: 'middle-layer detectors' });
    const pass = encoder.beginComputePass({ label: 'middle-layer detectors' });
    for (const [l, texture] of patterns.entries()) {
      if (N > 0) {
        pass.setPipeline(termsKernel.pipeline);
        pass.setBindGroup(
          0,
          device.createBindGroup({
            label: `detect_mass_terms:${texture.label}`,
            layout: termsKernel.layout,
            entries: [
              { binding: 0, resource: { buffer: params, offset: 0, size: 16 } },
              { binding: 1, resource: { buffer: terms } },
              { binding: 2, resource: texture.createView({ dimension: '2d-array' }) },
              { binding: 3, resource: { buffer: values } },
            ],
          }),
        );
        pass.dispatchWorkgroups(ceilDiv(N, wg), H, 1);
      }
      pass.setPipeline(slotsKernel.pipeline);
      pass.setBindGroup(
        0,
        device.createBindGroup({
          label: `detect_mass_slots:${l}`,
          layout: slotsKernel.layout,
          entries: [
            { binding: 0, resource: { buffer: params, offset: l * uniformStride, size: 16 } },
            { binding: 1, resource: { buffer: values } },
            { binding: 2, resource: { buffer: slots } },
            { binding: 3, resource: { buffer: out } },
          ],
        }),
      );
      pass.dispatchWorkgroups(ceilDiv(Math.max(S, 1), wg), H, 1);
    }
    pass.end();
    encoder.copyBufferToBuffer(out, 0, staging, 0, outBytes);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(GPUMapMode.READ, 0, outBytes);
    const got = new Float32Array(staging.getMappedRange(0, outBytes).slice(0));
    staging.unmap();
    return collectMiddle(plan, L, H, (i) =>
      plan.assemble(
        (j) => got[(i * S + j) * 2]!,
        (j) => got[(i * S + j) * 2 + 1]!,
      ),
    );
  }
}

/** The specs of the three shipped datasets. */
export function datasetSpecs(
  data: MiddleDatasets,
  text: (id: number) => string,
): { readonly syntax: MiddleSpec; readonly coreference: MiddleSpec; readonly passage: MiddleSpec } {
  return {
    syntax: { relations: data.syntax.relations },
    coreference: { coreference: data.coreference.pairs },
    passage: { aggregation: true, punctuation: separatorPositions(data.passage.tokens, text) },
  };
}

/** What the user's prompt is scored on: aggregation and the punctuation sink. */
export function promptSpec(tokens: readonly number[], text: (id: number) => string): MiddleSpec {
  return { aggregation: true, punctuation: separatorPositions(tokens, text) };
}

export interface MiddleTokenizer {
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

export interface MiddleDatasetResult {
  readonly datasets: MiddleDatasets;
  readonly syntax: MiddleScores;
  readonly coreference: MiddleScores;
  readonly passage: MiddleScores;
  /** Forward passes run (one per dataset) and the tokens they took. */
  readonly forwards: number;
  readonly tokens: number;
  /** Wall time of the three runs and their scoring, in ms (shown, never asserted). */
  readonly ms: number;
}

export interface MiddleOptions {
  readonly session?: PromptSession;
  readonly scorer?: MiddleScorer;
  readonly maxTokens?: number;
  readonly seed?: number;
}

/** Runs the shipped datasets through a session of `engine` (not the prompt's) and scores them. */
export async function measureMiddle(
  engine: Engine,
  tokenizer: MiddleTokenizer,
  options: MiddleOptions = {},
): Promise<MiddleDatasetResult> {
  const started = performance.now();
  const { config } = engine;
  const maxTokens = options.maxTokens ?? defaultDatasetTokens(config.nCtx);
  const datasets = middleDatasets(tokenizer, { maxTokens, bos: config.bosTokenId, seed: options.seed });
  const text = (id: number) => tokenizer.decode([id]);
  const specs = datasetSpecs(datasets, text);
  const session = options.session ?? engine.createSession({ lens: 'final', capacity: maxTokens });
  const scorer = options.scorer ?? new MiddleScorer(engine.gpu.device, engine.kernels);
  try {
    const run = async (tokens: readonly number[], spec: MiddleSpec) => {
      await session.run([...tokens]);
      return scorer.score(sessionPatterns(session, config.nLayer), middlePlan(spec, tokens.length));
    };
    const syntax = await run(datasets.syntax.tokens, specs.syntax);
    const coreference = await run(datasets.coreference.tokens, specs.coreference);
    const passage = await run(datasets.passage.tokens, specs.passage);
    const tokens =
      datasets.syntax.tokens.length + datasets.coreference.tokens.length + datasets.passage.tokens.length;
    return { datasets, syntax, coreference, passage, forwards: 3, tokens, ms: performance.now() - started };
  } finally {
    if (!options.session) session.destroy();
    if (!options.scorer) scorer.destroy();
  }
}
