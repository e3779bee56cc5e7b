// The logit-lens panel's state for one prompt: the lens at every residual boundary (lens: 'all',
// 2L+1 points: resid_pre 0, resid_mid 0, …, the final resid_post) at every position, and the
// probability and rank of tracked tokens across depth. It runs the prompt in its own session on the
// current model (the weights are shared; PromptRun's session and captures are untouched), so the
// lens over every boundary — about twice a GPT-2 small forward — is paid only while the panel is
// open. Tracking reads the last run's lens stack again (PromptSession.trackTokens): adding a token
// or moving the position runs no forward.
//
// Ordering: every use of the session (runs, tracking) goes through one queue, one at a time. A run
// request waits behind the work in flight and takes the newest tokens when it starts (requests made
// meanwhile share it), so typing never queues stale runs; the result and its track are applied
// together, and only while the model they came from is still current.
//
// In the browser, attach() follows the prompt (debounced); update() and syncTrack() are the same
// work, callable directly (Node tests, where effects do not run).

import { untrack } from 'svelte';
import type { LensTopK, PromptSession, TokenTrack } from '../engine/session';
import {
  lensRows,
  maxTrackedTokens,
  pickToken,
  trackSeries,
  type LensRow,
  type TokenPick,
} from './lens-view';
import { studioGpu, type StudioGpu } from './gpu/access';
import type { Studio } from './studio.svelte';
import { onePer } from './one-per';

export {
  formatProb,
  maxTrackedTokens,
  pointCaption,
  pointTick,
  showToken,
  type LensCell,
  type LensEntry,
  type LensRow,
  type TokenPick,
  type TrackSeries,
} from './lens-view';

/** What the lens follows: a PromptRun, or anything with the prompt's token ids. */
export interface PromptTokens {
  readonly tokens: readonly number[];
}

/** A finished lens run. */
export interface LensResult {
  readonly tokens: readonly number[];
  readonly lens: LensTopK;
  readonly modelVersion: number;
}

/** A token followed across depth. */
export interface TrackedToken {
  readonly id: number;
  /** Its text as the tokenizer decodes it. */
  readonly label: string;
}

const message = (e: unknown) => (e as Error)?.message ?? String(e);

export class LogitLens {
  result = $state.raw<LensResult | undefined>(undefined);
  /** The tracked tokens' probabilities and ranks for `result` (undefined when none are tracked). */
  track = $state.raw<TokenTrack | undefined>(undefined);
  tracked = $state.raw<readonly TrackedToken[]>([]);
  /** The position the tracking charts read; undefined: the last one. */
  position = $state<number | undefined>(undefined);
  /** Probabilities on a log axis. */
  logScale = $state(false);
  /** The last token the user tried to add, when it was refused (or valid with a hint). */
  pick = $state.raw<TokenPick | undefined>(undefined);
  error = $state.raw<string | undefined>(undefined);
  trackError = $state.raw<string | undefined>(undefined);
  running = $state(false);
  tracking = $state(false);
  readonly debounceMs: number;

  readonly #studio: Studio;
  readonly #gpu: StudioGpu;
  readonly #source: PromptTokens;
  #session: { readonly session: PromptSession; readonly modelVersion: number } | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #queuedRun: Promise<void> | undefined;
  #queuedTrack: Promise<void> | undefined;
  #want: readonly number[] = [];
  #users = 0;
  #stop: (() => void) | undefined;
  #disposed = false;

  constructor(studio: Studio, source: PromptTokens, options: { debounceMs?: number } = {}) {
    this.#studio = studio;
    this.#gpu = studioGpu(studio);
    this.#source = source;
    this.debounceMs = options.debounceMs ?? 150;
  }

