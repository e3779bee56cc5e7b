// What e2e/bench-ui.ts runs inside the page: the readback counter installed before the app loads,
// the keystroke timeline read from the app's User Timing measures (src/state/debug.ts), and the
// frame recorders for scrubbing, panning and cursor moves. Each function is handed to
// page.evaluate / addInitScript, so it uses nothing from outside its own body.

export interface DebugRecord {
  seq: number;
  submitted: number;
  done: number;
}
interface Debug {
  runs: number;
  lenses?: number;
  draws: number;
  canvases: Record<string, DebugRecord>;
}
declare global {
  interface Window {
    __strataDebug?: Debug;
    __readbacks?: number;
    __keyAt?: number;
    __frames?: { stamps: number[]; stop: boolean };
  }
}

/** Counts every GPUBuffer.mapAsync (each CPU readback) before the app's code runs. */
export function countReadbacks() {
  window.__readbacks = 0;
  const original = GPUBuffer.prototype.mapAsync;
  GPUBuffer.prototype.mapAsync = function (this: GPUBuffer, ...args: Parameters<GPUBuffer['mapAsync']>) {
    window.__readbacks = (window.__readbacks ?? 0) + 1;
    return original.apply(this, args);
  };
  addEventListener('keydown', (e) => (window.__keyAt = e.timeStamp), { capture: true });
}

/**
 * One keystroke's steps, ms, from the app's measures (src/state/debug.ts). The steps' durations,
 * then when each view had the new run's data on screen (ms after the keydown). NaN where the build
 * measured does not have the step (a build from before the run was split has only `gpu`).
 */
export interface KeyTimeline {
  /** keydown → the tokenizer starts (input event, Svelte's flush). */
  input: number;
  tokenize: number;
  /** The debounce timer, as set → as fired (0: the key came after a pause). */
  debounce: number;
  /** Asked → the run starts (a run or the detectors' scoring in its way). */
  queue: number;
  encodeSubmit: number;
  /** The forward submitted → finished on the GPU. */
  forwardGpu: number;
  /** The forward submitted → the lens submitted (a frame, the text view's read, the detectors). */
  lensWait: number;
  /** The lens submitted → its top-k back (the GPU's work queued before it included). */
  lensGpu: number;
  /** Submitted → the whole result back: the forward and the lens on the GPU (one-stage builds). */
  gpu: number;
  /** Both heatmaps' frames encoded and submitted (sum). */
  drawEncode: number;
  /** The heatmaps' frames submitted → finished on the GPU. */
  drawGpu: number;
  /** Keydown → both heatmaps drawn from the run, finished on the GPU. */
  heatmaps: number;
  /** Keydown → the text view's weights of the run back (its read; the DOM follows in the task). */
  textView: number;
  /** Keydown → the flow's first frame from the run's stats finished on the GPU. */
  flow: number;
  /** Keydown → the flow's first frame with the run's lens labels finished on the GPU. */
  flowLens: number;
  /** Keydown → the lens result applied (the prediction list and the lens panel update). */
  prediction: number;
  /** Keydown → the atlas drawn from the run, finished on the GPU (the atlas phase only). */
  atlas: number;
  /** The latest of the views measured. */
  total: number;
}

