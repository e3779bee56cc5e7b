// Token tracking: chosen tokens' probability and rank under the logit lens at each lens point of
// the last run, read from the lens stack that run left on the GPU (ln_f already applied with each
// row's own statistics): no forward runs again. On the GPU: the tokens' logits (track_target),
// every vocabulary logit compared with them (track_count*: rank = entries with a strictly larger
// logit) and the softmax denominator the lens computed (track_merge); one readback of
// ids · points · T · 8 bytes.

import { hookName, type HookPoint } from '../model/hooks';
import { Allocation, maxTrackedTokens, trackingTable, uniformStride } from './activations';
import { lensChunk, lensTopK } from './plan';
import { ceilDiv, encodeSteps, StepFactory, wg, type Step } from './steps';

/** Tracked tokens at lens points: the result of PromptSession.trackTokens. */
export interface TokenTrack {
  /** The tracked token ids, in the order asked. */
  readonly ids: readonly number[];
  /** The lens points, in the order asked. */
  readonly points: readonly HookPoint[];
  /** Positions of the run the track was read from. */
  readonly T: number;
  /** [ids, points, T]: softmax probability of the token under the logit lens (ln_f recomputed). */
  readonly prob: Float32Array;
  /** [ids, points, T]: vocabulary entries with a strictly larger logit (0: the top token). */
  readonly rank: Uint32Array;
  /** Bytes copied back to the CPU. */
  readonly readbackBytes: number;
}

/**
 * Token tracking's buffers (trackingTable) and steps over (tracked points · T) rows of a session's
 * lens stack, made by the session's first trackTokens call at a capacity, so that sessions that
 * never track pay nothing for it.
 */
export class Tracking {
  readonly #f: StepFactory;
  readonly #params: GPUBuffer;
  readonly #buffers = new Allocation();
  readonly #steps: Step[];
  readonly #lensPoints: readonly HookPoint[];

  /** `acts`: the session's activations (lens.ln_f, lens.partial, params). */
  constructor(f: StepFactory, acts: Allocation, lensPoints: readonly HookPoint[], capacity: number) {
    this.#f = f;
    this.#lensPoints = lensPoints;
    this.#params = acts.buffer('params');
    const { device, weights } = f.parts;
    const { nEmbd: D, vocabSize: V } = weights.config;
    this.#buffers.add(device, trackingTable(capacity, lensPoints.length));
    const b = (name: string): GPUBindingResource => ({ buffer: this.#buffers.buffer(name) });
    const x = { buffer: acts.buffer('lens.ln_f') };
    const uniform = f.uniform(3);
    const ids = b('track.ids');
    const points = b('track.points');
    const target = b('track.logit');
    const rank = b('track.rank');
    this.#steps = weights.wteParts.map((part) =>
      f.step(
        'track.logit',
        'trackTarget',
        { ...f.weightVariant, overrides: { D, VOCAB_START: part.start, VOCAB_COUNT: part.count, WG_X: wg } },
        [uniform, x, { buffer: part.buffer }, ids, points, target],
        (rows) => [ceilDiv(rows, wg), 1, 1],
      ),
    );
    for (const part of weights.wteParts) {
      this.#steps.push(
        f.vocabScan(
          'track.rank',
          { tiled: 'trackCountTiled', vec4: 'trackCountVec4', scalar: 'trackCount' },
          { D, CHUNK: lensChunk, VOCAB_START: part.start, VOCAB_COUNT: part.count },
          [uniform, x, { buffer: part.buffer }, ids, points, target, rank],
          ceilDiv(part.count, lensChunk),
          D,
        ),
      );
    }
    this.#steps.push(
      f.step(
        'track.merge',
        'trackMerge',
        { overrides: { N_CHUNKS: ceilDiv(V, lensChunk), TOPK: lensTopK, WG_X: wg } },
        [uniform, { buffer: acts.buffer('lens.partial') }, points, target, rank, b('track.out')],
        (rows) => [ceilDiv(rows, wg), 1, 1],
      ),
    );
  }

  /** GPU bytes of the tracking buffers. */
  get bytes(): number {
    return this.#buffers.bytes;
  }

  /** Tracks `ids` at `points` (lens points of the session) over the T positions of the last run. */
  async track(
    ids: readonly number[],
    points: readonly HookPoint[],
    T: number,
    lens: string,
  ): Promise<TokenTrack> {
    const { device, weights } = this.#f.parts;
    const { vocabSize } = weights.config;
    if (ids.length === 0) throw new RangeError('give at least one token id to track');
    if (ids.length > maxTrackedTokens) {
      throw new RangeError(`at most ${maxTrackedTokens} tokens can be tracked at once, got ${ids.length}`);
    }
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize)
        throw new RangeError(`token id ${id} is outside the vocabulary (0…${vocabSize - 1})`);
    }
    if (points.length === 0) throw new RangeError('give at least one lens point to track the tokens at');
    const pointIndex = points.map((p) => {
      const i = this.#lensPoints.findIndex((q) => hookName(q) === hookName(p));
      if (i < 0) {
        throw new RangeError(
          `${hookName(p)} is not a logit-lens point of this session (lens: '${lens}'); ` +
            `create the session with lens: 'all' to track at every residual boundary`,
        );
      }
      return i;
    });

    const rows = points.length * T;
    const n = ids.length;
    const buffer = (name: string) => this.#buffers.buffer(name);
    device.queue.writeBuffer(buffer('track.ids'), 0, new Uint32Array(ids));
    device.queue.writeBuffer(buffer('track.points'), 0, new Uint32Array(pointIndex));
    device.queue.writeBuffer(this.#params, 3 * uniformStride, new Uint32Array([rows, T, n, 0]));
    const readbackBytes = n * rows * 8;
    const staging = device.createBuffer({
      label: 'track.readback',
      size: readbackBytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    try {
      const encoder = device.createCommandEncoder({ label: 'track tokens' });
      encoder.clearBuffer(buffer('track.rank'), 0, n * rows * 4);
      encodeSteps(encoder, 'track tokens', this.#steps, rows);
      encoder.copyBufferToBuffer(buffer('track.out'), 0, staging, 0, readbackBytes);
      device.queue.submit([encoder.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const raw = new Uint32Array(staging.getMappedRange().slice(0));
      const rawF = new Float32Array(raw.buffer);
      const prob = new Float32Array(n * rows);
      const rank = new Uint32Array(n * rows);
      for (let i = 0; i < prob.length; i++) {
        prob[i] = rawF[2 * i]!;
        rank[i] = raw[2 * i + 1]!;
      }
      return { ids: [...ids], points: [...points], T, prob, rank, readbackBytes };
    } finally {
      staging.destroy();
    }
  }

  destroy(): void {
    this.#buffers.destroy();
  }
}
