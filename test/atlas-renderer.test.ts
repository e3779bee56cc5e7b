// The all-heads atlas renderer in Node through Dawn: a real forward pass (the WGSL engine on a
// small random GPT-2, 3 layers × 2 heads) leaves its captures in textures; the atlas draws every
// layer × head from them in one render pass into an rgba8unorm texture, and every pixel is read
// back and compared with what the CPU reference forward's patterns should show there: the colormap
// colour of p / max over the head (per-head) or p (shared), the masked colour above the diagonal,
// the panel colour in the gaps. One colormap entry of slack where f32 rounding lands on the other
// side of a level (attention itself agrees with the reference to 1e-5).
import { describe, expect, test } from 'vitest';
import { viteShaders } from '../src/gpu/shaders-vite';
import { gpt2Config } from '../src/model/fixtures';
import { referenceForward } from '../src/model/reference';
import { AtlasRenderer, type AtlasFrame, type AtlasViewport } from '../src/render/atlas-renderer';
import { maskedColor, panelColor } from '../src/render/heatmap-renderer';
import { colormapIndex, colormapTable } from '../src/viz/colormaps';
import { atlasHit, atlasLayout } from '../src/viz/atlas-layout';
import { randomTokens, sharpWeights } from './support/tiny-models';
import { useGpu, withEngine } from './support/tiny-engine';
import { TextureTarget } from './support/heatmap-fixtures';

const gpu = useGpu();
const config = gpt2Config({ nLayer: 3, nHead: 2, nEmbd: 16, nCtx: 32, vocabSize: 100 });
const weights = sharpWeights(config, 11);
const T = 9;
const tokens = randomTokens(T, config.vocabSize, 4);
const ref = referenceForward(weights, tokens);
const p = (l: number, h: number, q: number, k: number) => ref.patterns[l]![(h * T + q) * T + k]!;

/** Every pixel against the reference; returns how many were pattern colours, masked and gaps. */
function compare(
  pixels: Uint8Array,
  width: number,
  height: number,
  viewports: readonly AtlasViewport[],
  normalization: 'head' | 'shared',
) {
  const table = colormapTable('viridis');
  const max = (l: number, h: number) => {
    let m = 0;
    for (let q = 0; q < T; q++) for (let k = 0; k <= q; k++) m = Math.max(m, p(l, h, q, k));
    return m;
  };
  const bad: string[] = [];
  const counts = { colored: 0, masked: 0, gap: 0 };
  const indices = new Set<number>();
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const got = pixels.subarray(4 * (y * width + x), 4 * (y * width + x) + 3);
      const v = viewports.find((r) => x >= r.x && y >= r.y && x < r.x + r.size && y < r.y + r.size);
      const same = (c: readonly number[]) => c[0] === got[0] && c[1] === got[1] && c[2] === got[2];
      if (!v) {
        if (!same(panelColor)) bad.push(`gap (${x},${y}): ${[...got]}`);
        counts.gap++;
        continue;
      }
      // Cells are bigger than pixels here: the cell under the pixel's centre.
      const k = Math.floor(((x - v.x + 0.5) * T) / v.size);
      const q = Math.floor(((y - v.y + 0.5) * T) / v.size);
      if (k > q) {
        if (!same(maskedColor)) bad.push(`L${v.layer}.H${v.head} masked (${q},${k}): ${[...got]}`);
        counts.masked++;
        continue;
      }
      const value =
        normalization === 'head' ? p(v.layer, v.head, q, k) / max(v.layer, v.head) : p(v.layer, v.head, q, k);
      const want = colormapIndex(value);
      const match = [want, want - 1, want + 1].find(
        (i) => i >= 0 && i < 256 && same([table[4 * i]!, table[4 * i + 1]!, table[4 * i + 2]!]),
      );
      if (match === undefined) bad.push(`L${v.layer}.H${v.head} (${q},${k}) entry ${want}: ${[...got]}`);
      else indices.add(match);
      counts.colored++;
    }
  }
  expect(bad.slice(0, 10)).toEqual([]);
  return { ...counts, colours: indices.size };
}

