// The heatmap render pipeline in Node through Dawn: a synthetic attention capture (random causal
// rows, stale garbage beyond T) drawn into an rgba8unorm texture, every pixel read back and
// compared with a plain-TypeScript model of what shaders/render/heatmap.wgsl should show — cells under
// pixels, max over the cells a pixel covers, the causal mask, the sink modes, log scale, per-head
// and shared normalization, zoom, several heads in one pass, and the 8-bit √p capture. Colours may
// differ by one colormap entry where f32 rounding lands on the other side of a level.
import { describe, expect, test } from 'vitest';
import type { CaptureFormat } from '../src/gpu/kernels';
import { viteShaders } from '../src/gpu/shaders-vite';
import { colormapIndex, colormapTable, type ColormapName } from '../src/viz/colormaps';
import {
  HeatmapRenderer,
  maskedColor,
  panelColor,
  type CellRect,
  type HeatmapFrame,
  type HeatmapViewport,
} from '../src/render/heatmap-renderer';
import { syntheticPattern as synthetic, TextureTarget, uploadCapture } from './support/heatmap-fixtures';
import { useGpu } from './support/tiny-engine';

const gpu = useGpu();

const H = 3;
const C = 16; // capacity
const T = 12;

/** [H, C, C] weights: causal softmax-like rows for t < T with a heavy first key; garbage elsewhere. */
const syntheticPattern = (seed: number) => synthetic({ H, C, T, seed, stale: 7, exponent: 4 });

const patternTexture = (p: Float32Array<ArrayBuffer>, format: CaptureFormat): GPUTexture =>
  uploadCapture(gpu.device, p, H, C, format, 'blocks.0.attn.hook_pattern').texture;

/** What the capture holds after encoding: f32 as is, 8-bit as (round(√p·255)/255)². */
function decoded(p: Float32Array, format: CaptureFormat): Float32Array {
  return format === 'rgba8unorm'
    ? Float32Array.from(p, (v) => (Math.round(Math.sqrt(Math.min(1, v)) * 255) / 255) ** 2)
    : p;
}

type Expected = { kind: 'color'; index: number } | { kind: 'masked' } | { kind: 'clear' };

/** The CPU model of heatmap_common.wgsl + heatmap.wgsl + heatmap_max.wgsl. */
function model(p: Float32Array, frame: Omit<HeatmapFrame, 'pattern'>) {
  const rows = frame.rows;
  const shown = (h: number, t: number, s: number): number => {
    if (s > t || s >= rows || t >= rows) return -1;
    if (s === 0 && frame.sink !== 'show') return -1;
    const v = p[(h * C + t) * C + s]!;
    if (frame.sink !== 'renormalize') return v;
    const rest = 1 - p[(h * C + t) * C]!;
    return rest > 1e-6 ? v / rest : 0;
  };
  const headMax = Array.from({ length: H }, (_, h) => {
    let m = 0;
    for (let t = 0; t < rows; t++) for (let s = 0; s <= t; s++) m = Math.max(m, shown(h, t, s));
    return m;
  });
  const covered = (lo: number, hi: number): [number, number] => {
    if (hi - lo <= 1) {
      const c = Math.floor(0.5 * (lo + hi));
      return [c, c];
    }
    return [Math.floor(lo), Math.ceil(hi) - 1];
  };
  return (v: HeatmapViewport, px: number, py: number): Expected => {
    if (px < v.x || py < v.y || px >= v.x + v.width || py >= v.y + v.height) return { kind: 'clear' };
    const c: CellRect = v.cells ?? { key0: 0, query0: 0, key1: rows, query1: rows };
    const kpp = (c.key1 - c.key0) / v.width;
    const qpp = (c.query1 - c.query0) / v.height;
    const klo = c.key0 + (px - v.x) * kpp;
    const qlo = c.query0 + (py - v.y) * qpp;
    const [k0, k1] = covered(klo, klo + kpp);
    const [q0, q1] = covered(qlo, qlo + qpp);
    let best = -1;
    for (let t = Math.max(0, q0); t <= Math.min(q1, rows - 1); t++)
      for (let s = Math.max(0, k0); s <= Math.min(k1, rows - 1); s++)
        best = Math.max(best, shown(v.head, t, s));
    if (best < 0) return { kind: 'masked' };
    let x = frame.normalization === 'shared' ? best : best / Math.max(headMax[v.head]!, 1e-30);
    if (frame.scale === 'log') x = (Math.log10(Math.max(x, 1e-4)) + 4) / 4;
    return { kind: 'color', index: colormapIndex(x) };
  };
}

function nearestIndex(table: Uint8Array, rgb: ArrayLike<number>, around: number): number | undefined {
  for (const i of [around, around - 1, around + 1]) {
    if (i < 0 || i > 255) continue;
    if (table[4 * i] === rgb[0] && table[4 * i + 1] === rgb[1] && table[4 * i + 2] === rgb[2]) return i;
  }
  return undefined;
}

