// Shared set-up of the head-detector tests (test/detectors.test.ts, test/detectors-engine.test.ts):
// hand-built attention patterns with scores known in closed form, capture textures of each format
// holding them, and the comparison of two HeadScores.
import { expect } from 'vitest';
import type { CaptureFormat } from '../../src/gpu/kernels';
import type { GpuContext } from '../../src/gpu/device';
import { useGpu, useKernels } from './tiny-engine';
import { detectors, type Detector, type HeadScores } from '../../src/instruments/head-scores';
import { f16ToF32, f32ToF16 } from '../../src/model/dtype';

// ---------------------------------------------------------------------------------------------
// Hand-built patterns

export const C = 16; // capacity of the hand-made captures
export const T = 13; // tokens scored (not a multiple of 4: a partial last texel)
// Repeats at 3 (of 0), 5 (of 1), 7 (of 0 and 3), 9 (of 2), 12 (of 1 and 5); none adjacent.
export const tokens = [10, 11, 12, 10, 13, 11, 14, 10, 15, 12, 16, 17, 11];
export const earlier = (t: number) => tokens.flatMap((id, s) => (s < t && id === tokens[t] ? [s] : []));
export const heads = ['previous', 'sink', 'uniform', 'current', 'mixed', 'duplicate', 'induction'] as const;
export const H = heads.length;

/** Row t of each hand-built head, as {key: weight} (keys ≤ t; each row sums to 1). */
export function handRow(head: (typeof heads)[number], t: number): Map<number, number> {
  const row = new Map<number, number>();
  const spread = (keys: number[]) => {
    if (keys.length === 0) row.set(t, 1);
    for (const s of keys) row.set(s, 1 / keys.length);
  };
  switch (head) {
    case 'previous':
      row.set(Math.max(0, t - 1), 1);
      break;
    case 'sink':
      row.set(0, 1);
      break;
    case 'uniform':
      for (let s = 0; s <= t; s++) row.set(s, 1 / (t + 1));
      break;
    case 'current':
      row.set(t, 1);
      break;
    case 'mixed':
      if (t === 0) row.set(0, 1);
      else if (t === 1) row.set(0, 0.8).set(1, 0.2);
      else
        row
          .set(t - 1, 0.5)
          .set(0, 0.3)
          .set(t, 0.2);
      break;
    case 'duplicate':
      spread(earlier(t));
      break;
    case 'induction':
      spread(earlier(t).map((s) => s + 1));
      break;
  }
  return row;
}

/** [H, C, C]: the hand-built rows for t < T, garbage in masked cells and rows/columns ≥ T. */
export function handPattern(
  rowOf: (h: number, t: number) => Map<number, number>,
  heads: number,
): Float32Array<ArrayBuffer> {
  const p = new Float32Array(heads * C * C).fill(0.75); // stale and masked cells: never to be read
  for (let h = 0; h < heads; h++) {
    for (let t = 0; t < T; t++) {
      for (let s = 0; s <= t; s++) p[(h * C + t) * C + s] = 0;
      for (const [s, v] of rowOf(h, t)) p[(h * C + t) * C + s] = v;
    }
  }
  return p;
}

/** What a capture of `format` holds for the weight v, decoded. */
export function stored(v: number, format: CaptureFormat): number {
  if (format === 'rgba32float') return Math.fround(v);
  if (format === 'rgba16float') return f16ToF32(f32ToF16(v));
  return (Math.round(Math.sqrt(Math.min(1, v)) * 255) / 255) ** 2;
}

/** A detector test file's GPU (useGpu), its kernel registry (useKernels) and hand-made captures on it. */
export function useDetectorGpu() {
  const gpu = useGpu();
  return { gpu, kernels: useKernels(gpu), captureTexture: handCapture(gpu) };
}

/** A capture texture of `format` holding p, on the test file's GPU (bound once: `handCapture(gpu)`). */
export function handCapture(gpu: GpuContext) {
  return function captureTexture(
    p: Float32Array<ArrayBuffer>,
    heads: number,
    format: CaptureFormat,
  ): GPUTexture {
    const { device } = gpu;
    const texture = device.createTexture({
      label: `hand-made ${format}`,
      size: [C / 4, C, heads],
      format,
      usage: GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_DST,
    });
    const size = [C / 4, C, heads];
    if (format === 'rgba32float') {
      device.queue.writeTexture({ texture }, p, { bytesPerRow: C * 4, rowsPerImage: C }, size);
    } else if (format === 'rgba16float') {
      const half = Uint16Array.from(p, f32ToF16);
      device.queue.writeTexture({ texture }, half, { bytesPerRow: C * 2, rowsPerImage: C }, size);
    } else {
      const bytes = Uint8Array.from(p, (v) => Math.round(Math.sqrt(Math.min(1, v)) * 255));
      device.queue.writeTexture({ texture }, bytes, { bytesPerRow: C, rowsPerImage: C }, size);
    }
    return texture;
  };
}