export function keyTimeline(args: { keyAt: number; seq: number; canvases: string[] }): KeyTimeline {
  const { keyAt, seq, canvases } = args;
  const all = performance.getEntriesByType('measure').filter((m) => m.startTime >= keyAt - 0.5);
  const named = (name: string) => all.filter((m) => m.name === `strata:${name}`);
  const ofSeq = (name: string) => named(name).filter((m) => (m as PerformanceMeasure).detail?.seq === seq);
  const maybe = (name: string) => ofSeq(name).at(-1);
  const one = (name: string) => {
    const m = maybe(name);
    if (!m) throw new Error(`no strata:${name} measure for run ${seq}`);
    return m;
  };
  const end = (m: PerformanceEntry | undefined) => (m ? m.startTime + m.duration : NaN);
  const dur = (m: PerformanceEntry | undefined) => m?.duration ?? NaN;
  const queue = one('queue');
  const tokenizes = named('tokenize').filter((m) => m.startTime <= queue.startTime);
  const debounce = named('debounce')
    .filter((m) => m.startTime + m.duration <= queue.startTime + 0.5)
    .at(-1);
  const apply = one('apply');
  const oneStage = maybe('gpu'); // a build before the split: the lens came with the forward
  const lensApply = maybe('lens-apply') ?? apply;
  const stats = maybe('stats');
  // The flow draws (noted without the run's number): the first to start after its data came.
  const flowDraws = named('draw-gpu:flow-canvas');
  const flowAfter = (t: number) => end(flowDraws.find((m) => m.startTime >= t));
  const drawEnc = canvases.filter((c) => c !== 'atlas-canvas').map((c) => maybe(`draw-encode:${c}`));
  const drawGpu = canvases.map((c) => maybe(`draw-gpu:${c}`));
  const heat = drawGpu.filter((_, i) => canvases[i] !== 'atlas-canvas');
  const heatDone = heat.length ? Math.max(...heat.map(end)) : NaN;
  const atlas = end(maybe('draw-gpu:atlas-canvas'));
  const views = {
    heatmaps: heatDone - keyAt,
    textView: end(maybe('text-view')) - keyAt,
    flow: flowAfter(stats ? end(stats) : end(apply)) - keyAt,
    flowLens: flowAfter(end(lensApply)) - keyAt,
    prediction: end(lensApply) - keyAt,
    atlas: atlas - keyAt,
  };
  return {
    input: (tokenizes[0]?.startTime ?? keyAt) - keyAt,
    tokenize: tokenizes.reduce((s, m) => s + m.duration, 0),
    debounce: debounce?.duration ?? NaN,
    queue: queue.duration,
    encodeSubmit: dur(maybe('encode-submit')),
    forwardGpu: dur(maybe('forward-gpu')),
    lensWait: dur(maybe('lens-wait')),
    lensGpu: dur(maybe('lens-gpu')),
    gpu: oneStage ? oneStage.duration : end(maybe('lens-gpu')) - end(maybe('encode-submit')),
    drawEncode: drawEnc.reduce((s, m) => s + dur(m), 0),
    drawGpu: heatDone - Math.min(...drawEnc.map(end)),
    ...views,
    total: Math.max(...Object.values(views).filter(Number.isFinite)),
  };
}

/** Starts recording animation-frame timestamps (stopFrames ends it and returns the intervals). */
export function startFrames() {
  const rec = (window.__frames = { stamps: [] as number[], stop: false });
  const tick = (t: number) => {
    rec.stamps.push(t);
    if (!rec.stop) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  return { readbacks: window.__readbacks!, draws: window.__strataDebug!.draws, at: performance.now() };
}

/** Ends the recording: the frame intervals, readbacks and draws since `from`, GPU frame times. */
export function stopFrames(args: {
  from: { readbacks: number; draws: number; at: number };
  canvases: string[];
}) {
  const rec = window.__frames!;
  rec.stop = true;
  const gpu: Record<string, number[]> = {};
  for (const c of args.canvases)
    gpu[c] = performance
      .getEntriesByName(`strata:draw-gpu:${c}`)
      .filter((m) => m.startTime >= args.from.at)
      .map((m) => m.duration);
  const frames = rec.stamps.length;
  return {
    intervals: rec.stamps.slice(1).map((t, i) => t - rec.stamps[i]!),
    readbacks: window.__readbacks! - args.from.readbacks,
    draws: window.__strataDebug!.draws - args.from.draws,
    frames,
    gpu,
  };
}

/**
 * Moves the depth scrubber one layer every animation frame for `n` frames (back and forth), or,
 * with `keys`, sends one arrow key a frame to the element `target` (a keyboard cursor).
 */
export async function stepFrames(args: { n: number; target?: string; keys?: string[] }) {
  const frame = () => new Promise<number>((r) => requestAnimationFrame(r));
  const slider = document.querySelector<HTMLInputElement>(
    '[data-testid="depth-scrubber"] [data-testid="layer-slider"]',
  )!;
  const max = Number(slider.max);
  let layer = Number(slider.value);
  let dir = 1;
  const target = args.target ? document.querySelector<HTMLElement>(args.target) : undefined;
  for (let i = 0; i < args.n; i++) {
    await frame();
    if (target && args.keys) {
      const key = args.keys[Math.floor(i / 8) % args.keys.length]!;
      target.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true }));
    } else if (max > 0) {
      if (layer + dir > max || layer + dir < 0) dir = -dir;
      layer += dir;
      slider.value = String(layer);
      slider.dispatchEvent(new Event('input', { bubbles: true }));
    }
  }
  // Let the GPU finish the last frames before the recording stops.
  for (let i = 0; i < 3; i++) await frame();
  return max + 1;
}
