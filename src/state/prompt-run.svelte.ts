// One prompt's run state: its text, BOS, tokens, its session on the studio's current model, and
// its latest result (split from studio.svelte.ts: one class per file).

import { captureJson, type CaptureJson } from '../engine/capture-json';
import { ResidualStatsKernel, type ResidualStats } from '../instruments/residual-stats';
import { lensTopK } from '../engine/session';
import type { ForwardResult, LensPoints, PromptSession, RunResult, StagedRun } from '../engine/session';
import { viteShaders } from '../gpu/shaders-vite';
import { HeatmapView, type CaptureSource, type SessionCaptures } from './heatmaps.svelte';
import { debugCounters, measure } from './debug';
import { autoLensFlops, autoLensFlopsCpu, flowLensPoints, type FlowLensChoice } from './flow';
import { nonFiniteLens, nonFiniteStats } from '../instruments/non-finite';
import {
  registerRunCaptures,
  registerRunLock,
  runCaptures,
  studioGpu,
  type RunCaptures,
  type StudioGpu,
} from './gpu/access';
import type { Studio } from './studio.svelte';

/**
 * A run's residual-stream summary, with the result it belongs to (flow view, compare mode): set
 * once the stats are back, with `result.lens` empty (no points) until the run's lens is.
 */
export interface FlowData {
  readonly result: RunResult;
  readonly stats: ResidualStats;
}

/** A forward's result as the flow view reads it before the lens is back: a lens at no point. */
function withoutLens(forward: ForwardResult): RunResult {
  const lens = { points: [], k: lensTopK, ids: new Uint32Array(0), probs: new Float32Array(0) };
  return { ...forward, lens, readbackBytes: 0 };
}

/** A forward submitted, its lens to follow (PromptRun's two stages). */
interface ForwardStage {
  readonly seq: number;
  readonly session: PromptSession;
  readonly staged: StagedRun;
  /** performance.now() when the forward was submitted. */
  readonly submitted: number;
  /** The flow's stats, computed after the forward (queue order); settled before the lens. */
  readonly stats: Promise<unknown>;
  /** Called with the whole result once the lens is back (the flow's labels). */
  readonly onLens: (result: RunResult) => void;
}

/**
 * After the next frame (its rendering, which presents the canvases drawn from the forward's
 * captures), or after `ms` if no frame comes (a hidden tab), or at once outside a browser.
 */
function afterNextFrame(ms = 250): Promise<void> {
  if (typeof requestAnimationFrame !== 'function') return new Promise((r) => setTimeout(r, 0));
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    requestAnimationFrame(() =>
      setTimeout(() => {
        clearTimeout(timer);
        resolve();
      }, 0),
    );
  });
}

/**
 * One prompt: its tokens, its session on the current model, and its latest result. The session's
 * logit lens reads every resid_pre and the final resid_post (what the flow view, the prediction and
 * the export need), or every residual boundary while the logit-lens panel holds it (holdLens): the
 * panel then reads this run's lens and tracks tokens on this session, with no forward of its own.
 *
 * A run has two stages (PromptSession.runForward): the forward, then — after the flow's stats and
 * the next frame, so that the attention views (heatmaps, atlas, text view) and the flow drawn from
 * its captures are on screen before the lens, often the costlier half, takes the GPU — the logit
 * lens. `result` changes with
 * the forward, `lensResult` (the prediction, the lens panel, the flow's labels) with the lens.
 */
export class PromptRun {
  text = $state('');
  bos = $state(false);
  /** The latest run whose forward is submitted: the attention views draw its captures. */
  result = $state.raw<ForwardResult | undefined>(undefined);
  /**
   * The latest run whose logit lens is back (the prediction, the lens panel): `result`'s run once
   * `lensPending` is false, else the one before it (or undefined).
   */
  lensResult = $state.raw<RunResult | undefined>(undefined);
  /** `result`'s lens is not back yet (being computed, or dropped for a newer run). */
  lensPending = $state(false);
  /** Set after `result`, once the run's residual stats are back (one small readback). */
  flow = $state.raw<FlowData | undefined>(undefined);
  error = $state.raw<string | undefined>(undefined);
  running = $state(false);
  /** Where the flow view wants the lens (src/state/flow.ts: 'auto' skips it when it is costly). */
  flowLens = $state<FlowLensChoice>('auto');
  readonly #studio: Studio;
  readonly #gpu: StudioGpu;
  #session: PromptSession | undefined;
  /** The lens points #session was made with. */
  #sessionLens: LensPoints = 'layers';
  #stats: ResidualStatsKernel | undefined;
  #sessionVersion = -1;
  #pending: readonly number[] | undefined;
  /** The runs in flight and queued (see run), until the last request has run. */
  #loop: Promise<void> | undefined;
  /**
   * The session whose captures hold `result` (the heatmaps draw only from that one). It is
   * #session, or the one before it while a run on a session with other lens points is in flight.
   */
  #resultSession: PromptSession | undefined;
  #seq = 0;
  /** The seq of `lensResult`, and the session whose lens stack holds it. */
  #lensSeq = 0;
  #lensSession: PromptSession | undefined;
  /** The run whose forward is shown and whose lens is still to run (between its two sections). */
  #stage: ForwardStage | undefined;
  /** When the pending run was asked for (the queue measure). */
  #asked = 0;
  /** Holders of the lens at every residual boundary (holdLens). */
  #lensHolds = 0;
  /** Work on the session (runs, exports) one at a time: a run overwrites the captures. */
  #lock: Promise<unknown> = Promise.resolve();

