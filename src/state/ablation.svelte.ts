// The ablation panel's state for one prompt: which heads and MLP layers to knock out and how (zero,
// or the mean over the prompt's positions; src/model/ablation.ts), and what that does to the
// model's next-token prediction. It owns two sessions on the current model (the weights are shared;
// PromptRun's session is untouched), both with only the final lens point: one holds the clean run,
// one the ablated run, so that after a run either can be read again without running the forward:
//   - the top-k of each, merged token by token: each token's probability on the other side comes
//     from trackTokens (one readback of ids·T·8 bytes per session);
//   - the logit difference of a token pair, logit(a) − logit(b), read exactly from each session's
//     logitsLast (4 floats back in all, src/state/gpu/logits.ts) — not derived from probabilities,
//     which lose tokens whose f32 probability underflows.
// The clean run is redone only when the prompt or the model changed. Running is on demand ("Run
// ablated"); the result says when the prompt or the selection has changed since.
//
// Ordering: runs and pair measurements go through one queue; a run request waits behind the work
// in flight and takes the prompt and selection of the moment it starts (requests made meanwhile
// share it). Results are applied only while their model is still current.

import type { Ablation, HeadRef, PromptSession } from '../engine/session';
import {
  ablationKey,
  distributionChange,
  lastPositionProbs,
  nextTokenTopK,
  pairLogits,
  setLayerHeads,
  toggleHead,
  toggleMlp,
  unionIds,
  type AblationMode,
  type ChangeRow,
  type PairLogits,
  type TopEntry,
} from './ablation-view';
import { readLogits } from './gpu/logits';
import { pickToken, type TokenPick } from './lens-view';
import type { PromptTokens } from './lens.svelte';
import { studioGpu, type StudioGpu } from './gpu/access';
import type { Studio } from './studio.svelte';
import { onePer } from './one-per';

export {
  describeAblation,
  type AblationMode,
  type ChangeRow,
  type PairLogits,
  type TopEntry,
} from './ablation-view';
export { formatProb, showToken, type TokenPick } from './lens-view';
export type { Ablation, HeadRef } from '../engine/session';

/** An ablated run's next-token distribution against the clean one's. */
export interface AblationOutcome {
  readonly tokens: readonly number[];
  /** What was removed (sorted, repeats dropped). */
  readonly ablation: Ablation;
  readonly modelVersion: number;
  /** The top-k next tokens of the clean and the ablated run, best first. */
  readonly before: readonly TopEntry[];
  readonly after: readonly TopEntry[];
  /** Both top-k merged, each token with its probability before and after. */
  readonly rows: readonly ChangeRow[];
}

/** The chosen token pair's logits before and after (and its probabilities, from tracking). */
export interface PairOutcome {
  readonly a: { readonly id: number; readonly label: string };
  readonly b: { readonly id: number; readonly label: string };
  readonly before: PairLogits & { readonly probA: number; readonly probB: number };
  readonly after: PairLogits & { readonly probA: number; readonly probB: number };
  readonly modelVersion: number;
}

interface Sessions {
  readonly clean: PromptSession;
  readonly ablated: PromptSession;
  readonly modelVersion: number;
  /** The tokens the clean session's last run had. */
  cleanTokens?: readonly number[];
  /** The clean run's top-k next tokens (for cleanTokens). */
  cleanTop?: readonly TopEntry[];
}

const message = (e: unknown) => (e as Error)?.message ?? String(e);
const sameTokens = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

export class AblationLab {
  /** The selection: heads, MLP layers, and how they are removed. */
  heads = $state.raw<readonly HeadRef[]>([]);
  mlps = $state.raw<readonly number[]>([]);
  mode = $state<AblationMode>('zero');
  /** The token pair whose logit difference is compared (IOI's names by default). */
  pairA = $state(' Mary');
  pairB = $state(' John');

  outcome = $state.raw<AblationOutcome | undefined>(undefined);
  pair = $state.raw<PairOutcome | undefined>(undefined);
  error = $state.raw<string | undefined>(undefined);
  pairError = $state.raw<string | undefined>(undefined);
  running = $state(false);

  readonly #studio: Studio;
  readonly #gpu: StudioGpu;
  readonly #source: PromptTokens;
  #sessions: Sessions | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #queuedRun: Promise<void> | undefined;
  #disposed = false;

  constructor(studio: Studio, source: PromptTokens) {
    this.#studio = studio;
    this.#gpu = studioGpu(studio);
    this.#source = source;
  }

  /** The heads selected for ablation (for the head grid's marks). */
  get ablatedHeads(): readonly HeadRef[] {
    return this.heads;
  }

