// The studio's root state. Owns the GPU device and the Engine (never handed to components) and
// exposes what the UI shows as plain reactive values. Created once in App.svelte, shared by context.
// Other state modules reach the GPU objects through ./gpu/access.ts, which components cannot import.

import { getContext, setContext } from 'svelte';
import { captureJson, type CaptureJson } from '../engine/capture-json';
import { Engine } from '../engine/engine';
import { ResidualStatsKernel, type ResidualStats } from '../instruments/residual-stats';
import type { LensPoints, PromptSession, RunResult } from '../engine/session';
import { acquireGpu, WebGpuUnavailableError, type AdapterSummary, type GpuContext } from '../gpu/device';
import { viteShaders } from '../gpu/shaders-vite';
import type { DownloadProgress } from '../io/download';
import { openModel, standardTokenizerNote } from '../model/load';
import { nonFiniteLens, nonFiniteStats } from '../instruments/non-finite';
import { countGpuObjects } from './gpu/count';
import { openBrowserCache, type ModelCache } from '../io/model-cache';
import {
  filesFromFolder,
  filesFromHub,
  filesFromPicked,
  isHubModelCached,
  standardTokenizerFromFolder,
} from '../io/sources';
import type { Gpt2Tokenizer } from '../model/tokenizer';
import type { Gpt2Config } from '../model/types';
import { formatModelRef, type KernelChoice, type ModelRef } from './url-state';
import { HeatmapView, type CaptureSource, type SessionCaptures } from './heatmaps.svelte';
import { debugCounters } from './debug';
import { flowLensPoints, type FlowLensChoice } from './flow';
import {
  registerRunCaptures,
  registerRunLock,
  registerStudioGpu,
  runCaptures,
  studioGpu,
  type RunCaptures,
  type StudioGpu,
} from './gpu/access';

export type GpuStatus =
  | { readonly state: 'pending' }
  | { readonly state: 'ready'; readonly adapter: AdapterSummary; readonly recovered: number }
  | { readonly state: 'unavailable'; readonly message: string; readonly help: string }
  /** The device was lost; `recovering` while a new device is acquired and the model re-uploaded. */
  | { readonly state: 'lost'; readonly message: string; readonly recovering: boolean };

export type LoadStatus =
  | { readonly state: 'idle' }
  | {
      readonly state: 'loading';
      readonly label: string;
      readonly stage: 'download' | 'upload';
      readonly file: string;
      readonly loaded: number;
      readonly total: number | undefined;
      readonly cached: boolean;
    }
  | { readonly state: 'error'; readonly label: string; readonly message: string };

/** What the UI knows about the loaded model. */
export interface ModelInfo {
  readonly label: string;
  readonly ref: ModelRef | undefined;
  readonly config: Gpt2Config;
  readonly weightFormat: string;
  readonly weightBytes: number;
  /** The kernel set the engine runs: tiled (for GPUs) or barrier-free (for CPU adapters). */
  readonly kernels: 'tiled' | 'barrier-free';
  /** Loaded from the browser's cache with no download. */
  readonly fromCache: boolean;
  /** Set when the model came without tokenizer files and the standard GPT-2 tokenizer stands in. */
  readonly tokenizerNote?: string;
}

interface Loaded {
  readonly info: ModelInfo;
  readonly engine: Engine;
  readonly tokenizer: Gpt2Tokenizer;
}

export type ModelSource =
  { readonly kind: 'ref'; readonly ref: ModelRef } | { readonly kind: 'files'; readonly files: File[] };

export class Studio {
  gpu = $state.raw<GpuStatus>({ state: 'pending' });
  load = $state.raw<LoadStatus>({ state: 'idle' });
  model = $state.raw<ModelInfo | undefined>(undefined);
  /** Incremented when the model changes, so prompt runs start over. */
  modelVersion = $state(0);
  readonly hubEndpoint: string | undefined;
  /** The kernel set asked for ('auto': from the adapter). */
  readonly kernels: KernelChoice;

  readonly #gpuApi: () => GPU | undefined;
  readonly #environment: () => string;
  #context: GpuContext | undefined;
  #loaded: Loaded | undefined;
  #lastSource: ModelSource | undefined;
  #abort: AbortController | undefined;
  #cache: Promise<ModelCache | undefined> | undefined;
  #recoveries = 0;

  constructor(
    options: {
      hubEndpoint?: string;
      kernels?: KernelChoice;
      /** Where WebGPU comes from: navigator.gpu in the browser, Dawn in Node tests. */
      gpu?: () => GPU | undefined;
      environment?: () => string;
    } = {},
  ) {
    this.hubEndpoint = options.hubEndpoint;
    this.kernels = options.kernels ?? 'auto';
    this.#gpuApi = options.gpu ?? (() => navigator.gpu);
    this.#environment = options.environment ?? browserName;
    registerStudioGpu(this, {
      engine: () => this.#loaded?.engine,
      device: () => this.#context?.device,
      createSession: (options) => this.#loaded?.engine.createSession(options),
      modelVersion: () => this.modelVersion,
    });
  }

