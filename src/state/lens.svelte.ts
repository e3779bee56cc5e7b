// The logit-lens panel's state for one prompt: the lens at every residual boundary (lens: 'all',
// 2L+1 points: resid_pre 0, resid_mid 0, …, the final resid_post) at every position, and the
// probability and rank of tracked tokens across depth. It has no session of its own: while the
// panel is shown it holds the prompt's run to the lens at every boundary (PromptRun.holdLens), so
// the one forward per prompt change that the studio runs anyway is the lens's run, and it reads
// that run's result. Tracking reads the run's lens stack again on the prompt's session
// (PromptSession.trackTokens): adding a token or moving the position runs no forward.
//
// Ordering: tracking goes through the prompt's lock (withRunCaptures), so it never overlaps a run
// of the prompt and reads the lens stack of the result it is stored with; a track is shown only
// with that result. Requests made while one waits share it.
//
// In the browser, attach() holds the lens, runs the prompt once if its result lacks the lens, and
// re-tracks after each new result (an effect). update() and syncTrack() are the same work,
// callable directly (Node tests, where effects do not run).

import { untrack } from 'svelte';
import type { LensTopK, RunResult, TokenTrack } from '../engine/session';
import { residualBoundaries } from '../model/hooks';
import {
  lensRows,
  maxTrackedTokens,
  pickToken,
  trackSeries,
  type LensRow,
  type TokenPick,
} from './lens-view';
import { runCaptures, withRunCaptures, type RunCaptures } from './gpu/access';
import type { Studio } from './studio.svelte';
import type { PromptRun } from './prompt-run.svelte';
import { onePer } from './one-per';
import { Users } from './users';

export {
  formatProb,
  maxTrackedTokens,
  pointCaption,
  pointName,
  pointTick,
  showToken,
  type LensCell,
  type LensEntry,
  type LensRow,
  type TokenPick,
  type TrackSeries,
} from './lens-view';

/** A prompt's token ids (what AblationLab follows; a PromptRun has them). */
export interface PromptTokens {
  readonly tokens: readonly number[];
}

/** The prompt's run, when it read the lens at every residual boundary. */
export interface LensResult {
  readonly tokens: readonly number[];
  readonly lens: LensTopK;
  readonly modelVersion: number;
  /** The prompt's result this is (tracks are kept with it). */
  readonly run: RunResult;
}

/** A token followed across depth. */
export interface TrackedToken {
  readonly id: number;
  /** Its text as the tokenizer decodes it. */
  readonly label: string;
}

const message = (e: unknown) => (e as Error)?.message ?? String(e);

/** The run read the lens at every residual boundary of an L-layer model (lens: 'all'). */
function hasEveryBoundary(run: RunResult, L: number): boolean {
  const points = run.lens.points;
  const want = residualBoundaries(L);
  return (
    points.length === want.length &&
    points.every((p, i) => {
      const q = want[i]!;
      return p.kind === q.kind && 'layer' in p && 'layer' in q && p.layer === q.layer;
    })
  );
}

export class LogitLens {
  tracked = $state.raw<readonly TrackedToken[]>([]);
  /** The position the tracking charts read; undefined: the last one. */
  position = $state<number | undefined>(undefined);
  /** Probabilities on a log axis. */
  logScale = $state(false);
  /** The last token the user tried to add, when it was refused (or valid with a hint). */
  pick = $state.raw<TokenPick | undefined>(undefined);
  trackError = $state.raw<string | undefined>(undefined);
  tracking = $state(false);

  readonly #studio: Studio;
  readonly #run: PromptRun;
  /** The latest track and the prompt result whose lens stack it was read from. */
  #trackOf = $state.raw<{ readonly run: RunResult; readonly track: TokenTrack } | undefined>(undefined);
  /** The model version `tracked` was checked against (ids belong to a vocabulary). */
  #trackedModel: number;
  #queuedRun: Promise<void> | undefined;
  #queuedTrack: Promise<void> | undefined;
  #want: readonly number[] = [];
  #users = new Users(() => this.#follow());
  #disposed = false;

  constructor(studio: Studio, run: PromptRun) {
    this.#studio = studio;
    this.#run = run;
    this.#trackedModel = studio.modelVersion;
  }

