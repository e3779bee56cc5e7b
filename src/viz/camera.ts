// A 2-D camera for the GPU-drawn views (the residual flow, the focused heatmap), built with
// wgpu-matrix: a view matrix (world → CSS pixels of the canvas, y down) and an orthographic
// projection (CSS pixels → clip space). Zoom about a point and pan are matrix products; the
// renderers get the inverse of projection × view (clip → world) and find the world point under
// each fragment with it. Immutable: every move returns a new camera, so a $state.raw holds one.
//
// World units are the view's own: (key, query) cells for a heatmap (y down), (position, residual
// boundary) for the flow (y up: the embeddings at the bottom).

import { mat4d, vec3d, type Mat4d } from 'wgpu-matrix';

/** An axis-aligned region of world space: x in [x0, x1), y in [y0, y1). */
export interface WorldRect {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

export interface CameraLimits {
  /** The world the camera may show: zoomed out, it shows all of it (fitted), never more. */
  readonly bounds: WorldRect;
  /** The largest zoom, in CSS pixels per world unit on x and y. */
  readonly maxScale: readonly [number, number];
}

export class Camera2D {
  /** World → CSS pixels (origin at the canvas's top left, y down). */
  readonly view: Mat4d;
  readonly width: number;
  readonly height: number;

  constructor(view: Mat4d, width: number, height: number) {
    this.view = view;
    this.width = Math.max(1, width);
    this.height = Math.max(1, height);
  }

  /**
   * The camera that shows exactly `rect` in a width × height canvas (stretched to fill it);
   * `yUp`: world y grows up the screen.
   */
  static showing(rect: WorldRect, width: number, height: number, yUp = false): Camera2D {
    const sx = Math.max(1, width) / (rect.x1 - rect.x0);
    const sy = Math.max(1, height) / (rect.y1 - rect.y0);
    // pixel = S · (world − origin), origin the world point at the top left.
    const origin = yUp ? [rect.x0, rect.y1, 0] : [rect.x0, rect.y0, 0];
    const view = mat4d.scaling([sx, yUp ? -sy : sy, 1]);
    mat4d.translate(view, vec3d.negate(origin), view);
    return new Camera2D(view, width, height);
  }

  /** Orthographic projection: CSS pixels (y down) → clip space (y up). */
  projection(): Mat4d {
    return mat4d.ortho(0, this.width, this.height, 0, -1, 1);
  }

  /** Clip space → world, as f32 for a uniform buffer (inverse of projection × view). */
  clipToWorld(): Float32Array {
    return Float32Array.from(mat4d.inverse(mat4d.multiply(this.projection(), this.view)));
  }

  /** Pixels per world unit on each axis (positive). */
  scale(): [number, number] {
    return [Math.abs(this.view[0]!), Math.abs(this.view[5]!)];
  }

  /** The world point under CSS pixel (px, py). */
  toWorld(px: number, py: number): [number, number] {
    const w = vec3d.transformMat4([px, py, 0], mat4d.inverse(this.view));
    return [w[0]!, w[1]!];
  }

  /** The CSS pixel of world point (x, y). */
  toScreen(x: number, y: number): [number, number] {
    const p = vec3d.transformMat4([x, y, 0], this.view);
    return [p[0]!, p[1]!];
  }

  /** The world region in sight. */
  visible(): WorldRect {
    const [ax, ay] = this.toWorld(0, 0);
    const [bx, by] = this.toWorld(this.width, this.height);
    return { x0: Math.min(ax, bx), y0: Math.min(ay, by), x1: Math.max(ax, bx), y1: Math.max(ay, by) };
  }

  /** Zooms by `factor` (> 1: in) about CSS pixel (px, py), which stays over the same world point. */
  zoomAt(px: number, py: number, factor: number): Camera2D {
    const m = mat4d.translation([px, py, 0]);
    mat4d.scale(m, [factor, factor, 1], m);
    mat4d.translate(m, [-px, -py, 0], m);
    return new Camera2D(mat4d.multiply(m, this.view), this.width, this.height);
  }

  /**
   * zoomAt kept inside `limits`: each axis zooms by `factor` as far as its own scale range allows
   * (an axis at its largest or smallest zoom stays there), so the world point under (px, py) stays
   * under it on both axes; then panned back inside bounds if zooming out showed more than them.
   */
  zoomWithin(px: number, py: number, factor: number, limits: CameraLimits): Camera2D {
    const [sx, sy] = this.scale();
    const [lx, hx, ly, hy] = this.#scaleRange(limits);
    const fx = Math.min(Math.max(sx * factor, lx), hx) / sx;
    const fy = Math.min(Math.max(sy * factor, ly), hy) / sy;
    const m = mat4d.translation([px, py, 0]);
    mat4d.scale(m, [fx, fy, 1], m);
    mat4d.translate(m, [-px, -py, 0], m);
    return new Camera2D(mat4d.multiply(m, this.view), this.width, this.height).clamped(limits);
  }

  /** Each axis's smallest (all of bounds) and largest zoom under `limits`: [x lo, x hi, y lo, y hi]. */
  #scaleRange(limits: CameraLimits): [number, number, number, number] {
    const { bounds: b, maxScale } = limits;
    const fitX = this.width / (b.x1 - b.x0);
    const fitY = this.height / (b.y1 - b.y0);
    return [fitX, Math.max(fitX, maxScale[0]), fitY, Math.max(fitY, maxScale[1])];
  }

  /** Moves the picture by (dx, dy) CSS pixels (a drag). */
  panBy(dx: number, dy: number): Camera2D {
    return new Camera2D(mat4d.multiply(mat4d.translation([dx, dy, 0]), this.view), this.width, this.height);
  }

  /** The same world centre and scale in a canvas of another size. */
  resized(width: number, height: number): Camera2D {
    const [cx, cy] = this.toWorld(this.width / 2, this.height / 2);
    const [sx, sy] = this.scale();
    const yUp = this.view[5]! < 0;
    const hw = Math.max(1, width) / sx / 2;
    const hh = Math.max(1, height) / sy / 2;
    return Camera2D.showing({ x0: cx - hw, y0: cy - hh, x1: cx + hw, y1: cy + hh }, width, height, yUp);
  }

  /**
   * Kept inside `limits`: on each axis no less zoomed than showing all of bounds and no more than
   * maxScale, and panned so that it shows nothing outside bounds (centred where bounds are smaller).
   */
  clamped(limits: CameraLimits): Camera2D {
    const b = limits.bounds;
    const yUp = this.view[5]! < 0;
    const [sx0, sy0] = this.scale();
    const [lx, hx, ly, hy] = this.#scaleRange(limits);
    const sx = Math.min(Math.max(sx0, lx), hx);
    const sy = Math.min(Math.max(sy0, ly), hy);
    const [cx, cy] = this.toWorld(this.width / 2, this.height / 2);
    const fit = (c: number, half: number, lo: number, hi: number) =>
      Math.min(Math.max(c, lo + half), hi - half);
    const hw = this.width / sx / 2;
    const hh = this.height / sy / 2;
    const x = fit(cx, hw, b.x0, b.x1);
    const y = fit(cy, hh, b.y0, b.y1);
    return Camera2D.showing({ x0: x - hw, y0: y - hh, x1: x + hw, y1: y + hh }, this.width, this.height, yUp);
  }
}