  constructor(studio: Studio, text = '', bos = false) {
    this.#studio = studio;
    this.#gpu = studioGpu(studio);
    this.text = text;
    this.bos = bos;
    registerRunCaptures(this, () => this.#captures());
    registerRunLock(this, (work) => this.#exclusive(work));
  }

  /** Why the latest run's output cannot be trusted (NaN or ±Inf in its lens or stream), if it cannot. */
  readonly nonFinite = $derived.by((): string | undefined => {
    const vocab = this.#studio.model?.config.vocabSize ?? Infinity;
    const current = this.lensResult && !this.lensPending ? this.lensResult : undefined;
    const lens = current && nonFiniteLens(current.lens, vocab);
    const flow = this.flow && this.flow.result.tokens === this.result?.tokens ? this.flow : undefined;
    return lens ?? (flow ? nonFiniteStats(flow.stats) : undefined);
  });

  /** The prompt's token ids, with <|endoftext|> first when `bos` is set. */
  readonly tokens = $derived.by((): readonly number[] => {
    void this.#studio.modelVersion;
    const tokenizer = this.#studio.tokenizer;
    if (!tokenizer) return [];
    const started = performance.now();
    const ids = tokenizer.encode(this.text);
    measure('tokenize', started);
    return this.bos ? [tokenizer.endOfTextId, ...ids] : ids;
  });

  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When runSoon was last called. */
  #lastAsk = -Infinity;

  /**
   * Runs `tokens` as the user types: at once when nothing ran or was asked for in the last
   * `delayMs` (a single key after a pause costs no wait), else after `delayMs` unless asked again
   * before (a burst of keys: one run when they pause). Returns the function that cancels a
   * delayed run (an effect's teardown).
   */
  runSoon(tokens: readonly number[], delayMs: number): () => void {
    clearTimeout(this.#timer);
    const asked = performance.now();
    // (#loop, not `running`: an effect calling this must not depend on the run's state.)
    const idle = this.#loop === undefined && this.#timer === undefined && asked - this.#lastAsk >= delayMs;
    this.#lastAsk = asked;
    if (idle) {
      measure('debounce', asked);
      void this.run(tokens);
      return () => undefined;
    }
    const timer = (this.#timer = setTimeout(() => {
      this.#timer = undefined;
      measure('debounce', asked);
      void this.run(tokens);
    }, delayMs));
    return () => {
      clearTimeout(timer);
      if (this.#timer === timer) this.#timer = undefined;
    };
  }

  /**
   * Runs the model on `tokens`. A run in flight is not interrupted; the latest request waits for it
   * and then runs (intermediate ones are dropped), so typing never queues stale work. Resolves once
   * the latest request has run (every caller waiting on the same runs gets the same promise).
   */
  run(tokens: readonly number[]): Promise<void> {
    this.#pending = tokens;
    this.#asked = performance.now();
    this.#loop ??= this.#drain();
    return this.#loop;
  }

  async #drain(): Promise<void> {
    this.running = true;
    try {
      for (let next = this.#pending; next; next = this.#pending) {
        this.#pending = undefined;
        await this.#runOnce(next);
      }
    } finally {
      // In the same step as the last check for a request: a later run() starts a new loop.
      this.running = false;
      this.#loop = undefined;
    }
  }

  /**
   * Runs this prompt with the logit lens at every residual boundary (lens: 'all', 2L+1 points)
   * while at least one holder holds it: from the next run on, `result.lens` has those points and
   * the session can track tokens at all of them. Returns the function that lets go; runs after the
   * last holder let go read only every resid_pre and the final resid_post again (cheaper).
   * Holding runs nothing: the holder asks for a run if the result it needs is not there.
   */
  holdLens(): () => void {
    this.#lensHolds++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.#lensHolds--;
    };
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const done = this.#lock.then(work, work);
    this.#lock = done.catch(() => undefined);
    return done;
  }