  /**
   * The prompt's latest result while it is current (its model still loaded) and read the lens at
   * every residual boundary; undefined otherwise (e.g. a run made before the panel held the lens).
   */
  readonly result = $derived.by((): LensResult | undefined => {
    const c = runCaptures(this.#run);
    const model = this.#studio.model;
    if (!c?.lens || !model || !hasEveryBoundary(c.lens, model.config.nLayer)) return undefined;
    const r = c.lens;
    return { tokens: r.tokens, lens: r.lens, modelVersion: this.#studio.modelVersion, run: r };
  });

  /** The tracked tokens' probabilities and ranks for `result` (undefined when none are tracked). */
  readonly track = $derived.by((): TokenTrack | undefined => {
    const t = this.#trackOf;
    return t && t.run === this.result?.run ? t.track : undefined;
  });

  /** The lens's run failed: the prompt's error (e.g. longer than the model's context). */
  readonly error = $derived.by((): string | undefined => {
    const nCtx = this.#studio.model?.config.nCtx ?? Infinity;
    const T = this.#run.tokens.length;
    // The studio does not run a prompt that cannot fit: say so here too.
    if (T > nCtx) return `the prompt has ${T} tokens but the model's context is ${nCtx}`;
    return this.#run.error;
  });

  /** The prompt's run (the lens's) is in flight. */
  readonly running = $derived.by(() => this.#run.running);

  /** The lens as rows of cells (lens points in depth order × positions), labelled by the tokenizer. */
  readonly rows = $derived.by((): LensRow[] => {
    const r = this.result;
    const tokenizer = this.#studio.tokenizer;
    const model = this.#studio.model;
    if (!r || !tokenizer || !model) return [];
    return lensRows(r.lens, r.tokens.length, model.config.nLayer, (id) => tokenizer.tokenLabel(id));
  });

  /** The position the charts show: `position` clamped to the result, else the last. */
  readonly shownPosition = $derived.by(() => {
    const T = this.result?.tokens.length ?? 0;
    if (T === 0) return 0;
    return Math.min(T - 1, Math.max(0, this.position ?? T - 1));
  });

  /**
   * The tracked tokens' series at the shown position, with their labels; empty until the track of
   * the current result and tracked list is back.
   */
  readonly series = $derived.by(() => {
    const t = this.track;
    const r = this.result;
    const tracked = this.tracked;
    if (!t || !r || t.T !== r.tokens.length || t.ids.length !== tracked.length) return [];
    if (t.ids.some((id, i) => id !== tracked[i]!.id)) return [];
    return trackSeries(t, this.shownPosition).map((s, i) => ({ ...s, label: tracked[i]!.label }));
  });

  /**
   * Starts following the prompt: holds its run to the lens at every boundary, runs it once now if
   * its result lacks that lens, and re-tracks after each new result. Returns the function that
   * stops; the hold goes with the last user.
   */
  attach(): () => void {
    if (this.#disposed) throw new Error('this logit lens was disposed');
    return this.#users.attach();
  }

  #follow(): () => void {
    const release = this.#run.holdLens();
    // A result made without the lens (or a run in flight that may be): run the prompt again.
    // Otherwise the studio's next run of the prompt is the lens's.
    const run = this.#run;
    if (run.running || (run.result && !this.result)) void this.update();
    const effects = $effect.root(() => {
      $effect(() => {
        const r = this.result;
        if (r && untrack(() => this.tracked.length > 0)) untrack(() => void this.syncTrack());
      });
    });
    return () => {
      effects();
      release();
    };
  }

  /**
   * Runs the prompt (PromptRun.run, with the lens held) on `tokens` (default: the prompt's now)
   * and tracks the tokens on the result. Requests made while one waits share it, and it runs the
   * newest tokens. Errors land in `error`.
   */
  update(tokens: readonly number[] = this.#run.tokens): Promise<void> {
    if (this.#disposed) return Promise.resolve();
    this.#want = tokens;
    this.#queuedRun ??= Promise.resolve().then(async () => {
      this.#queuedRun = undefined;
      const release = this.#run.holdLens();
      try {
        await this.#run.run(this.#want);
      } finally {
        release();
      }
      await this.syncTrack();
    });
    return this.#queuedRun;
  }

  /**
   * Adds the token `text` stands for (it must be one token of the model's vocabulary) and tracks
   * it. Returns the pick; a refusal (its reason, and the first token offered when the text is
   * several) or a valid pick's hint stays in `pick` for the panel to show.
   */
  addToken(text: string): TokenPick {
    const tokenizer = this.#studio.tokenizer;
    const model = this.#studio.model;
    let pick: TokenPick =
      tokenizer && model
        ? pickToken(tokenizer, text, model.config.vocabSize)
        : { ok: false, message: 'Load a model first: tokens come from its tokenizer.' };
    if (pick.ok) {
      const refused = this.addTokenId(pick.id);
      if (refused) pick = { ok: false, message: refused };
    }
    this.pick = pick.ok && !pick.hint ? undefined : pick;
    return pick;
  }

  /**
   * Tracks a token id (nothing to do if it is tracked already). Returns why not when the list is
   * full or the id is outside the vocabulary.
   */
  addTokenId(id: number): string | undefined {
    const tokenizer = this.#studio.tokenizer;
    const model = this.#studio.model;
    if (!tokenizer || !model) return 'Load a model first: tokens come from its tokenizer.';
    const V = model.config.vocabSize;
    if (!Number.isInteger(id) || id < 0 || id >= V) {
      return `Token id ${id} is outside this model's vocabulary (0…${V - 1}).`;
    }
    this.#followModel();
    if (this.tracked.some((t) => t.id === id)) return undefined;
    if (this.tracked.length >= maxTrackedTokens) {
      return `At most ${maxTrackedTokens} tokens can be tracked at once: remove one first.`;
    }
    this.tracked = [...this.tracked, { id, label: tokenizer.tokenLabel(id) }];
    this.pick = undefined;
    void this.syncTrack();
    return undefined;
  }

  /** Tracks the token offered by the last refusal (the first token of a multi-token text). */
  acceptSuggestion(): void {
    const p = this.pick;
    if (!p || p.ok || !p.suggestion) return;
    const refused = this.addTokenId(p.suggestion.id);
    if (refused) this.pick = { ok: false, message: refused };
  }

  removeToken(id: number): void {
    this.tracked = this.tracked.filter((t) => t.id !== id);
    void this.syncTrack();
  }

  clearTokens(): void {
    this.tracked = [];
    this.#trackOf = undefined;
  }

  /**
   * Tracks the current list on the prompt's latest result (no forward), under the prompt's lock:
   * after the run in flight, if any.
   */
  syncTrack(): Promise<void> {
    if (this.#disposed) return Promise.resolve();
    this.#queuedTrack ??= withRunCaptures(this.#run, (captures) => {
      this.#queuedTrack = undefined;
      return this.#trackOnce(captures);
    });
    return this.#queuedTrack;
  }

  /** Token ids belong to a tokenizer and a vocabulary: after a model change, keep those it has. */
  #followModel(): void {
    const version = this.#studio.modelVersion;
    if (this.#trackedModel === version) return;
    this.#trackedModel = version;
    const tokenizer = this.#studio.tokenizer;
    const V = this.#studio.model?.config.vocabSize ?? 0;
    this.tracked = tokenizer
      ? this.tracked.filter((t) => t.id < V && tokenizer.tokenLabel(t.id) === t.label)
      : [];
  }

  /** Under the prompt's lock: the captures are the latest result's, and no run overlaps. */
  async #trackOnce(captures: RunCaptures | undefined): Promise<void> {
    const model = this.#studio.model;
    // No result with the lens yet: the run that makes one is followed by a track (attach, update).
    if (this.#disposed || !captures || !model) return;
    const run = captures.lens;
    if (!run || !hasEveryBoundary(run, model.config.nLayer)) return;
    this.#followModel();
    const ids = this.tracked.map((t) => t.id);
    if (ids.length === 0) {
      this.#trackOf = undefined;
      return;
    }
    this.tracking = true;
    try {
      const track = await captures.session.trackTokens(ids);
      if (this.#disposed) return;
      this.#trackOf = { run, track };
      this.trackError = undefined;
    } catch (e) {
      if (!this.#disposed) this.trackError = message(e);
    } finally {
      this.tracking = false;
    }
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#users.reset();
  }
}

const instances = onePer((studio: Studio, run: PromptRun) => new LogitLens(studio, run));

/** The logit lens of a prompt: one per PromptRun, made on first use. */
export function lensFor(studio: Studio, run: PromptRun): LogitLens {
  return instances.get(studio, run);
}
