// Counters the studio keeps for tests and the UI benchmark (e2e/bench-ui.ts), on
// `globalThis.__strataDebug`: forward runs finished, heatmap frames submitted, and — with
// `?debug=1` — when each canvas's latest frame finished on the GPU and which run it showed.
// Nothing here reads GPU data back.

export interface DrawRecord {
  /** The result it drew (PromptRun's result counter); -1: nothing to draw (cleared). */
  readonly seq: number;
  /** performance.now() when the frame was submitted. */
  readonly submitted: number;
  /** performance.now() when the GPU finished it (onSubmittedWorkDone); NaN until then. */
  done: number;
}

export interface DebugCounters {
  /** Timestamps of GPU completion are recorded only when this is set (?debug=1). */
  enabled: boolean;
  /** Forward passes submitted (the attention views' result applied). */
  runs: number;
  /** Logit lenses back and applied (a run's second stage; one dropped for a newer run is not). */
  lenses: number;
  /** Heatmap frames submitted. */
  draws: number;
  /** The latest frame of each heatmap canvas, by its data-testid. */
  readonly canvases: Record<string, DrawRecord>;
  /** GPU buffers and textures created and not destroyed (./gpu/count.ts). */
  readonly live: { buffers: number; textures: number };
  /** Destroys the current device, as a driver reset would: the studio must recover (tests only). */
  loseDevice?: () => void;
}

export const debugCounters: DebugCounters = {
  enabled: false,
  runs: 0,
  lenses: 0,
  draws: 0,
  canvases: {},
  live: { buffers: 0, textures: 0 },
};

if (typeof window !== 'undefined') {
  debugCounters.enabled = new URLSearchParams(window.location.search).get('debug') === '1';
  (globalThis as { __strataDebug?: DebugCounters }).__strataDebug = debugCounters;
}

/** Notes a heatmap frame just submitted on `device` for the canvas `name`. */
export function noteDraw(device: GPUDevice, name: string, seq: number): void {
  debugCounters.draws++;
  if (!debugCounters.enabled) return;
  const record: DrawRecord = { seq, submitted: performance.now(), done: NaN };
  debugCounters.canvases[name] = record;
  void device.queue.onSubmittedWorkDone().then(() => {
    record.done = performance.now();
    if (seq >= 0) measure(`draw-gpu:${name}`, record.submitted, record.done, seq);
  });
}

/**
 * The keystroke → every view timeline, as User Timing measures (performance.measure), named
 * `strata:<step>` with the prompt run's number in `detail.seq` where it has one; e2e/bench-ui.ts
 * reads them, and they show in the browser's performance panel:
 *   strata:tokenize       the prompt's text → token ids (PromptRun.tokens);
 *   strata:debounce       the tokens changed → the run asked for (PromptRun.runSoon: 0 when the
 *                         key came after a pause, else the debounce);
 *   strata:queue          asked for → the run starts (waits for a run or scoring in flight);
 *   strata:encode-submit  the forward encoded and submitted (PromptSession.runForward);
 *   strata:forward-gpu    submitted → the forward finished on the GPU (onSubmittedWorkDone);
 *   strata:apply          the forward's result handed to the reactive state (the attention views'
 *                         effects run after);
 *   strata:stats          forward submitted → the flow's residual stats back (queued after it);
 *   strata:lens-wait      forward submitted → the lens starts (the next frame, then work queued
 *                         on the prompt's lock: the text view's read, the detectors);
 *   strata:lens-submit    the logit lens encoded and submitted (StagedRun.lens);
 *   strata:lens-gpu       submitted → its top-k back (the GPU's work queued before it included);
 *   strata:lens-apply     the lens result handed to the reactive state (prediction, lens, flow);
 *   strata:text-view      a text-view read asked for → its weights back (TokenAttentionReader);
 *   strata:draw-encode:<canvas>  a heatmap frame encoded and submitted (HeatmapView), by the
 *                         canvas's data-testid;
 *   strata:draw-gpu:<canvas>     a canvas's frame submitted → finished on the GPU (with ?debug=1;
 *                         heatmaps, atlas, flow).
 */
export function measure(step: string, start: number, end = performance.now(), seq?: number): void {
  if (typeof performance === 'undefined' || typeof performance.measure !== 'function') return;
  try {
    performance.measure(`strata:${step}`, { start, end, detail: seq === undefined ? null : { seq } });
  } catch {
    // (A measure with an end before its start, after a clock quirk: not worth failing a run.)
  }
}
