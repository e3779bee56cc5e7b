// The residual stream at one position per example, at every probed point, read back for fitting.
// Each example is one forward on the session — or shares one: examples whose tokens up to their
// position are a prefix of another's (several probed words of one sentence) are read from that
// example's run, the model being causal. Right after a run, one row of D floats per point and
// example is copied from the session's residual captures into a mappable staging buffer (copies,
// no kernel), and a batch of examples is mapped at once: (L+1)·D floats per example.

import type { PromptSession } from '../engine/session';
import type { ResidPoint } from '../model/hooks';
import type { ProbeFeatures } from './probe-fit';
import type { ProbeInput } from './probe-data';

/** The probed points: resid_pre of every block (0 = the embeddings), then the final resid_post. */
export function probePoints(nLayer: number): ResidPoint[] {
  return [
    ...Array.from({ length: nLayer }, (_, layer): ResidPoint => ({ kind: 'resid_pre', layer })),
    { kind: 'resid_post', layer: nLayer - 1 },
  ];
}

/** Host memory the features may take (N·(L+1)·D·4 bytes). */
const maxFeatureBytes = 512 * 2 ** 20;

export interface CaptureOptions {
  readonly signal?: AbortSignal;
  /** After each example: examples done, total. */
  readonly onProgress?: (done: number, total: number) => void;
  /** Examples per readback (default 32). */
  readonly batch?: number;
}

/** One forward and the examples read from it: their index and the position each reads. */
export interface SharedRun {
  readonly tokens: readonly number[];
  readonly reads: readonly { readonly example: number; readonly position: number }[];
}

/**
 * The forwards that `inputs` need: the tokens up to each input's position, run once for every
 * input whose tokens up to its position are a prefix of them (longest first, reads in input order).
 */
export function sharedRuns(inputs: readonly ProbeInput[]): SharedRun[] {
  const order = inputs.map((_, i) => i).sort((a, b) => inputs[b]!.position - inputs[a]!.position || a - b);
  const runs: { tokens: readonly number[]; reads: { example: number; position: number }[] }[] = [];
  // Every prefix of every run's tokens → that run.
  const prefixes = new Map<string, number>();
  for (const i of order) {
    const { tokens, position } = inputs[i]!;
    const own = tokens.slice(0, position + 1);
    const host = prefixes.get(own.join());
    if (host !== undefined) {
      runs[host]!.reads.push({ example: i, position });
      continue;
    }
    for (let n = 1; n <= own.length; n++) {
      const key = own.slice(0, n).join();
      if (!prefixes.has(key)) prefixes.set(key, runs.length);
    }
    runs.push({ tokens: own, reads: [{ example: i, position }] });
  }
  for (const r of runs) r.reads.sort((a, b) => a.example - b.example);
  return runs;
}

/** What capture needs of a session: PromptSession has it. */
export type ProbeSession = Pick<PromptSession, 'run' | 'capture'>;

/**
 * Runs every input on `session` and returns the residual stream at each input's `position`, at
 * every point of probePoints(nLayer): [points, examples, D] f32. Rejects with an AbortError when
 * `signal` aborts (between examples); the session stays usable.
 */
export async function captureProbeFeatures(
  device: GPUDevice,
  session: ProbeSession,
  shape: { readonly nLayer: number; readonly nEmbd: number },
  inputs: readonly ProbeInput[],
  options: CaptureOptions = {},
): Promise<ProbeFeatures> {
  const points = probePoints(shape.nLayer);
  const P = points.length;
  const D = shape.nEmbd;
  const N = inputs.length;
  const rowBytes = D * 4;
  if (N * P * rowBytes > maxFeatureBytes)
    throw new RangeError(
      `${N} examples × ${P} layers × ${D} floats need ${Math.ceil((N * P * rowBytes) / 2 ** 20)} MiB; ` +
        `probe at most ${Math.floor(maxFeatureBytes / (P * rowBytes))} examples with this model`,
    );
  for (const [i, input] of inputs.entries()) {
    if (!(Number.isInteger(input.position) && input.position >= 0 && input.position < input.tokens.length))
      throw new RangeError(
        `example ${i + 1}: position ${input.position} is outside its ${input.tokens.length} tokens`,
      );
  }
  const runs = sharedRuns(inputs);
  const batch = Math.max(1, Math.min(options.batch ?? 32, N), ...runs.map((r) => r.reads.length));
  const data = new Float32Array(P * N * D);
  // (batch, P, D): the rows of the examples in the current batch.
  const staging = device.createBuffer({
    label: 'probe.readback',
    size: batch * P * rowBytes,
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const throwIfAborted = () => {
    if (options.signal?.aborted) throw new DOMException('probe capture cancelled', 'AbortError');
  };
  try {
    let done = 0;
    for (let first = 0; first < runs.length;) {
      // As many runs as fill the staging buffer with their examples' rows.
      const examples: number[] = [];
      for (; first < runs.length && examples.length + runs[first]!.reads.length <= batch; first++) {
        throwIfAborted();
        const run = runs[first]!;
        await session.run(run.tokens);
        // Queue order puts these copies after this run and before the next one.
        const encoder = device.createCommandEncoder({ label: 'probe.gather' });
        for (const { example, position } of run.reads) {
          const b = examples.push(example) - 1;
          points.forEach((point, p) =>
            encoder.copyBufferToBuffer(
              session.capture(point),
              position * rowBytes,
              staging,
              (b * P + p) * rowBytes,
              rowBytes,
            ),
          );
        }
        device.queue.submit([encoder.finish()]);
        done += run.reads.length;
        options.onProgress?.(done, N);
      }
      const count = examples.length;
      await staging.mapAsync(GPUMapMode.READ, 0, count * P * rowBytes);
      const rows = new Float32Array(staging.getMappedRange(0, count * P * rowBytes));
      for (const [b, n] of examples.entries())
        for (let p = 0; p < P; p++)
          data.set(rows.subarray((b * P + p) * D, (b * P + p + 1) * D), (p * N + n) * D);
      staging.unmap();
    }
  } finally {
    staging.destroy();
  }
  return { data, points: P, examples: N, width: D };
}
