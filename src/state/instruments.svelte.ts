// The instruments of one prompt: every head scored by the pattern detectors, with its attention
// entropy and sparsity, after each run of the prompt; and, once per loaded model (again on demand),
// the induction score measured on a seeded [BOS] + R + R sequence of random tokens. The work is on
// the GPU where the captures are (src/instruments/detectors.ts); the only readback is the small
// HeadScores (L·H·64 bytes), never an attention matrix. Components read the reactive fields and set
// the options; the scorer, the probe's session and the engine stay in here.
//
// Ordering. Scoring the prompt runs under the prompt's lock (withRunCaptures): queued behind the
// run whose result triggered it, and ahead of any later run, which would overwrite the captures
// (or grow the session and free them) — so a result is always scored on its own captures, and
// results arrive in run order. A result is applied only if no later one has been; a model change
// clears it. The induction probe has its own session and queue; a request supersedes the ones
// still waiting, and a result from another model is dropped.
//
// In the browser, attach() starts the effects that re-score on each new result, option change and
// model change; refresh() and syncInduction() are the same work, callable directly (Node tests,
// where effects do not run).

import { untrack } from 'svelte';
import type { Engine } from '../engine/engine';
import type { PromptSession } from '../engine/session';
import { withProbeInduction } from '../instruments/depth-evidence';
import { HeadScorer, measureInduction, sessionPatterns } from '../instruments/detectors';
import { dominantLabels, labelValue, type HeadLabel } from '../instruments/head-labels';
import {
  defaultInductionLength,
  defaultWindow,
  resolveDetectorOptions,
  type Detector,
  type DetectorOptions,
  type HeadScores,
  type ResolvedDetectorOptions,
} from '../instruments/head-scores';
import { studioGpu, withRunCaptures, type RunCaptures, type StudioGpu } from './gpu/access';
import type { Studio } from './studio.svelte';
import type { PromptRun } from './prompt-run.svelte';
import { onePer } from './one-per';
import { Users } from './users';
import { MiddleDetectors } from './middle.svelte';

export {
  detectors,
  detectorTitles,
  defaultWindow,
  headStats,
  layerSpread,
  type Detector,
  type HeadScores,
  type HeadStatName,
  type LayerSpread,
  type ResolvedDetectorOptions,
} from '../instruments/head-scores';
export {
  cellLabel,
  depthCaption,
  depthSummary,
  detectorNames,
  formatFinalProb,
  formatScore,
  labelNames,
  type DepthRow,
  type ProbeSeries,
} from '../instruments/depth-evidence';

export { labelKinds, type HeadLabel } from '../instruments/head-labels';
export { middlePeaks, peakPhrase, type MiddlePeak } from '../instruments/middle-evidence';
export {
  detectorColors,
  labelColors,
  detectorShortNames,
  headBadge,
  scoreColor,
  type HeadBadge,
} from '../viz/detector-colors';

/** The default score a head needs on a pattern to be labelled with it. */
export const defaultLabelThreshold = 0.4;

/** The prompt's scores and the run they belong to. */
export interface PromptScores {
  readonly scores: HeadScores;
  /** The PromptRun's result counter for the run scored (RunCaptures.seq). */
  readonly seq: number;
  readonly modelVersion: number;
}

/** The induction probe's scores: [BOS] + R + R with R of `length` random distinct ids. */
export interface InductionProbe {
  readonly tokens: readonly number[];
  /** n, the length of R. */
  readonly length: number;
  readonly seed: number;
  /** Every detector on the probe; scores.scores.induction is the induction score. */
  readonly scores: HeadScores;
  readonly modelVersion: number;
}

/** The probe's GPU side: a session (final lens only) holding its captures, and a scorer. */
interface ProbeGpu {
  readonly engine: Engine;
  readonly session: PromptSession;
  readonly scorer: HeadScorer;
  /** The sequence the session's captures hold, once it has run. */
  ran?: { readonly tokens: readonly number[]; readonly length: number; readonly seed: number };
}