describe('atlas renderer', () => {
  test('every layer × head of a real forward in one pass, per-head and shared normalization', async () => {
    await withEngine(gpu, weights, async (engine) => {
      const session = engine.createSession({ capacity: 16 });
      await session.run(tokens);
      const layout = atlasLayout(config.nLayer, config.nHead, 2 * 4 * T + 34 + 4, 3 * 4 * T + 14 + 8);
      expect(layout.cell).toBe(4 * T);
      const viewports = layout.thumbs.map((t) => ({ ...t }));
      const target = new TextureTarget(gpu.device, layout.width, layout.height);
      const renderer = new AtlasRenderer(gpu.device, viteShaders, target);
      const patterns = Array.from({ length: config.nLayer }, (_, l) =>
        session.capture({ kind: 'pattern', layer: l }),
      );
      const frame: AtlasFrame = {
        patterns,
        rows: T,
        viewports,
        colormap: 'viridis',
        scale: 'linear',
        normalization: 'head',
        sink: 'show',
      };
      gpu.device.pushErrorScope('validation');
      renderer.draw(frame);
      const perHead = compare(await target.pixels(), layout.width, layout.height, viewports, 'head');
      // Maxima kept for the same content: a second per-head frame (colours only) is the same.
      renderer.draw({ ...frame, contentKey: 1 });
      renderer.draw({ ...frame, contentKey: 1, colormap: 'magma' });
      renderer.draw({ ...frame, contentKey: 1 });
      compare(await target.pixels(), layout.width, layout.height, viewports, 'head');
      renderer.draw({ ...frame, normalization: 'shared' });
      const shared = compare(await target.pixels(), layout.width, layout.height, viewports, 'shared');
      expect(await gpu.device.popErrorScope()).toBeNull();
      const cellsPerHead = (T * (T + 1)) / 2;
      // 6 heads, 4 × 4 pixels a cell.
      expect(perHead.colored).toBe(6 * cellsPerHead * 16);
      expect(perHead.masked).toBe(6 * ((T * (T - 1)) / 2) * 16);
      expect(perHead.gap).toBeGreaterThan(0);
      // Not flat: the samples span many colours.
      expect(perHead.colours).toBeGreaterThanOrEqual(8);
      expect(shared.colours).toBeGreaterThanOrEqual(8);
      renderer.dispose();
      session.destroy();
    });
  });
});

describe('atlas layout', () => {
  test.each([
    [48, 25, 1232, 650],
    [48, 25, 3800, 2000],
    [12, 12, 1232, 650],
    [4, 4, 1232, 650],
    [36, 20, 600, 400],
  ])('%i × %i heads fit %i × %i px', (L, H, width, height) => {
    const l = atlasLayout(L, H, width, height);
    expect(l.thumbs).toHaveLength(L * H);
    expect(l.rowLabel + l.width).toBeLessThanOrEqual(width);
    expect(l.colLabel + l.height).toBeLessThanOrEqual(height);
    expect(l.cell).toBeGreaterThanOrEqual(4);
    // As large as fits: one pixel more per square would not.
    const grown = Math.min(
      width - l.rowLabel - H * (l.cell + 1) - (H - 1) * l.gap,
      height - l.colLabel - L * (l.cell + 1) - (L - 1) * l.gap,
    );
    expect(l.cell === 160 || grown < 0).toBe(true);
    // Hit tests agree with the squares.
    for (const t of [l.thumbs[0]!, l.thumbs[L * H - 1]!, l.thumbs[Math.floor((L * H) / 2)]!]) {
      expect(atlasHit(l, t.x + t.size / 2, t.y + t.size / 2)).toBe(t);
    }
    if (l.gap > 0) expect(atlasHit(l, l.cell + l.gap / 2, 0)).toBeUndefined();
  });
});
