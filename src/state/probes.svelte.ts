// Linear probes on the loaded model: pick a dataset (shipped or the user's file), capture the
// residual stream at each example's target word on the GPU, fit one probe per layer in a worker,
// and keep the results per dataset so that a lexical and a semantic task can be compared on one
// chart. Components read the reactive fields and call the methods; the GPU stays in here.

import type { PromptSession } from '../engine/session';
import { captureProbeFeatures, probePoints } from '../instruments/probe-capture';
import { fitProbesInWorker, type ProbeFitter } from '../instruments/probe-background';
import {
  parseDatasetFile,
  parseDatasetJson,
  prepareProbeInputs,
  shippedDatasets,
  type ProbeDataset,
  type ShippedDatasetId,
} from '../instruments/probe-data';
import type { ProbeFitResult } from '../instruments/probe-fit';
import { hookName } from '../model/hooks';

export { readableDepth, readableShare, type ReadableDepth } from '../instruments/probe-readable';
import type { Studio } from './studio.svelte';
import { studioGpu } from './gpu/access';

export type ProbeStatus =
  | { readonly state: 'idle' }
  | { readonly state: 'loading'; readonly what: string }
  /** Forward passes: examples done of total. */
  | { readonly state: 'capturing'; readonly done: number; readonly total: number }
  /** Probes fitted: layers done of total. */
  | { readonly state: 'fitting'; readonly done: number; readonly total: number }
  | { readonly state: 'error'; readonly message: string };

/** One finished probe run: a dataset on a model. */
export interface ProbeRunRecord {
  readonly id: number;
  readonly dataset: string;
  readonly labels: readonly string[];
  /** Examples probed, and those left out (more tokens up to the target than the context holds). */
  readonly examples: number;
  readonly skipped: number;
  readonly model: string;
  readonly modelVersion: number;
  readonly bos: boolean;
  /** TransformerLens names of the probed points, index = LayerProbe.point. */
  readonly pointNames: readonly string[];
  readonly result: ProbeFitResult;
  readonly seconds: { readonly capture: number; readonly fit: number };
}

export interface ProbeStudyOptions {
  /** Where the shipped datasets are served (default `datasets/`, i.e. static/datasets/). */
  readonly datasetBase?: string;
  /** How probes are fitted (default: in a Web Worker). */
  readonly fit?: ProbeFitter;
}

const isAbort = (e: unknown) => e instanceof DOMException && e.name === 'AbortError';

export class ProbeStudy {
  readonly shipped = shippedDatasets;
  /** The shipped dataset chosen, or 'file' for the user's own. */
  datasetId = $state<ShippedDatasetId | 'file' | undefined>(undefined);
  dataset = $state.raw<ProbeDataset | undefined>(undefined);
  /** Why the last dataset could not be used (bad file, failed download). */
  datasetError = $state.raw<string | undefined>(undefined);
  status = $state.raw<ProbeStatus>({ state: 'idle' });
  /** Prepend <|endoftext|> to every example (TransformerLens's default; GPT-2 was trained without). */
  bos = $state(true);
  /** Seed of the stratified train / held-out split. */
  seed = $state(0);
  trainFraction = $state(0.75);

  readonly #studio: Studio;
  readonly #base: string;
  readonly #fit: ProbeFitter;
  #all = $state.raw<readonly ProbeRunRecord[]>([]);
  #abort: AbortController | undefined;
  #choice = 0;
  #nextId = 1;

  constructor(studio: Studio, options: ProbeStudyOptions = {}) {
    this.#studio = studio;
    this.#base = options.datasetBase ?? 'datasets/';
    this.#fit = options.fit ?? fitProbesInWorker;
  }

