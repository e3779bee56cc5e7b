// The middle-layer detectors of one prompt (src/instruments/middle-*.ts): the shipped datasets
// (syntax, coreference, a Brown passage) run once per loaded model in a session of their own and
// scored on the GPU — three forwards, cached per engine and shared by every prompt (compare mode's
// two), never re-run on a keystroke — and, after each run of the prompt, the prompt's own
// aggregation and punctuation sink scored on its captures (no forward: the captures are there).
// Instruments drives both from its effects (attach) and merges the datasets' strengths into the
// head labels. The only readbacks are the small score buffers.

import type { Engine } from '../engine/engine';
import {
  measureMiddle,
  MiddleScorer,
  promptSpec,
  type MiddleDatasetResult,
} from '../instruments/middle-detectors';
import { sessionPatterns } from '../instruments/detectors';
import type { MiddleStrengths } from '../instruments/head-labels';
import { middlePlan, type MiddleScores } from '../instruments/middle-scores';
import { studioGpu, withRunCaptures, type StudioGpu } from './gpu/access';
import type { Studio } from './studio.svelte';
import type { PromptRun } from './prompt-run.svelte';

export {
  middleDetectors,
  middleNames,
  middleTitles,
  type MiddleDetector,
  type MiddleScores,
} from '../instruments/middle-scores';
export type { MiddleDatasetResult } from '../instruments/middle-detectors';

/** The datasets' measurement of each engine (one per loaded model), shared by every prompt. */
const measured = new WeakMap<Engine, Promise<MiddleDatasetResult>>();

const message = (e: unknown) => (e as Error)?.message ?? String(e);

export class MiddleDetectors {
  /** The shipped datasets' scores on the current model (undefined until measured). */
  datasets = $state.raw<
    { readonly result: MiddleDatasetResult; readonly modelVersion: number } | undefined
  >();
  /** The prompt's aggregation and punctuation sink, from its latest run. */
  prompt = $state.raw<{
    readonly scores: MiddleScores;
    readonly seq: number;
    readonly modelVersion: number;
  }>();
  measuring = $state(false);
  error = $state.raw<string | undefined>(undefined);
  promptError = $state.raw<string | undefined>(undefined);

  readonly #studio: Studio;
  readonly #run: PromptRun;
  readonly #gpu: StudioGpu;
  #scorer: { readonly engine: Engine; readonly scorer: MiddleScorer } | undefined;
  #queued: Promise<void> | undefined;
  #work: Promise<unknown> = Promise.resolve();
  #disposed = false;

  constructor(studio: Studio, run: PromptRun) {
    this.#studio = studio;
    this.#run = run;
    this.#gpu = studioGpu(studio);
  }

  /** The datasets' label values on the current model ([L, H] per kind), for the head labels. */
  strengths(): MiddleStrengths | undefined {
    const d = this.datasets;
    if (!d || d.modelVersion !== this.#studio.modelVersion) return undefined;
    return { ...d.result.syntax.strength, ...d.result.coreference.strength, ...d.result.passage.strength };
  }

  /** The datasets' scores on the current model, merged ([L, H] per kind). */
  scores(): MiddleScores['scores'] | undefined {
    const d = this.datasets;
    if (!d || d.modelVersion !== this.#studio.modelVersion) return undefined;
    return { ...d.result.syntax.scores, ...d.result.coreference.scores, ...d.result.passage.scores };
  }

  /** Measures the datasets on the current model unless that is done (or under way). */
  async syncDatasets(): Promise<void> {
    const engine = this.#gpu.engine();
    const version = this.#gpu.modelVersion();
    const tokenizer = this.#studio.tokenizer;
    if (this.#disposed || !engine || !tokenizer) return;
    if (this.datasets?.modelVersion === version) return;
    let job = measured.get(engine);
    if (!job) {
      job = measureMiddle(engine, tokenizer);
      measured.set(engine, job);
      job.catch(() => measured.delete(engine));
    }
    this.measuring = true;
    try {
      const result = await job;
      if (version !== this.#gpu.modelVersion() || this.#disposed) return;
      this.datasets = { result, modelVersion: version };
      this.error = undefined;
    } catch (e) {
      if (version === this.#gpu.modelVersion() && !this.#disposed) this.error = message(e);
    } finally {
      this.measuring = false;
    }
  }

  /** Scores the prompt's latest captures (queued behind its run; requests while one waits share it). */
  refresh(): Promise<void> {
    if (this.#disposed) return Promise.resolve();
    if (this.#queued) return this.#queued;
    const queued = withRunCaptures(this.#run, async (captures) => {
      this.#queued = undefined;
      const engine = this.#gpu.engine();
      const version = this.#gpu.modelVersion();
      const tokenizer = this.#studio.tokenizer;
      if (!captures || !engine || !tokenizer || this.#disposed) {
        this.prompt = undefined;
        return;
      }
      if (this.#scorer?.engine !== engine) {
        this.#scorer?.scorer.destroy();
        this.#scorer = { engine, scorer: new MiddleScorer(engine.gpu.device, engine.kernels) };
      }
      try {
        const tokens = captures.result.tokens;
        const spec = promptSpec(tokens, (id) => tokenizer.decode([id]));
        const scores = await this.#scorer.scorer.score(
          sessionPatterns(captures.session, engine.config.nLayer),
          middlePlan(spec, tokens.length),
        );
        if (version !== this.#gpu.modelVersion() || this.#disposed) return;
        this.prompt = { scores, seq: captures.seq, modelVersion: version };
        this.promptError = undefined;
      } catch (e) {
        if (version === this.#gpu.modelVersion() && !this.#disposed) this.promptError = message(e);
      }
    });
    this.#queued = queued;
    this.#work = queued;
    return queued;
  }

  /** Frees the prompt's scorer once its work has settled; results (and the datasets' cache) stay. */
  release(): void {
    const scorer = this.#scorer?.scorer;
    this.#scorer = undefined;
    void this.#work.catch(() => undefined).then(() => scorer?.destroy());
  }

  dispose(): void {
    this.#disposed = true;
    this.release();
  }
}