  /**
   * One run in two sections of the lock: the forward (the views queued on the lock after it see
   * its captures: the text view's read, the detectors), then, once the flow's stats are back and
   * after the next frame, the lens — dropped if a newer run is already asked for (it supersedes
   * this one's lens).
   */
  async #runOnce(tokens: readonly number[]): Promise<void> {
    const stage = await this.#exclusive(() => this.#forwardOnce(tokens));
    if (!stage) return;
    // The flow's stats come right after the forward on the GPU: its frame too goes before the lens.
    await stage.stats;
    await afterNextFrame();
    await this.#exclusive(() => this.#lensOnce(stage));
  }

  async #forwardOnce(tokens: readonly number[]): Promise<ForwardStage | undefined> {
    const version = this.#studio.modelVersion;
    const engine0 = this.#gpu.engine();
    const budget = engine0?.gpu.summary.fallback ? autoLensFlopsCpu : autoLensFlops;
    const lens =
      this.#lensHolds > 0 ? 'all' : flowLensPoints(engine0?.config, tokens.length, this.flowLens, budget);
    if (this.#sessionVersion !== version) {
      this.#freeSessions();
      const engine = this.#gpu.engine();
      this.#session = engine?.createSession({ lens });
      this.#sessionLens = lens;
      this.#stats = engine && new ResidualStatsKernel(engine.gpu.device, viteShaders, engine.config);
      this.#sessionVersion = version;
      this.flow = undefined;
      this.lensResult = undefined;
    } else if (this.#session && this.#sessionLens !== lens) {
      // The lens panel was opened or closed: a session with the lens points wanted now. The one
      // holding the result's captures stays (the heatmaps keep drawing them) until this run's
      // result replaces it.
      if (this.#session !== this.#resultSession) this.#session.destroy();
      this.#session = this.#gpu.engine()?.createSession({ lens });
      this.#sessionLens = lens;
    }
    const session = this.#session;
    const stats = this.#stats;
    const device = this.#gpu.device();
    if (!session || !stats || !device) return undefined;
    if (tokens.length === 0) {
      this.#showFrom(undefined);
      this.result = undefined;
      this.lensResult = undefined;
      this.lensPending = false;
      this.flow = undefined;
      this.error = undefined;
      return undefined;
    }
    try {
      const seq = this.#seq + 1;
      const started = performance.now();
      measure('queue', this.#asked, started, seq);
      // runForward encodes and submits the forward (when the session need not grow) and resolves.
      const staged = await session.runForward(tokens);
      const submitted = performance.now();
      measure('encode-submit', started, submitted, seq);
      void device.queue
        .onSubmittedWorkDone()
        .then(() => measure('forward-gpu', submitted, performance.now(), seq));
      this.#seq = seq;
      this.#showFrom(session);
      this.result = staged.forward;
      this.lensPending = true;
      this.error = undefined;
      debugCounters.runs++;
      measure('apply', submitted, performance.now(), seq);
      // The flow's numbers: one more small readback, queued after the forward, before the lens.
      let statsBack: ResidualStats | undefined;
      let lensBack: RunResult | undefined;
      const showFlow = () => {
        if (this.#seq !== seq || !statsBack) return;
        this.flow = { result: lensBack ?? withoutLens(staged.forward), stats: statsBack };
      };
      const statsDone = stats.compute(session, tokens.length).then(
        (s) => {
          statsBack = s;
          measure('stats', submitted, performance.now(), seq);
          showFlow();
        },
        (e: unknown) => {
          if (this.#seq === seq) this.error = (e as Error).message;
        },
      );
      const onLens = (result: RunResult) => {
        lensBack = result;
        showFlow();
      };
      const stage = { seq, session, staged, submitted, stats: statsDone, onLens };
      this.#stage = stage;
      return stage;
    } catch (e) {
      this.error = (e as Error).message;
      return undefined;
    }
  }

  async #lensOnce(stage: ForwardStage): Promise<void> {
    try {
      // A newer run asked for: it supersedes this one's lens (unless work on the lock needed it).
      if (this.#pending === undefined) await this.#finishLens(stage);
    } catch (e) {
      if (this.#seq === stage.seq) this.error = (e as Error).message;
    } finally {
      if (this.#stage === stage) this.#stage = undefined;
      await stage.stats;
    }
  }

  /**
   * Under the lock: the stage's lens, run now unless it already was (by work on the lock that
   * needed it, e.g. an export); undefined once its captures are no longer shown.
   */
  async #finishLens(stage: ForwardStage): Promise<RunResult | undefined> {
    const { seq, session, staged, submitted } = stage;
    if (this.#lensSeq === seq) return this.lensResult;
    if (this.#seq !== seq || this.#resultSession !== session) return undefined;
    const started = performance.now();
    measure('lens-wait', submitted, started, seq);
    // (Superseded: something ran the session in between; run it whole again.)
    const running = staged.superseded ? session.run(staged.forward.tokens) : staged.lens();
    const lensSubmitted = performance.now();
    measure('lens-submit', started, lensSubmitted, seq);
    const result = await running;
    const back = performance.now();
    measure('lens-gpu', lensSubmitted, back, seq);
    if (this.#seq !== seq) return undefined;
    this.lensResult = result;
    this.#lensSeq = seq;
    this.#lensSession = session;
    this.lensPending = false;
    debugCounters.lenses++;
    stage.onLens(result);
    measure('lens-apply', back, performance.now(), seq);
    return result;
  }

  /** Makes `session` the one whose captures hold the result; frees the one before if it is retired. */
  #showFrom(session: PromptSession | undefined): void {
    const before = this.#resultSession;
    this.#resultSession = session;
    if (before && before !== session && before !== this.#session) before.destroy();
  }

  /** Frees every session (and the stats kernel): the model changed, or the prompt is released. */
  #freeSessions(): void {
    if (this.#resultSession !== this.#session) this.#resultSession?.destroy();
    this.#session?.destroy();
    this.#stats?.destroy();
    this.#session = undefined;
    this.#resultSession = undefined;
    this.#stats = undefined;
  }

  #captures(): RunCaptures | undefined {
    // #resultSession is cleared with the sessions of an older model (#freeSessions).
    const session = this.#resultSession;
    const result = this.result;
    const current = session && result && this.#sessionVersion === this.#studio.modelVersion;
    if (!current) return undefined;
    const seq = this.#seq;
    const stage = this.#stage?.seq === seq ? this.#stage : undefined;
    const lensOf = () => {
      const lens = this.lensResult;
      return lens && this.#lensSeq === seq && this.#lensSession === session ? lens : undefined;
    };
    return {
      session,
      result,
      seq,
      // A getter: only readers of the lens (not the heatmaps, the atlas) follow lensResult.
      get lens() {
        return lensOf();
      },
      ...(stage ? { finishLens: () => this.#finishLens(stage) } : {}),
    };
  }

  /**
   * Draws this prompt's attention captures on `canvas`, straight from the GPU (HeatmapView). With
   * `against`, another prompt: the difference of the two, while their lengths agree.
   * The caller disposes the view when the canvas goes.
   */
  attachHeatmaps(canvas: HTMLCanvasElement, against?: PromptRun): HeatmapView {
    const slot = (c: RunCaptures): SessionCaptures => ({
      session: c.session,
      rows: c.result.tokens.length,
      seq: c.seq,
    });
    return new HeatmapView(canvas, (): CaptureSource | undefined => {
      const device = this.#gpu.device();
      if (!device) return undefined;
      const a = this.#captures();
      if (!against) return { device, captures: a && slot(a) };
      const b = runCaptures(against);
      return a && b && a.result.tokens.length === b.result.tokens.length
        ? { device, captures: slot(a), capturesB: slot(b) }
        : { device, captures: undefined };
    });
  }

  /**
   * The latest run's captures in the capture CLI's schema (every pattern, the residual norms, the
   * logits, the lens), read back from the GPU: an export the user asked for, not drawing.
   */
  exportCapture(): Promise<CaptureJson> {
    return this.#exclusive(async () => {
      const captures = this.#captures();
      const engine = this.#gpu.engine();
      const model = this.#studio.model;
      const tokenizer = this.#studio.tokenizer;
      const gpu = this.#studio.gpu;
      if (!captures || !engine || !model || !tokenizer || gpu.state !== 'ready')
        throw new Error('nothing to export yet: run a prompt first');
      const run = captures.lens ?? (await captures.finishLens?.());
      if (!run) throw new Error('nothing to export yet: run a prompt first');
      return captureJson({
        device: engine.gpu.device,
        config: engine.config,
        name: model.label,
        adapter: gpu.adapter,
        session: captures.session,
        run,
        tokenLabel: (id) => tokenizer.tokenLabel(id),
      });
    });
  }

  /**
   * Frees the prompt's GPU memory (its session) until it runs again, e.g. when compare mode's
   * second prompt is put away; its result goes with it.
   */
  release(): Promise<void> {
    return this.#exclusive(async () => {
      this.#freeSessions();
      this.#sessionVersion = -1;
      this.result = undefined;
      this.lensResult = undefined;
      this.lensPending = false;
      this.flow = undefined;
    });
  }

  dispose(): void {
    this.#freeSessions();
  }
}