  /** Finished runs on the current model, oldest first (one per dataset and BOS setting). */
  readonly runs = $derived(this.#all.filter((r) => r.modelVersion === this.#studio.modelVersion));

  get running(): boolean {
    const s = this.status.state;
    return s === 'capturing' || s === 'fitting';
  }

  /** Loads a shipped dataset from static/datasets/. */
  async chooseShipped(id: ShippedDatasetId): Promise<void> {
    const entry = this.shipped.find((d) => d.id === id);
    if (!entry) throw new RangeError(`no shipped dataset ${id}`);
    const choice = ++this.#choice;
    this.datasetId = id;
    this.datasetError = undefined;
    try {
      const url = `${this.#base}${entry.file}`;
      const response = await fetch(url);
      if (!response.ok) throw new Error(`${url}: HTTP ${response.status} ${response.statusText}`.trim());
      const dataset = parseDatasetJson(await response.text(), entry.file);
      if (choice === this.#choice) this.dataset = dataset;
    } catch (e) {
      if (choice !== this.#choice) return;
      this.dataset = undefined;
      this.datasetError = `could not load ${entry.title}: ${(e as Error).message}`;
    }
  }

  /** The user's CSV (text,label[,target]) or JSON file. A bad file keeps the previous dataset. */
  async chooseFile(file: File): Promise<boolean> {
    const choice = ++this.#choice;
    try {
      const dataset = parseDatasetFile(file.name, await file.text());
      if (choice !== this.#choice) return false;
      this.dataset = dataset;
      this.datasetId = 'file';
      this.datasetError = undefined;
      return true;
    } catch (e) {
      if (choice === this.#choice) this.datasetError = (e as Error).message;
      return false;
    }
  }

  /** Uses a dataset already in memory (parsed elsewhere). */
  useDataset(dataset: ProbeDataset): void {
    this.#choice++;
    this.dataset = dataset;
    this.datasetId = 'file';
    this.datasetError = undefined;
  }

  /** Captures and fits the current dataset on the current model. Errors land in `status`. */
  async run(): Promise<void> {
    if (this.running) return;
    const studio = this.#studio;
    const dataset = this.dataset;
    const model = studio.model;
    const tokenizer = studio.tokenizer;
    const device = studioGpu(studio).device();
    if (!dataset) {
      this.status = { state: 'error', message: 'Choose a dataset first.' };
      return;
    }
    if (!model || !tokenizer || !device) {
      this.status = { state: 'error', message: 'Load a model first.' };
      return;
    }
    const version = studio.modelVersion;
    const abort = (this.#abort = new AbortController());
    const bos = this.bos;
    let session: PromptSession | undefined;
    try {
      const { config } = model;
      const { inputs, labels, groups, skipped } = prepareProbeInputs(dataset, tokenizer, {
        bos,
        nCtx: config.nCtx,
      });
      const longest = Math.max(...inputs.map((i) => i.tokens.length));
      // Only the final lens point: the lens at every layer would cost more than the forward itself.
      session = studioGpu(studio).createSession({ lens: 'final', capacity: longest });
      if (!session) throw new Error('Load a model first.');
      this.status = { state: 'capturing', done: 0, total: inputs.length };
      const t0 = performance.now();
      const features = await captureProbeFeatures(device, session, config, inputs, {
        signal: abort.signal,
        onProgress: (done, total) => (this.status = { state: 'capturing', done, total }),
      });
      session.destroy();
      session = undefined;
      const t1 = performance.now();
      this.status = { state: 'fitting', done: 0, total: features.points };
      const result = await this.#fit(
        {
          features,
          labels,
          classes: dataset.labels.length,
          options: { seed: this.seed, trainFraction: this.trainFraction, groups },
        },
        {
          signal: abort.signal,
          onProgress: (done, total) => (this.status = { state: 'fitting', done, total }),
        },
      );
      if (studio.modelVersion !== version) throw new Error('The model changed while probing; run again.');
      const record: ProbeRunRecord = {
        id: this.#nextId++,
        dataset: dataset.name,
        labels: dataset.labels,
        examples: inputs.length,
        skipped,
        model: model.label,
        modelVersion: version,
        bos,
        pointNames: probePoints(config.nLayer).map(hookName),
        result,
        seconds: { capture: (t1 - t0) / 1000, fit: (performance.now() - t1) / 1000 },
      };
      // A rerun of the same dataset on the same model replaces the older result.
      this.#all = [
        ...this.#all.filter(
          (r) => r.modelVersion === version && !(r.dataset === record.dataset && r.bos === record.bos),
        ),
        record,
      ];
      this.status = { state: 'idle' };
    } catch (e) {
      if (isAbort(e)) this.status = { state: 'idle' };
      else if (studio.modelVersion !== version)
        this.status = { state: 'error', message: 'The model changed while probing; run again.' };
      else this.status = { state: 'error', message: (e as Error).message ?? String(e) };
    } finally {
      session?.destroy();
      if (this.#abort === abort) this.#abort = undefined;
    }
  }

  cancel(): void {
    this.#abort?.abort();
  }

  /** Forgets one run (by id), or all of them. */
  clear(id?: number): void {
    this.#all = id === undefined ? [] : this.#all.filter((r) => r.id !== id);
  }

  dispose(): void {
    this.#abort?.abort();
  }
}