async function check(
  frame: Omit<HeatmapFrame, 'pattern'>,
  size: [number, number],
  format: CaptureFormat = 'rgba32float',
  seed = 5,
) {
  const p = syntheticPattern(seed);
  const texture = patternTexture(p, format);
  const target = new TextureTarget(gpu.device, ...size);
  const renderer = new HeatmapRenderer(gpu.device, viteShaders, target);
  gpu.device.pushErrorScope('validation');
  renderer.draw({ ...frame, pattern: texture });
  const error = await gpu.device.popErrorScope();
  expect(error?.message).toBeUndefined();
  const pixels = await target.pixels();
  const expectedAt = model(decoded(p, format), frame);
  const table = colormapTable(frame.colormap);
  let colored = 0;
  let masked = 0;
  const bad: string[] = [];
  for (let y = 0; y < size[1]; y++) {
    for (let x = 0; x < size[0]; x++) {
      const got = pixels.subarray(4 * (y * size[0] + x), 4 * (y * size[0] + x) + 3);
      const v = frame.viewports.find((r) => x >= r.x && y >= r.y && x < r.x + r.width && y < r.y + r.height);
      const e: Expected = v ? expectedAt(v, x, y) : { kind: 'clear' };
      const want = e.kind === 'clear' ? panelColor : e.kind === 'masked' ? maskedColor : undefined;
      if (want) {
        if (got[0] !== want[0] || got[1] !== want[1] || got[2] !== want[2])
          bad.push(`(${x},${y}) ${e.kind}: got ${[...got]}`);
        if (e.kind === 'masked') masked++;
      } else if (e.kind === 'color') {
        if (nearestIndex(table, got, e.index) === undefined)
          bad.push(
            `(${x},${y}) entry ${e.index} ${[...table.subarray(4 * e.index, 4 * e.index + 3)]}: got ${[...got]}`,
          );
        colored++;
      }
    }
  }
  renderer.dispose();
  texture.destroy();
  expect(bad.slice(0, 10)).toEqual([]);
  return { colored, masked, pixels };
}

const base = {
  rows: T,
  colormap: 'viridis' as ColormapName,
  scale: 'linear',
  normalization: 'head',
  sink: 'show',
} as const;
const one = (head: number, x: number, y: number, side: number, cells?: CellRect): HeatmapViewport => ({
  head,
  x,
  y,
  width: side,
  height: side,
  cells,
});

/** One head in a side × side target, `base` with `frame` over it. */
const square = (head: number, side: number, frame: Partial<Omit<HeatmapFrame, 'pattern'>>) =>
  check({ ...base, ...frame, viewports: [one(head, 0, 0, side)] }, [side, side]);

describe('heatmap renderer', () => {
  test('cells larger than pixels: every pixel of every cell, per-head max, mask', async () => {
    const r = await check({ ...base, viewports: [one(1, 0, 0, 4 * T)] }, [4 * T, 4 * T]);
    expect(r.colored).toBe(16 * ((T * (T + 1)) / 2));
    expect(r.masked).toBe(16 * ((T * (T - 1)) / 2));
  });

  test('a grid of heads in one pass, offset viewports, gaps in the panel colour', async () => {
    const viewports = [0, 1, 2].map((h) => one(h, 3 + h * (2 * T + 5), 7, 2 * T));
    await check({ ...base, colormap: 'magma', viewports }, [3 * (2 * T + 5) + 3, 2 * T + 12]);
  });

  test('cells smaller than pixels: the max over the covered cells (thin diagonals stay)', async () => {
    // 12 cells on 4 pixels (3 per pixel) and on 3 pixels (4 per pixel): boundaries fall on pixel edges.
    await check({ ...base, viewports: [one(0, 0, 0, 4), one(2, 6, 0, 3)] }, [10, 4]);
  });

  test('log scale, shared max, inferno', async () => {
    await square(2, 3 * T, { scale: 'log', normalization: 'shared', colormap: 'inferno' });
  });

  test('sink hidden: key 0 drawn as background', async () => {
    const r = await check({ ...base, sink: 'hide', viewports: [one(0, 0, 0, 2 * T)] }, [2 * T, 2 * T]);
    expect(r.masked).toBe(4 * ((T * (T - 1)) / 2 + T));
  });

  test('sink renormalized: rows divided by 1 − p[t, 0], per-head and shared', async () => {
    await check({ ...base, sink: 'renormalize', viewports: [one(1, 0, 0, 2 * T)] }, [2 * T, 2 * T]);
    await square(2, 2 * T, { sink: 'renormalize', normalization: 'shared', colormap: 'plasma' });
  });

  test('zoom: a region of (key, query) space fills the viewport', async () => {
    const cells = { key0: 2, query0: 5, key1: 8, query1: 11 };
    await check({ ...base, colormap: 'cividis', viewports: [one(1, 0, 0, 36, cells)] }, [36, 36]);
  });

  test('8-bit captures are decoded from √p', async () => {
    await check({ ...base, viewports: [one(0, 0, 0, 2 * T)] }, [2 * T, 2 * T], 'rgba8unorm');
  });

  test('bind groups follow a new capture texture (a session that grew)', async () => {
    const target = new TextureTarget(gpu.device, T, T);
    const renderer = new HeatmapRenderer(gpu.device, viteShaders, target);
    const a = patternTexture(syntheticPattern(1), 'rgba32float');
    const b = patternTexture(syntheticPattern(2), 'rgba32float');
    gpu.device.pushErrorScope('validation');
    const frame = { ...base, viewports: [one(0, 0, 0, T)] };
    renderer.draw({ ...frame, pattern: a });
    const first = await target.pixels();
    a.destroy();
    renderer.draw({ ...frame, pattern: b });
    const second = await target.pixels();
    expect(await gpu.device.popErrorScope()).toBeNull();
    expect(Buffer.from(first).equals(Buffer.from(second))).toBe(false);
    renderer.dispose();
    b.destroy();
  });
});
