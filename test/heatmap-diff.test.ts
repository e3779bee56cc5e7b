// Difference heatmaps (compare mode) in Node through Dawn: two synthetic attention captures — of
// different capacities and formats, as two prompts' sessions can have — drawn as A − B into an
// rgba8unorm texture by shaders/render/heatmap_diff.wgsl (+ heatmap_diff_max.wgsl for per-head
// normalization), every pixel read back and compared with a plain-TypeScript model: the cell under
// each pixel (or, where a pixel covers several, the one of largest |A − B|), the causal mask, the
// sink modes, log scale, and the diverging colormap's entry. Colours may differ by one colormap
// entry where f32 rounding lands on the other side of a level.
import { describe, expect, test } from 'vitest';
import type { CaptureFormat } from '../src/gpu/kernels';
import { viteShaders } from '../src/gpu/shaders-vite';
import { colormapTable, divergingIndex, type DivergingColormapName } from '../src/viz/colormaps';
import {
  HeatmapRenderer,
  maskedColor,
  panelColor,
  type HeatmapFrame,
  type HeatmapViewport,
} from '../src/render/heatmap-renderer';
import { syntheticPattern, TextureTarget, uploadCapture } from './support/heatmap-fixtures';
import { useGpu } from './support/tiny-engine';

const gpu = useGpu();

const H = 2;
const T = 10;

interface Capture {
  readonly texture: GPUTexture;
  /** The weights as the texture holds them, [H, C, C]. */
  readonly values: Float32Array;
  readonly C: number;
}

function capture(C: number, seed: number, format: CaptureFormat, label: string): Capture {
  const p = syntheticPattern({ H, C, T, seed, stale: 5, exponent: 3 });
  return { ...uploadCapture(gpu.device, p, H, C, format, label), C };
}

type Frame = Omit<HeatmapFrame, 'pattern' | 'patternB'>;

/** The CPU model of heatmap_common.wgsl + heatmap_diff.wgsl + heatmap_diff_max.wgsl. */
function model(a: Capture, b: Capture, frame: Frame) {
  const rows = frame.rows;
  const shown = (c: Capture, h: number, t: number, s: number): number => {
    if (s > t || s >= rows || t >= rows) return -1;
    if (s === 0 && frame.sink !== 'show') return -1;
    const v = c.values[(h * c.C + t) * c.C + s]!;
    if (frame.sink !== 'renormalize') return v;
    const rest = 1 - c.values[(h * c.C + t) * c.C]!;
    return rest > 1e-6 ? v / rest : 0;
  };
  const diff = (h: number, t: number, s: number) => {
    const x = shown(a, h, t, s);
    return x < 0 ? undefined : x - shown(b, h, t, s);
  };
  const headMax = Array.from({ length: H }, (_, h) => {
    let m = 0;
    for (let t = 0; t < rows; t++) for (let s = 0; s <= t; s++) m = Math.max(m, Math.abs(diff(h, t, s) ?? 0));
    return m;
  });
  const covered = (lo: number, hi: number): [number, number] =>
    hi - lo <= 1
      ? [Math.floor(0.5 * (lo + hi)), Math.floor(0.5 * (lo + hi))]
      : [Math.floor(lo), Math.ceil(hi) - 1];
  return (v: HeatmapViewport, px: number, py: number): number | 'masked' => {
    const kpp = rows / v.width;
    const qpp = rows / v.height;
    const [k0, k1] = covered((px - v.x) * kpp, (px - v.x + 1) * kpp);
    const [q0, q1] = covered((py - v.y) * qpp, (py - v.y + 1) * qpp);
    let best = -1;
    let value = 0;
    for (let t = Math.max(0, q0); t <= Math.min(q1, rows - 1); t++)
      for (let s = Math.max(0, k0); s <= Math.min(k1, t); s++) {
        const d = diff(v.head, t, s);
        if (d !== undefined && Math.abs(d) > best) [best, value] = [Math.abs(d), d];
      }
    if (best < 0) return 'masked';
    let x = frame.normalization === 'shared' ? value : value / Math.max(headMax[v.head]!, 1e-30);
    if (frame.scale === 'log') x = (Math.sign(x) * (Math.log10(Math.max(Math.abs(x), 1e-4)) + 4)) / 4;
    return divergingIndex(x);
  };
}

