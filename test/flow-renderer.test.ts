// The flow renderer (shaders/render/flow.wgsl) in Node through Dawn: a tiny random GPT-2 runs on
// the engine, the residual-stats kernel summarises its stream on the GPU, the renderer draws from
// that buffer into an rgba8unorm texture, and the pixels are decoded against the CPU reference
// forward's numbers: each stream ribbon's colour at its row centre is the norm colormap entry of
// ‖stream‖ / max‖stream‖, each addition bar's colour the cosine colormap entry of its cosine with
// the stream it read, within one colormap entry (f32 rounding may land on the next 8-bit level;
// one entry is 1/255 of max‖stream‖, or 2/255 in cosine). Bar lengths follow ‖addition‖ to a
// pixel. Also: the compact field at small zoom, the level fading what the stream has not reached,
// the selected block's band, the cursor, a zoomed camera, and the background outside the flow.
import { describe, expect, test } from 'vitest';
import { ResidualStatsKernel } from '../src/instruments/residual-stats';
import { viteShaders } from '../src/gpu/shaders-vite';
import { gpt2Config } from '../src/model/fixtures';
import { referenceForward } from '../src/model/reference';
import { FlowRenderer, flowAccentColor, type FlowFrameView } from '../src/render/flow-renderer';
import { panelColor } from '../src/render/heatmap-renderer';
import { flowField } from '../src/state/flow';
import { Camera2D } from '../src/viz/camera';
import {
  barSpan,
  cosIndex,
  flowBounds,
  flowCosTable,
  flowNormTable,
  flowRows,
  normIndex,
} from '../src/viz/flow-layout';
import { loadEngine, useGpu } from './support/tiny-engine';
import { randomTokens, tinyWeights } from './support/tiny-models';
import { TextureTarget } from './support/heatmap-fixtures';

const gpu = useGpu();
const config = gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 32, nCtx: 32, vocabSize: 97 });
const L = config.nLayer;
const D = config.nEmbd;
const T = 7;
const rows = flowRows(L);

/** The target's pixels as (x, y) → [r, g, b]. */
async function pixelsAt(target: TextureTarget): Promise<(x: number, y: number) => number[]> {
  const raw = await target.pixels();
  return (x, y) => {
    const o = (Math.floor(y) * target.width + Math.floor(x)) * 4;
    return [raw[o]!, raw[o + 1]!, raw[o + 2]!];
  };
}

/** The reference's numbers: ‖stream‖ per boundary, and each boundary's addition (norm, cosine). */
function referenceFlow(tokens: number[]) {
  const ref = referenceForward(tinyWeights(config, 5), tokens);
  const stream = (b: number) =>
    b === 2 * L ? ref.residPost : b % 2 === 1 ? ref.residMid[(b - 1) / 2]! : ref.residPre[b / 2]!;
  const row = (x: Float32Array, t: number) => Array.from(x.subarray(t * D, (t + 1) * D));
  const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);
  const norm = (t: number, b: number) => Math.sqrt(dot(row(stream(b), t), row(stream(b), t)));
  const addition = (t: number, b: number) => {
    const before = row(stream(b - 1), t);
    const add = row(stream(b), t).map((v, i) => v - before[i]!);
    const n = Math.sqrt(dot(add, add));
    return { norm: n, cos: dot(add, before) / (n * Math.sqrt(dot(before, before))) };
  };
  return { norm, addition };
}

/** Index of `rgb` in a colormap table within one entry of `want`, or undefined. */
function entryNear(table: Uint8Array, rgb: number[], want: number): number | undefined {
  return [want, want - 1, want + 1].find(
    (i) => i >= 0 && i < 256 && [0, 1, 2].every((c) => table[4 * i + c] === rgb[c]),
  );
}