  isHeadAblated(layer: number, head: number): boolean {
    return this.heads.some((h) => h.layer === layer && h.head === head);
  }

  isMlpAblated(layer: number): boolean {
    return this.mlps.includes(layer);
  }

  /**
   * The selection as an Ablation on the current model: heads and layers the model does not have
   * (left from a larger model) are left out.
   */
  readonly ablation = $derived.by((): Ablation => {
    const c = this.#studio.model?.config;
    const L = c?.nLayer ?? 0;
    const H = c?.nHead ?? 0;
    return {
      heads: this.heads.filter((h) => h.layer < L && h.head < H),
      mlps: this.mlps.filter((l) => l < L),
      mode: this.mode,
    };
  });

  /** True when the selection removes nothing. */
  readonly empty = $derived(this.ablation.heads.length === 0 && (this.ablation.mlps?.length ?? 0) === 0);

  /** Why the outcome no longer matches what is on screen: the prompt or the selection changed. */
  readonly stale = $derived.by((): 'prompt' | 'selection' | 'model' | undefined => {
    const o = this.outcome;
    if (!o) return undefined;
    if (o.modelVersion !== this.#studio.modelVersion) return 'model';
    if (!sameTokens(o.tokens, this.#source.tokens)) return 'prompt';
    if (ablationKey(o.ablation) !== ablationKey(this.ablation)) return 'selection';
    return undefined;
  });

  /** The pair's texts read as tokens (undefined without a model). */
  readonly pickA = $derived(this.#pick(this.pairA));
  readonly pickB = $derived(this.#pick(this.pairB));

  #pick(text: string): TokenPick | undefined {
    const tokenizer = this.#studio.tokenizer;
    const model = this.#studio.model;
    return tokenizer && model ? pickToken(tokenizer, text, model.config.vocabSize) : undefined;
  }

  toggleHead(layer: number, head: number): void {
    this.heads = toggleHead(this.heads, layer, head);
  }

  toggleMlp(layer: number): void {
    this.mlps = toggleMlp(this.mlps, layer);
  }

  /** Every head of a layer on or off. */
  setLayer(layer: number, on: boolean): void {
    const H = this.#studio.model?.config.nHead ?? 0;
    this.heads = setLayerHeads(this.heads, layer, H, on);
  }

  clear(): void {
    this.heads = [];
    this.mlps = [];
  }

  /**
   * Runs the prompt clean (unless already run on these tokens) and with the selection, after the
   * work in flight; requests made while one waits share it. Errors land in `error`.
   */
  run(): Promise<void> {
    if (this.#disposed) return Promise.resolve();
    this.#queuedRun ??= this.#enqueue(() => {
      this.#queuedRun = undefined;
      return this.#runOnce(this.#source.tokens, this.ablation);
    });
    return this.#queuedRun;
  }

  /** Sets the pair and measures it on the runs already shown (no forward pass). */
  setPair(a: string, b: string): Promise<void> {
    this.pairA = a;
    this.pairB = b;
    return this.#enqueue(() => this.#measurePairNow());
  }

  #enqueue(work: () => Promise<void>): Promise<void> {
    const done = this.#chain.then(work);
    this.#chain = done.catch(() => undefined);
    return done;
  }

  #sessionsNow(): Sessions | undefined {
    const version = this.#studio.modelVersion;
    if (this.#sessions?.modelVersion === version) return this.#sessions;
    this.#destroySessions();
    const clean = this.#gpu.createSession({ lens: 'final' });
    const ablated = this.#gpu.createSession({ lens: 'final' });
    if (!clean || !ablated) {
      clean?.destroy();
      ablated?.destroy();
      return undefined;
    }
    this.#sessions = { clean, ablated, modelVersion: version };
    return this.#sessions;
  }

  async #runOnce(tokens: readonly number[], ablation: Ablation): Promise<void> {
    if (this.#disposed) return;
    const version = this.#studio.modelVersion;
    const s = this.#sessionsNow();
    if (!s) {
      this.error = 'Load a model first.';
      return;
    }
    if (tokens.length === 0) {
      this.error = 'The prompt is empty: type at least one token.';
      return;
    }
    if (ablation.heads.length === 0 && (ablation.mlps?.length ?? 0) === 0) {
      this.error = 'Choose at least one head or MLP to ablate.';
      return;
    }
    this.running = true;
    try {
      const T = tokens.length;
      if (!s.cleanTokens || !s.cleanTop || !sameTokens(s.cleanTokens, tokens)) {
        s.cleanTokens = undefined;
        const clean = await s.clean.run(tokens);
        s.cleanTokens = clean.tokens;
        s.cleanTop = nextTokenTopK(clean.lens, T);
      }
      const ablated = await s.ablated.run(tokens, { ablate: ablation });
      const before = s.cleanTop;
      const after = nextTokenTopK(ablated.lens, T);
      const ids = unionIds(before, after);
      const [probBefore, probAfter, pair] = await Promise.all([
        this.#lastProbs(s.clean, ids),
        this.#lastProbs(s.ablated, ids),
        this.#measurePair(s, version),
      ]);
      const rows = distributionChange(before, after, probBefore, probAfter);
      if (this.#disposed || version !== this.#studio.modelVersion) return;
      // The outcome and its pair appear together.
      this.outcome = {
        tokens: ablated.tokens,
        ablation: ablated.ablation ?? ablation,
        modelVersion: version,
        before,
        after,
        rows,
      };
      this.pair = pair.pair;
      this.pairError = pair.error;
      this.error = undefined;
    } catch (e) {
      if (!this.#disposed && version === this.#studio.modelVersion) {
        // The sessions may now hold a run other than the outcome's: drop it rather than mislabel.
        this.outcome = undefined;
        this.pair = undefined;
        this.error = message(e);
      }
    } finally {
      this.running = false;
    }
  }

  /** The next-token probability (final lens point, last position) of each id, from trackTokens. */
  async #lastProbs(session: PromptSession, ids: readonly number[]): Promise<ReadonlyMap<number, number>> {
    return lastPositionProbs(await session.trackTokens(ids));
  }

  async #measurePairNow(): Promise<void> {
    const s = this.#sessions;
    const version = this.#studio.modelVersion;
    if (!this.outcome || this.outcome.modelVersion !== version) {
      // Nothing run on this model yet: the next run measures the pair.
      this.pair = undefined;
      this.pairError = undefined;
      return;
    }
    if (!s || s.modelVersion !== version) {
      this.pair = undefined;
      this.pairError = 'Run the ablation again to compare another pair.';
      return;
    }
    try {
      const { pair, error } = await this.#measurePair(s, version);
      if (this.#disposed || version !== this.#studio.modelVersion) return;
      this.pair = pair;
      this.pairError = error;
    } catch (e) {
      if (!this.#disposed && version === this.#studio.modelVersion) this.pairError = message(e);
    }
  }

  /**
   * The pair's logits (4 floats back) and probabilities on the sessions' last runs; or why not
   * (a text that is not one token).
   */
  async #measurePair(
    s: Sessions,
    version: number,
  ): Promise<{ pair: PairOutcome | undefined; error: string | undefined }> {
    const a = this.pickA;
    const b = this.pickB;
    const device = this.#gpu.device();
    if (!a || !b || !device) return { pair: undefined, error: 'Load a model first.' };
    if (!a.ok || !b.ok) {
      const error = [a, b]
        .map((p, i) => (p.ok ? '' : `Token ${i === 0 ? 'A' : 'B'}: ${p.message}`))
        .filter(Boolean)
        .join(' ');
      return { pair: undefined, error };
    }
    const ids = [a.id, b.id];
    const [lb, la, pb, pa] = await Promise.all([
      readLogits(device, s.clean, ids),
      readLogits(device, s.ablated, ids),
      this.#lastProbs(s.clean, ids),
      this.#lastProbs(s.ablated, ids),
    ]);
    const pair: PairOutcome = {
      a: { id: a.id, label: a.label },
      b: { id: b.id, label: b.label },
      before: { ...pairLogits(lb[0]!, lb[1]!), probA: pb.get(a.id)!, probB: pb.get(b.id)! },
      after: { ...pairLogits(la[0]!, la[1]!), probA: pa.get(a.id)!, probB: pa.get(b.id)! },
      modelVersion: version,
    };
    return { pair, error: undefined };
  }

  #destroySessions(): void {
    const s = this.#sessions;
    this.#sessions = undefined;
    s?.clean.destroy();
    s?.ablated.destroy();
  }

  /** Frees the sessions once the work using them has settled; results stay. */
  release(): void {
    void this.#chain.then(() => this.#destroySessions());
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.release();
  }
}

const instances = onePer((studio: Studio, source: PromptTokens) => new AblationLab(studio, source));

/**
 * The ablation lab of a prompt: one per PromptRun (or token source), made on first use, so the
 * panel and the head grid's marks share one selection.
 */
export function ablationFor(studio: Studio, source: PromptTokens): AblationLab {
  return instances.get(studio, source);
}
