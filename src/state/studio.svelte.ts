// The studio's root state. Owns the GPU device and the Engine (never handed to components) and
// exposes what the UI shows as plain reactive values. Created once in App.svelte, shared by context.
// Other state modules reach the GPU objects through ./gpu/access.ts, which components cannot import.

import { createContext } from 'svelte';
import { Engine } from '../engine/engine';
import { acquireGpu, WebGpuUnavailableError, type AdapterSummary, type GpuContext } from '../gpu/device';
import { viteShaders } from '../gpu/shaders-vite';
import type { DownloadProgress } from '../io/download';
import { openModel, standardTokenizerNote } from '../model/load';
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
import { registerStudioGpu } from './gpu/access';

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

/** The studio in context: App.svelte sets it, every component gets it. */
export const [getStudio, setStudio] = createContext<Studio>();

/** A short browser name for messages ("Chrome 131", "Firefox 128", …). */
function browserName(): string {
  const match = /(Edg|Chrome|Chromium|Firefox|Version)\/(\d+)/.exec(navigator.userAgent);
  if (!match) return 'This browser';
  const [, name, version] = match;
  const label = name === 'Edg' ? 'Edge' : name === 'Version' ? 'Safari' : name;
  return `${label} ${version}`;
}