describe('the flow renderer draws the residual stats as the reference computes them', () => {
  test('ribbons, bars, compact field, level, band, cursor and camera', async () => {
    const weights = tinyWeights(config, 5);
    const engine = await loadEngine(gpu, weights);
    const kernel = new ResidualStatsKernel(gpu.device, viteShaders, config);
    const cellW = 60;
    const cellH = 40;
    const target = new TextureTarget(gpu.device, T * cellW, rows * cellH);
    const renderer = new FlowRenderer(gpu.device, viteShaders, target);
    try {
      const session = engine.createSession({ capacity: 16, lens: 'layers' });
      const tokens = randomTokens(T, config.vocabSize, 3);
      const result = await session.run(tokens);
      const stats = await kernel.compute(session, T);
      const field = flowField(result, stats);
      renderer.setData({ ...field, stats: stats.buffer! });
      const want = referenceFlow(tokens);
      const camera = Camera2D.showing(flowBounds(L, T), target.width, target.height, true);
      const frame = (over: Partial<FlowFrameView> = {}): FlowFrameView => ({
        clipToWorld: camera.clipToWorld(),
        cellPx: camera.scale(),
        level: 2 * L,
        layer: -1,
        ...over,
      });
      renderer.draw(frame());
      const px = await pixelsAt(target);
      const normTable = flowNormTable();
      const cosTable = flowCosTable();
      const maxNorm = Math.max(
        ...Array.from({ length: rows * T }, (_, i) => want.norm(i % T, Math.floor(i / T))),
      );
      let maxAdd = 0;
      for (let b = 1; b < rows; b++)
        for (let t = 0; t < T; t++) maxAdd = Math.max(maxAdd, want.addition(t, b).norm);
      const problems: string[] = [];
      const normsSeen = new Set<number>();
      const cosSeen = new Set<number>();
      for (let b = 0; b < rows; b++) {
        for (let t = 0; t < T; t++) {
          const [x, y] = camera.toScreen(t + 0.5, b + 0.5);
          const got = px(x, y);
          const n = normIndex(want.norm(t, b), maxNorm);
          const match = entryNear(normTable, got, n);
          if (match === undefined) problems.push(`ribbon b${b} t${t}: ${got}, want entry ${n}`);
          else normsSeen.add(match);
          if (b === 0) continue;
          const a = want.addition(t, b);
          const kind = b % 2 === 1 ? 'attn' : 'mlp';
          const [u0, u1] = barSpan(kind, a.norm, maxAdd);
          if ((u1 - u0) * cellW < 3) continue;
          const [bx] = camera.toScreen(t + (u0 + u1) / 2, b);
          const bar = px(bx, y);
          const c = cosIndex(a.cos);
          const cm = entryNear(cosTable, bar, c);
          if (cm === undefined) problems.push(`${kind} bar b${b} t${t}: ${bar}, want entry ${c}`);
          else cosSeen.add(cm);
          // The bar ends where its norm says, to a pixel: inside just before, the lens tint after.
          const [endX] = camera.toScreen(t + (kind === 'attn' ? u0 : u1), b);
          const inside = px(kind === 'attn' ? endX + 1.5 : endX - 1.5, y);
          const outside = px(kind === 'attn' ? endX - 1.5 : endX + 1.5, y);
          if (inside.join() !== bar.join() || outside.join() === bar.join())
            problems.push(`${kind} bar b${b} t${t}: does not end at ${endX.toFixed(1)}`);
        }
      }
      expect(problems).toEqual([]);
      expect(normsSeen.size).toBeGreaterThanOrEqual(5); // not a flat stream
      expect(cosSeen.size).toBeGreaterThanOrEqual(5);
      // Outside the ribbons and bars, the lens tint over the panel colour; never outside the flow.
      expect(px(camera.toScreen(0.02, 0.5)[0], camera.toScreen(0.02, 0.5)[1])).not.toEqual([...panelColor]);

      // The level: at 0 only the embeddings are reached; the top row's ribbon is faint.
      renderer.draw(frame({ level: 0 }));
      const faint = await pixelsAt(target);
      const [tx, ty] = camera.toScreen(T - 0.5, rows - 0.5);
      const full = px(tx, ty);
      const dim = faint(tx, ty);
      expect(dim).not.toEqual(full);
      expect(dim.reduce((s, v) => s + v, 0)).toBeLessThan(full.reduce((s, v) => s + v, 0));
      const [ex, ey] = camera.toScreen(0.5, 0.5);
      expect(faint(ex, ey)).toEqual(px(ex, ey)); // the embeddings row is reached either way

      // The band of block 0 (boundaries 0…2) tints the background there and not in block 1's rows.
      renderer.draw(frame({ layer: 0 }));
      const band = await pixelsAt(target);
      const [gx, gy0] = camera.toScreen(0.03, 1.1);
      const [, gy1] = camera.toScreen(0.03, 3.1);
      expect(band(gx, gy0)).not.toEqual(px(gx, gy0));
      expect(band(gx, gy1)).toEqual(px(gx, gy1));

      // The cursor outlines its cell.
      renderer.draw(frame({ cursor: { boundary: 2, position: 3 } }));
      const cur = await pixelsAt(target);
      const [cx, cy] = camera.toScreen(3.5, 3);
      expect(cur(cx, cy + 1)).toEqual([...flowAccentColor]);

      // Zoomed in 2× about the centre: the ribbon of the cell now under the centre has its colour.
      const zoomed = camera.zoomAt(target.width / 2, target.height / 2, 2);
      renderer.draw(frame({ clipToWorld: zoomed.clipToWorld(), cellPx: zoomed.scale() }));
      const zp = await pixelsAt(target);
      const [wx, wy] = zoomed.toWorld(target.width / 2, target.height / 2);
      const zt = Math.floor(wx);
      const zb = Math.floor(wy);
      const [zx, zy] = zoomed.toScreen(zt + 0.5, zb + 0.5);
      expect(entryNear(normTable, zp(zx, zy), normIndex(want.norm(zt, zb), maxNorm))).toBeDefined();

      // Compact: 8 px columns: the upper part of a cell its norm colour, the lower its addition's cosine.
      const small = Camera2D.showing(
        { x0: 0, y0: 0, x1: target.width / 8, y1: rows },
        target.width,
        target.height,
        true,
      );
      renderer.draw(frame({ clipToWorld: small.clipToWorld(), cellPx: small.scale() }));
      const sp = await pixelsAt(target);
      for (let b = 1; b < rows; b++) {
        for (let t = 0; t < T; t++) {
          const [ux, uy] = small.toScreen(t + 0.5, b + 0.75);
          const [, ly] = small.toScreen(t + 0.5, b + 0.15);
          expect(
            entryNear(normTable, sp(ux, uy), normIndex(want.norm(t, b), maxNorm)),
            `b${b} t${t}`,
          ).toBeDefined();
          expect(
            entryNear(cosTable, sp(ux, ly), cosIndex(want.addition(t, b).cos)),
            `b${b} t${t}`,
          ).toBeDefined();
        }
      }
      // Right of the flow (the small camera shows only T·8 px of the target): the panel colour.
      expect(sp(T * 8 + 4, 10)).toEqual([...panelColor]);
      session.destroy();
    } finally {
      renderer.dispose();
      kernel.destroy();
      engine.dispose();
    }
  });
});