  async start(): Promise<boolean> {
    try {
      const context = await acquireGpu(this.#gpuApi(), { environment: this.#environment() });
      this.#context = context;
      countGpuObjects(context.device);
      this.gpu = { state: 'ready', adapter: context.summary, recovered: this.#recoveries };
      void context.device.lost.then((info) => {
        // Our own dispose() destroys the device on purpose; any other loss is recovered from.
        if (this.#context === context)
          void this.#recover(info.message || `the device was lost (${info.reason})`);
      });
      return true;
    } catch (e) {
      if (e instanceof WebGpuUnavailableError)
        this.gpu = { state: 'unavailable', message: e.message, help: e.help };
      else
        this.gpu = {
          state: 'unavailable',
          message: String(e),
          help: 'Reload the page; if it persists, update the browser.',
        };
      return false;
    }
  }

  /**
   * After a device loss (driver reset, GPU process crash, another tab taking the memory): a new
   * device, and the current model loaded again from where it came (the browser's cache for hub
   * models), so the studio carries on where it was.
   */
  async #recover(reason: string): Promise<void> {
    this.#context = undefined;
    this.#abort?.abort();
    this.#loaded?.engine.dispose();
    this.#loaded = undefined;
    this.model = undefined;
    this.modelVersion++;
    this.gpu = { state: 'lost', message: reason, recovering: true };
    this.#recoveries++;
    if (!(await this.start())) {
      this.gpu = { state: 'lost', message: reason, recovering: false };
      return;
    }
    if (this.#lastSource) await this.loadModel(this.#lastSource);
  }

  get tokenizer(): Gpt2Tokenizer | undefined {
    return this.#loaded?.tokenizer;
  }

  /**
   * Loads a model and makes it current. A failed or cancelled load leaves the previous model
   * loaded and working; the error is in `load`.
   */
  async loadModel(source: ModelSource): Promise<boolean> {
    const gpu = this.#context;
    if (!gpu) return false;
    this.#abort?.abort();
    const abort = (this.#abort = new AbortController());
    const label = source.kind === 'files' ? 'local files' : formatModelRef(source.ref);
    let fromCache = true;
    const onProgress = (p: DownloadProgress) => {
      if (!p.cached) fromCache = false;
      this.load = {
        state: 'loading',
        label,
        stage: 'download',
        file: p.file,
        loaded: p.loaded,
        total: p.total,
        cached: p.cached,
      };
    };
    this.load = {
      state: 'loading',
      label,
      stage: 'download',
      file: '',
      loaded: 0,
      total: undefined,
      cached: false,
    };
    try {
      const optional = { tokenizerOptional: true };
      const files =
        source.kind === 'files'
          ? await filesFromPicked(source.files, optional)
          : source.ref.kind === 'local'
            ? await filesFromFolder(`models/${source.ref.folder}/`, {
                signal: abort.signal,
                onProgress,
                ...optional,
              })
            : await filesFromHub(source.ref.id, {
                endpoint: this.hubEndpoint,
                cache: await this.#browserCache(),
                signal: abort.signal,
                onProgress,
                verify: 'listing',
                ...optional,
              });
      if (source.kind !== 'ref' || source.ref.kind !== 'hub') fromCache = false;
      // The bundled model's tokenizer is GPT-2's: it stands in for a model saved without one.
      const standardTokenizer = () =>
        standardTokenizerFromFolder('models/gpt2-brown-mini/', { signal: abort.signal });
      const opened = await openModel(files, { standardTokenizer });
      const engine = await Engine.load(gpu, viteShaders, opened.checkpoint, {
        ...(this.kernels === 'auto' ? {} : { fallbackKernels: this.kernels === 'fallback' }),
        signal: abort.signal,
        onProgress: (loaded, total) => {
          this.load = {
            state: 'loading',
            label,
            stage: 'upload',
            file: opened.checkpoint.file,
            loaded,
            total,
            cached: false,
          };
        },
      });
      if (abort.signal.aborted) {
        engine.dispose();
        throw new DOMException('cancelled', 'AbortError');
      }
      const previous = this.#loaded;
      this.#lastSource = source;
      this.#loaded = {
        engine,
        tokenizer: opened.tokenizer,
        info: {
          label: opened.name,
          ref: source.kind === 'ref' ? source.ref : undefined,
          config: opened.config,
          weightFormat: engine.weights.format,
          weightBytes: engine.weights.bytes,
          kernels: engine.fallbackKernels ? 'barrier-free' : 'tiled',
          fromCache,
          tokenizerNote: opened.tokenizerSource === 'standard-gpt2' ? standardTokenizerNote : undefined,
        },
      };
      this.model = this.#loaded.info;
      this.modelVersion++;
      previous?.engine.dispose();
      this.load = { state: 'idle' };
      return true;
    } catch (e) {
      const cancelled = abort.signal.aborted;
      this.load = cancelled
        ? { state: 'idle' }
        : { state: 'error', label, message: (e as Error).message ?? String(e) };
      return false;
    } finally {
      if (this.#abort === abort) this.#abort = undefined;
    }
  }

  cancelLoad(): void {
    this.#abort?.abort();
  }

  /** True when a hub model's files are all in the browser's cache (the "cached" badge). */
  async isCached(id: string): Promise<boolean> {
    const cache = await this.#browserCache();
    return cache ? isHubModelCached(id, cache, { endpoint: this.hubEndpoint }) : false;
  }

  // The device, the engine and new sessions: for state modules only, through studioGpu(studio)
  // (./gpu/access.ts, which components cannot import). No public getter here: components hold
  // the Studio.

  dispose(): void {
    const context = this.#context;
    this.#context = undefined; // before destroy(): a loss we cause is not recovered from
    this.#abort?.abort();
    this.#loaded?.engine.dispose();
    this.#loaded = undefined;
    context?.device.destroy();
  }

  #browserCache(): Promise<ModelCache | undefined> {
    this.#cache ??= openBrowserCache();
    return this.#cache;
  }
}

/** A run's residual-stream summary, with the result it belongs to (flow view, compare mode). */
export interface FlowData {
  readonly result: RunResult;
  readonly stats: ResidualStats;
}

/**
 * One prompt: its tokens, its session on the current model, and its latest result. The session's
 * logit lens reads every resid_pre and the final resid_post (what the flow view, the prediction and
 * the export need), or every residual boundary while the logit-lens panel holds it (holdLens): the
 * panel then reads this run's lens and tracks tokens on this session, with no forward of its own.
 */
export class PromptRun {
  text = $state('');
  bos = $state(false);
  result = $state.raw<RunResult | undefined>(undefined);
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
    const lens = this.result && nonFiniteLens(this.result.lens, vocab);
    return (
      lens ?? (this.flow && this.flow.result === this.result ? nonFiniteStats(this.flow.stats) : undefined)
    );
  });

  /** The prompt's token ids, with <|endoftext|> first when `bos` is set. */
  readonly tokens = $derived.by((): readonly number[] => {
    void this.#studio.modelVersion;
    const tokenizer = this.#studio.tokenizer;
    if (!tokenizer) return [];
    const ids = tokenizer.encode(this.text);
    return this.bos ? [tokenizer.endOfTextId, ...ids] : ids;
  });

  /**
   * Runs the model on `tokens`. A run in flight is not interrupted; the latest request waits for it
   * and then runs (intermediate ones are dropped), so typing never queues stale work. Resolves once
   * the latest request has run (every caller waiting on the same runs gets the same promise).
   */
  run(tokens: readonly number[]): Promise<void> {
    this.#pending = tokens;
    this.#loop ??= this.#drain();
    return this.#loop;
  }

  async #drain(): Promise<void> {
    this.running = true;
    try {
      for (let next = this.#pending; next; next = this.#pending) {
        this.#pending = undefined;
        const now = next;
        await this.#exclusive(() => this.#runOnce(now));
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

  async #runOnce(tokens: readonly number[]): Promise<void> {
    const version = this.#studio.modelVersion;
    const config = this.#gpu.engine()?.config;
    const lens = this.#lensHolds > 0 ? 'all' : flowLensPoints(config, tokens.length, this.flowLens);
    if (this.#sessionVersion !== version) {
      this.#freeSessions();
      const engine = this.#gpu.engine();
      this.#session = engine?.createSession({ lens });
      this.#sessionLens = lens;
      this.#stats = engine && new ResidualStatsKernel(engine.gpu.device, viteShaders, engine.config);
      this.#sessionVersion = version;
      this.flow = undefined;
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
    if (!session || !stats) return;
    if (tokens.length === 0) {
      this.#showFrom(undefined);
      this.result = undefined;
      this.flow = undefined;
      this.error = undefined;
      return;
    }
    try {
      const result = await session.run(tokens);
      this.#seq++;
      this.#showFrom(session);
      this.result = result;
      this.error = undefined;
      debugCounters.runs++;
      // The flow view's numbers: one more small readback, after the heatmaps have their result.
      this.flow = { result, stats: await stats.compute(session, tokens.length) };
    } catch (e) {
      this.error = (e as Error).message;
    }
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
    return current ? { session, result, seq: this.#seq } : undefined;
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
      return captureJson({
        device: engine.gpu.device,
        config: engine.config,
        name: model.label,
        adapter: gpu.adapter,
        session: captures.session,
        run: captures.result,
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
      this.flow = undefined;
    });
  }

  dispose(): void {
    this.#freeSessions();
  }
}

const key = Symbol('studio');
export const setStudio = (studio: Studio): Studio => setContext(key, studio);
export const getStudio = (): Studio => getContext<Studio>(key);

/** A short browser name for messages ("Chrome 131", "Firefox 128", …). */
function browserName(): string {
  const match = /(Edg|Chrome|Chromium|Firefox|Version)\/(\d+)/.exec(navigator.userAgent);
  if (!match) return 'This browser';
  const [, name, version] = match;
  const label = name === 'Edg' ? 'Edge' : name === 'Version' ? 'Safari' : name;
  return `${label} ${version}`;
}