const message = (e: unknown) => (e as Error)?.message ?? String(e);

export class Instruments {
  // Detector options (HeadScores.options): applied to the prompt and to the probe.
  excludeFirst = $state(false);
  excludeCurrent = $state(false);
  window = $state(defaultWindow);
  /** A head is labelled with its strongest pattern when that scores at least this. */
  threshold = $state(defaultLabelThreshold);
  /** The probe's next seed and length (undefined: defaultInductionLength), used by measureInduction(). */
  inductionSeed = $state(0);
  inductionLength = $state<number | undefined>(undefined);

  /** The latest run's scores; undefined before a run, for an empty prompt, and after a model change. */
  prompt = $state.raw<PromptScores | undefined>(undefined);
  induction = $state.raw<InductionProbe | undefined>(undefined);
  error = $state.raw<string | undefined>(undefined);
  inductionError = $state.raw<string | undefined>(undefined);
  /** Scoring the prompt / running the probe now. */
  scoring = $state(false);
  measuring = $state(false);

  readonly #studio: Studio;
  readonly #run: PromptRun;
  readonly #gpu: StudioGpu;
  #scorer: { readonly engine: Engine; readonly scorer: HeadScorer } | undefined;
  #probe: ProbeGpu | undefined;
  /** The probe's seed and length in force (set by measureInduction, reset by a model change). */
  #probeSpec:
    { readonly seed: number; readonly length: number | undefined; readonly modelVersion: number } | undefined;
  #queued: Promise<void> | undefined;
  #promptWork: Promise<unknown> = Promise.resolve();
  #inductionChain: Promise<unknown> = Promise.resolve();
  #ticket = 0;
  #applied = 0;
  #inductionTicket = 0;
  #users = new Users(
    () => this.#follow(),
    () => this.#release(),
  );
  #disposed = false;
  #labels: { key: readonly unknown[]; labels: (HeadLabel | null)[] } | undefined;
  /** The middle-layer detectors: the shipped datasets once per model, the prompt after each run. */
  readonly middle: MiddleDetectors;

  constructor(studio: Studio, run: PromptRun) {
    this.#studio = studio;
    this.#run = run;
    this.#gpu = studioGpu(studio);
    this.middle = new MiddleDetectors(studio, run);
  }

  /** The detector options as set (they may be invalid: resolveDetectorOptions says why). */
  get options(): DetectorOptions {
    return { excludeFirst: this.excludeFirst, excludeCurrent: this.excludeCurrent, window: this.window };
  }

  /**
   * The scores the labels come from: the prompt's, with the induction column from the probe where
   * it has been measured on this model (the probe alone before the prompt has run).
   */
  labelScores(): HeadScores | undefined {
    const version = this.#studio.modelVersion;
    const prompt = this.prompt?.modelVersion === version ? this.prompt.scores : undefined;
    const probe = this.induction?.modelVersion === version ? this.induction.scores : undefined;
    if (prompt && probe && prompt.nLayer === probe.nLayer && prompt.nHead === probe.nHead) {
      return withProbeInduction(prompt, probe);
    }
    return prompt ?? probe;
  }

  /**
   * Each head's strongest pattern, (L, H) row-major (layer · nHead + head), or null below the
   * threshold; empty before anything is measured. For badges on the head grid.
   */
  headLabels(): (HeadLabel | null)[] {
    const scores = this.labelScores();
    const middle = this.middle.strengths();
    const shape = scores ?? this.middle.datasets?.result.syntax;
    if (!shape || (!scores && !middle)) return [];
    // Only induction comes from the probe before the prompt has run: the other columns are its own.
    const among: readonly Detector[] | undefined =
      this.prompt?.modelVersion === this.#studio.modelVersion ? undefined : ['induction'];
    const key = [scores?.scores.previous, scores?.scores.induction, this.threshold, among, middle?.modifier];
    if (this.#labels && this.#labels.key.every((k, i) => k === key[i])) return this.#labels.labels;
    const labels = dominantLabels(shape.nLayer, shape.nHead, scores, middle, this.threshold, among);
    this.#labels = { key, labels };
    return labels;
  }

  /** The value head i's label `k` was chosen on (NaN where not measured). */
  labelScore(k: HeadLabel, i: number): number {
    return labelValue(this.labelScores(), this.middle.strengths(), k, i);
  }

  /**
   * Starts following the prompt: re-scores after each run and option change, measures the probe
   * once per model. Returns the function that stops (GPU resources go with the last user).
   */
  attach(): () => void {
    if (this.#disposed) throw new Error('these instruments were disposed');
    return this.#users.attach();
  }

  #follow(): () => void {
    return $effect.root(() => {
      $effect(() => {
        void this.#run.result;
        void this.#studio.modelVersion;
        void [this.excludeFirst, this.excludeCurrent, this.window];
        untrack(() => void this.refresh().then(() => this.middle.refresh()));
      });
      $effect(() => {
        void this.#studio.model;
        void this.#studio.modelVersion;
        void [this.excludeFirst, this.excludeCurrent, this.window];
        // The datasets after the probe: once per model, off the prompt's path.
        untrack(() => void this.syncInduction().finally(() => this.middle.syncDatasets()));
      });
    });
  }

  /**
   * Scores the prompt's latest captures with the current options (queued behind the prompt's run
   * in flight; requests made while one waits share it). Errors land in `error`.
   */
  refresh(): Promise<void> {
    if (this.#disposed) return Promise.resolve();
    if (this.#queued) return this.#queued;
    const queued = withRunCaptures(this.#run, (captures) => {
      this.#queued = undefined;
      return this.#score(captures);
    });
    this.#queued = queued;
    this.#promptWork = queued;
    return queued;
  }

  async #score(captures: RunCaptures | undefined): Promise<void> {
    const version = this.#gpu.modelVersion();
    const engine = this.#gpu.engine();
    if (this.#disposed) return;
    if (!captures || !engine) {
      // No run on this model yet, or an empty prompt: nothing to show.
      this.prompt = undefined;
      return;
    }
    const options = this.#resolvedOptions((m) => (this.error = m));
    if (!options) return;
    const ticket = ++this.#ticket;
    const scorer = this.#scorerFor(engine);
    this.scoring = true;
    try {
      const tokens = captures.result.tokens;
      const scores = await scorer.score(
        sessionPatterns(captures.session, engine.config.nLayer),
        tokens,
        options,
      );
      // A later request has already shown its result, or the model changed: this one is stale.
      if (ticket < this.#applied || version !== this.#gpu.modelVersion() || this.#disposed) return;
      this.#applied = ticket;
      this.prompt = { scores, seq: captures.seq, modelVersion: version };
      this.error = undefined;
    } catch (e) {
      if (version === this.#gpu.modelVersion() && !this.#disposed) this.error = message(e);
    } finally {
      this.scoring = false;
    }
  }

  #scorerFor(engine: Engine): HeadScorer {
    if (this.#scorer?.engine !== engine) {
      this.#scorer?.scorer.destroy();
      this.#scorer = { engine, scorer: new HeadScorer(engine.gpu.device, engine.kernels) };
    }
    return this.#scorer.scorer;
  }

  /**
   * Runs the induction probe again with the seed and length set (inductionSeed, inductionLength),
   * on demand. Errors (e.g. a length the context cannot hold) land in `inductionError`.
   */
  measureInduction(): Promise<void> {
    this.#probeSpec = {
      seed: this.inductionSeed,
      length: this.inductionLength,
      modelVersion: this.#gpu.modelVersion(),
    };
    return this.syncInduction();
  }

  /**
   * Brings the probe's scores up to date: runs it on a new model (default seed and length, once),
   * re-scores its captures when only the options changed (no forward pass).
   */
  syncInduction(): Promise<void> {
    if (this.#disposed) return Promise.resolve();
    const ticket = ++this.#inductionTicket;
    const work = this.#inductionChain.then(() => this.#syncInduction(ticket));
    this.#inductionChain = work.catch(() => undefined);
    return work;
  }

  async #syncInduction(ticket: number): Promise<void> {
    // A later request will do this one's work with newer settings.
    if (ticket !== this.#inductionTicket || this.#disposed) return;
    const engine = this.#gpu.engine();
    const version = this.#gpu.modelVersion();
    if (!engine) {
      this.induction = undefined;
      return;
    }
    if (this.#probeSpec?.modelVersion !== version) {
      this.#probeSpec = { seed: 0, length: undefined, modelVersion: version };
    }
    const seed = this.#probeSpec.seed;
    const length = this.#probeSpec.length ?? defaultInductionLength(engine.config.nCtx);
    const options = this.#resolvedOptions((m) => (this.inductionError = m));
    if (!options) return;
    const probe = this.#probeFor(engine);
    this.measuring = true;
    try {
      let result: { tokens: readonly number[]; scores: HeadScores };
      const ran = probe.ran;
      if (ran && ran.seed === seed && ran.length === length) {
        // Same sequence on the same model: its captures are still in the probe's session.
        const patterns = sessionPatterns(probe.session, engine.config.nLayer);
        result = { tokens: ran.tokens, scores: await probe.scorer.score(patterns, ran.tokens, options) };
      } else {
        probe.ran = undefined;
        const r = await measureInduction(engine, {
          length,
          seed,
          session: probe.session,
          scorer: probe.scorer,
          ...options,
        });
        probe.ran = { tokens: r.tokens, length, seed };
        result = r;
      }
      if (ticket !== this.#inductionTicket || version !== this.#gpu.modelVersion() || this.#disposed) return;
      this.induction = { tokens: result.tokens, length, seed, scores: result.scores, modelVersion: version };
      this.inductionError = undefined;
    } catch (e) {
      if (ticket === this.#inductionTicket && version === this.#gpu.modelVersion() && !this.#disposed) {
        this.inductionError = message(e);
      }
    } finally {
      this.measuring = false;
    }
  }

  #probeFor(engine: Engine): ProbeGpu {
    if (this.#probe?.engine !== engine) {
      this.#probe?.session.destroy();
      this.#probe?.scorer.destroy();
      this.#probe = {
        engine,
        // Only the final lens point: the probe needs the captures, not the lens at every layer.
        session: engine.createSession({
          lens: 'final',
          capacity: 2 * defaultInductionLength(engine.config.nCtx) + 1,
        }),
        scorer: new HeadScorer(engine.gpu.device, engine.kernels),
      };
    }
    return this.#probe;
  }

  /** The detector options resolved, or undefined after giving `fail` the reason. */
  #resolvedOptions(fail: (message: string) => void): ResolvedDetectorOptions | undefined {
    try {
      return resolveDetectorOptions(this.options);
    } catch (e) {
      fail(message(e));
      return undefined;
    }
  }

  /** Frees the GPU resources once the work using them has settled; results stay. */
  #release(): void {
    const scorer = this.#scorer?.scorer;
    const probe = this.#probe;
    this.#scorer = undefined;
    this.#probe = undefined;
    this.middle.release();
    void this.#promptWork.catch(() => undefined).then(() => scorer?.destroy());
    void this.#inductionChain.then(() => {
      probe?.session.destroy();
      probe?.scorer.destroy();
    });
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#users.reset();
    this.#release();
    this.middle.dispose();
    instances.forget(this.#run, this);
  }
}

const instances = onePer((studio: Studio, run: PromptRun) => new Instruments(studio, run));

/**
 * The instruments of a prompt: one per PromptRun, made on first use, so the instruments panel and
 * the head grid's badges share the same scores.
 */
export function instrumentsFor(studio: Studio, run: PromptRun): Instruments {
  return instances.get(studio, run);
}
