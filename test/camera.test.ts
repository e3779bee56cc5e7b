// The 2-D camera of the GPU-drawn views (src/viz/camera.ts, wgpu-matrix): world ↔ screen, zoom
// about a point (the point stays put), pan, the clip-to-world matrix the shaders use, resizing, and
// the limits (never less zoomed than the fitted bounds, never past them; a zoom within them keeps
// the point under the pointer on both axes). Exact to 1e-9.
import { describe, expect, test } from 'vitest';
import { Camera2D } from '../src/viz/camera';

const close = (a: readonly number[], b: readonly number[]) =>
  a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 9));

describe('Camera2D', () => {
  const rect = { x0: 0, y0: 0, x1: 20, y1: 5 };
  const fit = Camera2D.showing(rect, 400, 100, true); // 20 px per unit both ways, y up

  test('shows a rectangle: world ↔ screen, y up or down', () => {
    close(fit.toScreen(0, 5), [0, 0]); // top left is (x0, y1) with y up
    close(fit.toScreen(20, 0), [400, 100]);
    close(fit.toWorld(200, 50), [10, 2.5]);
    close(fit.scale(), [20, 20]);
    const down = Camera2D.showing({ x0: 2, y0: 3, x1: 6, y1: 7 }, 100, 100);
    close(down.toScreen(2, 3), [0, 0]);
    close(down.toScreen(6, 7), [100, 100]);
    const v = down.visible();
    close([v.x0, v.y0, v.x1, v.y1], [2, 3, 6, 7]);
  });

  test('clip to world: the inverse of projection × view, as the shaders use it', () => {
    const m = fit.clipToWorld();
    const apply = (x: number, y: number) => [m[0]! * x + m[4]! * y + m[12]!, m[1]! * x + m[5]! * y + m[13]!];
    close(apply(-1, 1), [0, 5]); // clip top left
    close(apply(1, -1), [20, 0]);
    close(apply(0, 0), [10, 2.5]);
  });

  test('zoom about a point keeps it in place; pan moves the picture', () => {
    const z = fit.zoomAt(100, 30, 2);
    close(z.toWorld(100, 30), fit.toWorld(100, 30));
    close(z.scale(), [40, 40]);
    const p = z.panBy(15, -4);
    const [x, y] = z.toScreen(3, 1);
    close(p.toScreen(3, 1), [x + 15, y - 4]);
  });

  test('limits: no less zoomed than the bounds, no more than maxScale, never past the bounds', () => {
    const limits = { bounds: rect, maxScale: [100, 100] as const };
    close(fit.zoomAt(200, 50, 0.25).clamped(limits).scale(), [20, 20]);
    close(fit.zoomAt(200, 50, 50).clamped(limits).scale(), [100, 100]);
    const v = fit.zoomAt(0, 0, 4).panBy(500, 500).clamped(limits).visible();
    close([v.x0, v.y1], [0, 5]);
    expect(v.x1 - v.x0).toBeCloseTo(5, 9);
  });

  test('zoomWithin: an axis at its limit stays there and the point under the pointer stays put', () => {
    // y may zoom only to 30 px per unit, x to 100: a ×2 zoom moves x to 40 and y to 30.
    const limits = { bounds: rect, maxScale: [100, 30] as const };
    const z = fit.zoomWithin(120, 35, 2, limits);
    close(z.scale(), [40, 30]);
    close(z.toWorld(120, 35), fit.toWorld(120, 35));
    // (Zooming both axes by 2 and clamping after moves the world point under the pointer on y.)
    const clampedAfter = fit.zoomAt(120, 35, 2).clamped(limits);
    expect(Math.abs(clampedAfter.toWorld(120, 35)[1] - fit.toWorld(120, 35)[1])).toBeGreaterThan(0.01);
    // Zoomed out past the bounds: all of them, panned back inside.
    const out = z.zoomWithin(10, 10, 0.01, limits);
    close(out.scale(), [20, 20]);
    const v = out.visible();
    close([v.x0, v.y0, v.x1, v.y1], [0, 0, 20, 5]);
  });

  test('resized: the same centre and scale in another canvas', () => {
    const z = fit.zoomAt(120, 40, 3);
    const r = z.resized(200, 300);
    close(r.toWorld(100, 150), z.toWorld(200, 50));
    close(r.scale(), z.scale());
  });
});