/** [H, n, n] of the decoded capture's first n tokens: what the reference scorer takes. */
export function compact(p: Float32Array, heads: number, format: CaptureFormat, n = T): Float64Array {
  const out = new Float64Array(heads * n * n);
  for (let h = 0; h < heads; h++)
    for (let t = 0; t < n; t++)
      for (let s = 0; s <= t; s++) out[(h * n + t) * n + s] = stored(p[(h * C + t) * C + s]!, format);
  return out;
}

export const harmonic = (n: number) =>
  Array.from({ length: n }, (_, i) => 1 / (i + 1)).reduce((a, b) => a + b, 0);
export const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
export const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
export const mean = (xs: number[]) => sum(xs) / xs.length;
export const entropyOf = (ps: number[]) => -sum(ps.map((p) => p * Math.log(p)));
export const hoyer = (ps: number[], n: number) =>
  (Math.sqrt(n) - 1 / Math.sqrt(sum(ps.map((p) => p * p)))) / (Math.sqrt(n) - 1);

export type Known = Partial<Record<Detector | 'entropy' | 'normalizedEntropy' | 'sparsity', number>>;

/** Scores in closed form, per head, without options (w = 3). */
export function knownScores(): Record<(typeof heads)[number], Known> {
  const dupQueries = [3, 5, 7, 9, 12];
  const mixedRows = [[0.8, 0.2], ...range(2, T).map(() => [0.5, 0.3, 0.2])];
  return {
    previous: {
      previous: 1,
      current: 1 / T,
      first: 2 / T,
      local: 1,
      duplicate: 0,
      induction: 0,
      entropy: 0,
      normalizedEntropy: 0,
      sparsity: 1,
    },
    sink: {
      previous: 1 / (T - 1),
      current: 1 / T,
      first: 1,
      local: 3 / T,
      duplicate: 2 / 5, // t = 3 and t = 7 (whose earlier occurrences include key 0)
      induction: 0,
      entropy: 0,
      sparsity: 1,
    },
    uniform: {
      previous: (harmonic(T) - 1) / (T - 1),
      current: harmonic(T) / T,
      first: harmonic(T) / T,
      local: (2 + 3 * (harmonic(T) - 1.5)) / T,
      duplicate: mean(dupQueries.map((t) => earlier(t).length / (t + 1))),
      induction: mean(dupQueries.map((t) => earlier(t).length / (t + 1))),
      entropy: mean(range(1, T).map((t) => Math.log(t + 1))),
      normalizedEntropy: 1,
      sparsity: 0,
    },
    current: { previous: 0, current: 1, first: 1 / T, local: 1, duplicate: 0, induction: 0, sparsity: 1 },
    mixed: {
      previous: (0.8 + 0.5 * (T - 2)) / (T - 1),
      current: (1 + 0.2 * (T - 1)) / T,
      first: (1 + 0.8 + 0.3 * (T - 2)) / T,
      local: (3 + 0.7 * (T - 3)) / T,
      entropy: mean(mixedRows.map(entropyOf)),
      normalizedEntropy: mean(mixedRows.map((r, i) => entropyOf(r) / Math.log(i + 2))),
      sparsity: mean(mixedRows.map((r, i) => hoyer(r, i + 2))),
    },
    duplicate: { duplicate: 1, current: (T - 5) / T, previous: 0, first: (1 + 1 + 0.5) / T },
    induction: { induction: 1, current: (T - 5) / T },
  };
}

export const formats: [CaptureFormat, number, number][] = [
  ['rgba32float', 1e-6, 1e-6],
  ['rgba16float', 1e-3, 1e-3],
  ['rgba8unorm', 5e-3, 5e-3],
];

export function expectClose(got: number, want: number, tolerance: number, what: string) {
  expect(Number.isNaN(got), `${what}: NaN`).toBe(Number.isNaN(want));
  if (!Number.isNaN(want))
    expect(Math.abs(got - want), `${what}: got ${got}, want ${want}`).toBeLessThanOrEqual(tolerance);
}

/** Every number of two HeadScores within `tolerance`; returns the largest difference. */
export function compareScores(got: HeadScores, want: HeadScores, tolerance: number, what: string): number {
  expect(got.queries).toEqual(want.queries);
  expect([got.nLayer, got.nHead]).toEqual([want.nLayer, want.nHead]);
  let worst = 0;
  const check = (g: Float64Array, w: Float64Array, name: string) => {
    for (let i = 0; i < w.length; i++) {
      expectClose(g[i]!, w[i]!, tolerance, `${what} ${name} head ${i}`);
      if (!Number.isNaN(w[i]!)) worst = Math.max(worst, Math.abs(g[i]! - w[i]!));
    }
  };
  for (const d of detectors) check(got.scores[d], want.scores[d], d);
  for (const s of ['entropy', 'normalizedEntropy', 'sparsity'] as const) {
    check(got[s].mean, want[s].mean, `${s} mean`);
    check(got[s].std, want[s].std, `${s} std`);
  }
  check(got.rowWeight, want.rowWeight, 'row weight');
  return worst;
}