  /** The lens as rows of cells (lens points in depth order × positions), labelled by the tokenizer. */
  readonly rows = $derived.by((): LensRow[] => {
    const r = this.result;
    const tokenizer = this.#studio.tokenizer;
    const model = this.#studio.model;
    if (!r || !tokenizer || !model || r.modelVersion !== this.#studio.modelVersion) return [];
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
   * Starts following the prompt: a lens run (debounced) for each change of its tokens or of the
   * model. Returns the function that stops; the session goes with the last user.
   */
  attach(): () => void {
    if (this.#disposed) throw new Error('this logit lens was disposed');
    this.#users++;
    if (this.#users === 1) {
      this.#stop = $effect.root(() => {
        $effect(() => {
          const tokens = this.#source.tokens;
          void this.#studio.modelVersion;
          if (!this.#studio.model) return;
          const timer = setTimeout(() => untrack(() => void this.update(tokens)), this.debounceMs);
          return () => clearTimeout(timer);
        });
      });
    }
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      if (--this.#users === 0) {
        this.#stop?.();
        this.#stop = undefined;
        this.#release();
      }
    };
  }

  /**
   * Runs the lens on `tokens` (default: the prompt's now) after the work in flight. Requests made
   * while one waits share it, and it runs the newest tokens. Errors land in `error`.
   */
  update(tokens: readonly number[] = this.#source.tokens): Promise<void> {
    if (this.#disposed) return Promise.resolve();
    this.#want = tokens;
    this.#queuedRun ??= this.#enqueue(() => {
      this.#queuedRun = undefined;
      return this.#runOnce(this.#want);
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
    this.track = undefined;
  }

  /** Tracks the current list on the last run (no forward), after the work in flight. */
  syncTrack(): Promise<void> {
    if (this.#disposed) return Promise.resolve();
    this.#queuedTrack ??= this.#enqueue(() => {
      this.#queuedTrack = undefined;
      return this.#trackOnce();
    });
    return this.#queuedTrack;
  }

  #enqueue(work: () => Promise<void>): Promise<void> {
    const done = this.#chain.then(work);
    this.#chain = done.catch(() => undefined);
    return done;
  }

  /** This model's session, made (lens at every boundary) when the model changed. */
  #sessionNow(): PromptSession | undefined {
    const version = this.#studio.modelVersion;
    if (this.#session?.modelVersion === version) return this.#session.session;
    this.#session?.session.destroy();
    this.#session = undefined;
    const session = this.#gpu.createSession({ lens: 'all' });
    if (!session) return undefined;
    this.#session = { session, modelVersion: version };
    // Token ids belong to a tokenizer and a vocabulary: keep those the new model has.
    const tokenizer = this.#studio.tokenizer;
    const V = this.#studio.model?.config.vocabSize ?? 0;
    this.tracked = tokenizer
      ? this.tracked.filter((t) => t.id < V && tokenizer.tokenLabel(t.id) === t.label)
      : [];
    return session;
  }

  async #runOnce(tokens: readonly number[]): Promise<void> {
    if (this.#disposed) return;
    const version = this.#studio.modelVersion;
    const session = this.#sessionNow();
    if (!session) {
      this.result = undefined;
      this.track = undefined;
      return;
    }
    if (tokens.length === 0) {
      this.result = undefined;
      this.track = undefined;
      this.error = undefined;
      return;
    }
    this.running = true;
    try {
      const run = await session.run(tokens);
      const ids = this.tracked.map((t) => t.id);
      let track: TokenTrack | undefined;
      let trackError: string | undefined;
      if (ids.length) {
        try {
          track = await session.trackTokens(ids);
        } catch (e) {
          trackError = message(e);
        }
      }
      if (this.#disposed || version !== this.#studio.modelVersion) return;
      this.result = { tokens: run.tokens, lens: run.lens, modelVersion: version };
      this.track = track;
      this.trackError = trackError;
      this.error = undefined;
    } catch (e) {
      if (!this.#disposed && version === this.#studio.modelVersion) this.error = message(e);
    } finally {
      this.running = false;
    }
  }

  async #trackOnce(): Promise<void> {
    const version = this.#studio.modelVersion;
    const held = this.#session;
    // The session's last run is `result` (both go through the queue); none yet: the run will track.
    if (this.#disposed || !this.result || !held || held.modelVersion !== version) return;
    const ids = this.tracked.map((t) => t.id);
    if (ids.length === 0) {
      this.track = undefined;
      return;
    }
    this.tracking = true;
    try {
      const track = await held.session.trackTokens(ids);
      if (this.#disposed || version !== this.#studio.modelVersion) return;
      this.track = track;
      this.trackError = undefined;
    } catch (e) {
      if (!this.#disposed && version === this.#studio.modelVersion) this.trackError = message(e);
    } finally {
      this.tracking = false;
    }
  }

  /** Frees the session once the work using it has settled; results stay. */
  #release(): void {
    const held = this.#session;
    this.#session = undefined;
    void this.#chain.then(() => held?.session.destroy());
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#stop?.();
    this.#stop = undefined;
    this.#users = 0;
    this.#release();
  }
}

const instances = onePer((studio: Studio, source: PromptTokens) => new LogitLens(studio, source));

/** The logit lens of a prompt: one per PromptRun (or token source), made on first use. */
export function lensFor(studio: Studio, source: PromptTokens): LogitLens {
  return instances.get(studio, source);
}
