// The pointer on a zoomable plot, once for the flow view and the focused heatmap: the left button
// starts a drag from the camera of that moment (the plot captures the pointer), and past 2 px of
// travel each move gives that camera panned by the travel; the wheel zooms without scrolling the
// page (a non-passive listener), by a factor clamped to [e^-1, e].
import type { Attachment } from 'svelte/attachments';
import type { Camera2D } from '../viz/camera';

export class PanDrag {
  #drag: { x: number; y: number; camera: Camera2D; moved: boolean } | undefined;

  /** Whether a drag is on (the button is down), moved or not. */
  get active(): boolean {
    return this.#drag !== undefined;
  }

  down(e: PointerEvent, plot: HTMLElement, camera: Camera2D): void {
    if (e.button !== 0) return;
    this.#drag = { x: e.clientX, y: e.clientY, camera, moved: false };
    plot.setPointerCapture(e.pointerId);
  }

  up(e: PointerEvent, plot: HTMLElement | undefined): void {
    this.#drag = undefined;
    if (plot?.hasPointerCapture(e.pointerId)) plot.releasePointerCapture(e.pointerId);
  }

  /** The drag's camera panned by the pointer's travel, once that passed 2 px; else undefined. */
  pan(e: PointerEvent): Camera2D | undefined {
    const drag = this.#drag;
    if (!drag) return undefined;
    const dx = e.clientX - drag.x;
    const dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 2) drag.moved = true;
    return drag.moved ? drag.camera.panBy(dx, dy) : undefined;
  }
}

/**
 * A Svelte attachment (`{@attach wheelZoom(...)}`) listening to the wheel on its element
 * (non-passive, so that it can keep the page from scrolling): while `on()`, each wheel event is
 * kept from scrolling and given to `zoom` with its zoom factor (> 1: in).
 */
export function wheelZoom(
  on: () => boolean,
  zoom: (e: WheelEvent, factor: number) => void,
): Attachment<HTMLElement> {
  return (el) => {
    const onwheel = (e: WheelEvent) => {
      if (!on()) return;
      e.preventDefault();
      zoom(e, Math.exp(-Math.max(-1, Math.min(1, e.deltaY * 0.002))));
    };
    el.addEventListener('wheel', onwheel, { passive: false });
    return () => el.removeEventListener('wheel', onwheel);
  };
}