async function check(frame: Frame, size: [number, number], a: Capture, b: Capture) {
  const target = new TextureTarget(gpu.device, ...size);
  const renderer = new HeatmapRenderer(gpu.device, viteShaders, target);
  gpu.device.pushErrorScope('validation');
  renderer.draw({ ...frame, pattern: a.texture, patternB: b.texture });
  expect((await gpu.device.popErrorScope())?.message).toBeUndefined();
  const pixels = await target.pixels();
  renderer.dispose();
  const expectedAt = model(a, b, frame);
  const table = colormapTable(frame.colormap);
  const bad: string[] = [];
  const indices = new Set<number>();
  for (let y = 0; y < size[1]; y++) {
    for (let x = 0; x < size[0]; x++) {
      const got = [...pixels.subarray(4 * (y * size[0] + x), 4 * (y * size[0] + x) + 3)];
      const v = frame.viewports.find((r) => x >= r.x && y >= r.y && x < r.x + r.width && y < r.y + r.height);
      const e = v ? expectedAt(v, x, y) : 'clear';
      if (e === 'clear' || e === 'masked') {
        const want = e === 'clear' ? panelColor : maskedColor;
        if (got.join() !== want.join()) bad.push(`(${x},${y}) ${e}: got ${got}`);
        continue;
      }
      const match = [e, e - 1, e + 1].find(
        (i) => i >= 0 && i < 256 && [0, 1, 2].every((c) => table[4 * i + c] === got[c]),
      );
      if (match === undefined)
        bad.push(`(${x},${y}) entry ${e} ${[...table.subarray(4 * e, 4 * e + 3)]}: got ${got}`);
      else indices.add(match);
    }
  }
  expect(bad.slice(0, 10)).toEqual([]);
  return indices;
}

const base = {
  rows: T,
  colormap: 'rdbu' as DivergingColormapName,
  scale: 'linear',
  normalization: 'head',
  sink: 'show',
} as const;
const one = (head: number, x: number, y: number, side: number): HeatmapViewport => ({
  head,
  x,
  y,
  width: side,
  height: side,
});

describe('difference heatmaps', () => {
  test('A − B per head: both signs, per-head max, mask, two heads, gaps in the panel colour', async () => {
    const a = capture(12, 3, 'rgba32float', 'A');
    const b = capture(16, 4, 'rgba32float', 'B'); // a session that grew: a larger capacity
    const indices = await check(
      { ...base, viewports: [one(0, 2, 3, 3 * T), one(1, 3 * T + 6, 3, 3 * T)] },
      [6 * T + 8, 3 * T + 6],
      a,
      b,
    );
    // Both colours of the map, and the extremes (per-head normalization reaches ±1).
    expect([...indices].some((i) => i < 100)).toBe(true);
    expect([...indices].some((i) => i > 155)).toBe(true);
    expect([...indices].some((i) => i <= 1 || i >= 254)).toBe(true);
    a.texture.destroy();
    b.texture.destroy();
  });

  test('a prompt against itself is 0 everywhere: the middle of the map', async () => {
    const a = capture(12, 3, 'rgba32float', 'A');
    const indices = await check(
      { ...base, normalization: 'shared', viewports: [one(1, 0, 0, 2 * T)] },
      [2 * T, 2 * T],
      a,
      a,
    );
    expect([...indices].every((i) => Math.abs(i - 128) <= 1)).toBe(true);
    a.texture.destroy();
  });

  test('shared scale, log, puor; an 8-bit capture against an f32 one', async () => {
    const a = capture(12, 5, 'rgba8unorm', 'A');
    const b = capture(12, 6, 'rgba32float', 'B');
    await check(
      { ...base, colormap: 'puor', scale: 'log', normalization: 'shared', viewports: [one(0, 0, 0, 2 * T)] },
      [2 * T, 2 * T],
      a,
      b,
    );
    a.texture.destroy();
    b.texture.destroy();
  });

  test('sink modes; cells smaller than pixels keep the largest difference', async () => {
    const a = capture(12, 7, 'rgba32float', 'A');
    const b = capture(12, 8, 'rgba32float', 'B');
    await check({ ...base, sink: 'renormalize', viewports: [one(1, 0, 0, 2 * T)] }, [2 * T, 2 * T], a, b);
    await check({ ...base, sink: 'hide', viewports: [one(0, 0, 0, 2 * T)] }, [2 * T, 2 * T], a, b);
    await check({ ...base, viewports: [one(0, 0, 0, 5), one(1, 7, 0, 2)] }, [10, 5], a, b);
    a.texture.destroy();
    b.texture.destroy();
  });

  test('captures that cannot be compared are refused', async () => {
    const a = capture(12, 1, 'rgba32float', 'A');
    const b = capture(8, 2, 'rgba32float', 'B');
    const target = new TextureTarget(gpu.device, 8, 8);
    const renderer = new HeatmapRenderer(gpu.device, viteShaders, target);
    expect(() =>
      renderer.draw({ ...base, viewports: [one(0, 0, 0, 8)], pattern: a.texture, patternB: b.texture }),
    ).toThrow('10 rows do not fit B (capacity 8)');
    renderer.dispose();
    a.texture.destroy();
    b.texture.destroy();
  });
});
