// The causal instruments' state for the studio (issue 13): activation patching between compare
// mode's two prompts (A clean, B corrupted) and direct logit attribution of one prompt, on the GPU
// (src/engine/patching.ts, attribution.ts). The answer and the foil are typed (or picked from a
// top-k) and must each be one token. Before patching starts the work is estimated (runs, FLOPs),
// and above `liveRunCap` runs it is not started live; a run reports progress (hook kinds done of 4)
// and can be cancelled between kinds. Results are applied only while their model is current.

import { attributeOnGpu, attributionHooks } from '../engine/attribution';
import { estimatePatching, patchOnGpu, type PatchingEstimate } from '../engine/patching';
import { checkPromptPair, type Attribution, type PatchMaps } from '../model/reference-causal';
import { studioGpu, type StudioGpu } from './gpu/access';
import { pickToken } from './lens-view';
import type { Studio } from './studio.svelte';
import type { PromptRun } from './prompt-run.svelte';

/** Patched runs the studio runs live; more is refused with the estimate shown. */
export const liveRunCap = 4096;

export interface PatchOutcome extends PatchMaps {
  readonly tokensClean: readonly number[];
  readonly tokensCorrupt: readonly number[];
  readonly answer: number;
  readonly foil: number;
  readonly cleanLogitDiff: number;
  readonly corruptLogitDiff: number;
  readonly modelVersion: number;
  readonly ms: number;
}

export interface AttributionOutcome extends Attribution {
  readonly tokens: readonly number[];
  readonly answer: number;
  readonly foil: number;
  readonly modelVersion: number;
}

const message = (e: unknown) => (e as Error)?.message ?? String(e);
const sentence = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
const quote = (s: string) => JSON.stringify(s);

/** The answer and the foil as typed; one object shared by the labs of both prompts (and the URL). */
export class CausalPick {
  answer = $state(' Mary');
  foil = $state(' John');
  constructor(answer = ' Mary', foil = ' John') {
    this.answer = answer;
    this.foil = foil;
  }
}

/** A token of a prompt's next-token prediction, offered as the answer or the foil. */
export interface CausalCandidate {
  readonly id: number;
  /** The token's text, as typed into the answer or foil field. */
  readonly text: string;
  /** Which prompts have it in their top-k ("A", "B", "A B"). */
  readonly from: string;
}

export class CausalLab {
  readonly pick: CausalPick;
  patch = $state.raw<PatchOutcome | undefined>(undefined);
  attribution = $state.raw<AttributionOutcome | undefined>(undefined);
  error = $state.raw<string | undefined>(undefined);
  running = $state(false);
  /** Hook kinds patched so far of 4, while a patching run is in flight. */
  progress = $state(0);

  readonly #studio: Studio;
  readonly #gpu: StudioGpu;
  readonly #a: PromptRun;
  readonly #b: PromptRun;
  readonly #cap: number;
  #abort: AbortController | undefined;

  /** `cap`: the most patched runs started live (liveRunCap by default). */
  constructor(studio: Studio, a: PromptRun, b: PromptRun, cap = liveRunCap, pick = new CausalPick()) {
    this.pick = pick;
    this.#cap = cap;
    this.#studio = studio;
    this.#gpu = studioGpu(studio);
    this.#a = a;
    this.#b = b;
  }

  /** The most patched runs started live. */
  get cap(): number {
    return this.#cap;
  }

  get answer(): string {
    return this.pick.answer;
  }
  set answer(text: string) {
    this.pick.answer = text;
  }
  get foil(): string {
    return this.pick.foil;
  }
  set foil(text: string) {
    this.pick.foil = text;
  }

  /** The answer and the foil as token ids, or the message that says why not. */
  readonly pair = $derived.by((): { answer: number; foil: number } | { message: string } => {
    const tokenizer = this.#studio.tokenizer;
    const V = this.#studio.model?.config.vocabSize ?? 0;
    if (!tokenizer) return { message: 'Load a model first.' };
    const one = (what: string, text: string): number | string => {
      if (text === '') return `${what}: type one token, e.g. " Mary" (with its leading space).`;
      const p = pickToken(tokenizer, text, V);
      if (p.ok) return p.id;
      const ids = tokenizer.encode(text, { allowSpecial: true });
      if (ids.length < 2) return `${what}: ${p.message}`;
      const pieces = ids.map((id) => quote(tokenizer.tokenLabel(id))).join(' + ');
      return `${what}: ${quote(text)} is ${ids.length} tokens (${pieces}); the logit difference needs one token each.`;
    };
    const a = one('Answer', this.answer);
    if (typeof a === 'string') return { message: a };
    const f = one('Foil', this.foil);
    if (typeof f === 'string') return { message: f };
    if (a === f) return { message: 'The answer and the foil are the same token.' };
    return { answer: a, foil: f };
  });

  /** Why prompts A and B cannot be patched (lengths, BOS), or undefined when they can. */
  readonly promptProblem = $derived.by((): string | undefined => {
    const config = this.#studio.model?.config;
    if (!config) return 'Load a model first.';
    try {
      checkPromptPair(config, this.#a.tokens, this.#b.tokens);
      return undefined;
    } catch (e) {
      return `${sentence(message(e))}.`;
    }
  });

  /** Both prompts' next-token top-k (their last runs), A's first: the answers and foils to offer. */
  readonly candidates = $derived.by((): readonly CausalCandidate[] => {
    const tokenizer = this.#studio.tokenizer;
    if (!tokenizer) return [];
    const out: { id: number; text: string; from: string }[] = [];
    const runs =
      this.#a === this.#b
        ? [['A', this.#a] as const]
        : ([
            ['A', this.#a],
            ['B', this.#b],
          ] as const);
    for (const [name, run] of runs) {
      const r = run.lensResult;
      if (!r) continue;
      const { ids, k, points } = r.lens;
      const T = r.tokens.length;
      const base = ((points.length - 1) * T + (T - 1)) * k;
      for (let i = 0; i < k; i++) {
        const id = ids[base + i]!;
        const seen = out.find((c) => c.id === id);
        if (seen) seen.from = `${seen.from} ${name}`;
        else out.push({ id, text: tokenizer.decode([id]), from: name });
      }
    }
    return out;
  });

  /** The patching maps are of other prompts than A's and B's tokens now. */
  readonly patchStale = $derived.by(() => {
    const p = this.patch;
    return !!p && (!same(p.tokensClean, this.#a.tokens) || !same(p.tokensCorrupt, this.#b.tokens));
  });

  /** The attribution is of other tokens than A's now. */
  readonly attributionStale = $derived.by(() => {
    const d = this.attribution;
    return !!d && !same(d.tokens, this.#a.tokens);
  });

  /** The patching work for prompt A's length (undefined without a model). */
  readonly estimate = $derived.by((): PatchingEstimate | undefined => {
    void this.#studio.modelVersion;
    const engine = this.#gpu.engine();
    const T = this.#a.tokens.length;
    return engine && T > 0 ? estimatePatching(engine, T) : undefined;
  });

  /** Patches A into B; refuses work over liveRunCap runs, and bad pairs, with a message. */
  async runPatching(): Promise<void> {
    const engine = this.#gpu.engine();
    const pair = this.pair;
    if (!engine) return this.#fail('Load a model first.');
    if ('message' in pair) return this.#fail(pair.message);
    if (this.promptProblem) return this.#fail(this.promptProblem);
    const est = this.estimate;
    if (est && est.runs > this.#cap) {
      return this.#fail(
        `Patching these prompts is ${est.runs} runs (${(est.flops / 1e9).toFixed(0)} GFLOP), over the ` +
          `${this.#cap} the studio runs live: shorten the prompts, or use npm run patch.`,
      );
    }
    const clean = [...this.#a.tokens];
    const corrupt = [...this.#b.tokens];
    const version = this.#studio.modelVersion;
    this.#abort = new AbortController();
    this.running = true;
    this.progress = 0;
    this.error = undefined;
    const t0 = performance.now();
    try {
      const r = await patchOnGpu(engine, clean, corrupt, pair.answer, pair.foil, {
        signal: this.#abort.signal,
        onProgress: (done) => (this.progress = done),
      });
      if (version !== this.#studio.modelVersion) return;
      this.patch = {
        tokensClean: clean,
        tokensCorrupt: corrupt,
        answer: pair.answer,
        foil: pair.foil,
        cleanLogitDiff: r.clean_logit_diff,
        corruptLogitDiff: r.corrupt_logit_diff,
        resid_pre: r.resid_pre,
        attn_out: r.attn_out,
        mlp_out: r.mlp_out,
        z: r.z,
        modelVersion: version,
        ms: performance.now() - t0,
      };
    } catch (e) {
      this.error = sentence(message(e));
    } finally {
      this.running = false;
      this.#abort = undefined;
    }
  }

  /** Stops a patching run between hook kinds. */
  cancel(): void {
    this.#abort?.abort(new Error('Patching cancelled.'));
  }

  /** Direct logit attribution of `run`'s prompt (A by default) at its last position. */
  async runAttribution(run: PromptRun = this.#a): Promise<void> {
    const engine = this.#gpu.engine();
    const pair = this.pair;
    if (!engine) return this.#fail('Load a model first.');
    if ('message' in pair) return this.#fail(pair.message);
    const tokens = [...run.tokens];
    if (tokens.length === 0) return this.#fail('Type a prompt first.');
    const version = this.#studio.modelVersion;
    const session = engine.createSession({
      capacity: tokens.length,
      lens: 'final',
      namesFilter: attributionHooks(engine.config),
    });
    this.running = true;
    this.error = undefined;
    try {
      await session.run(tokens);
      const d = await attributeOnGpu(engine, session, tokens, pair.answer, pair.foil);
      if (version !== this.#studio.modelVersion) return;
      this.attribution = { ...d, tokens, answer: pair.answer, foil: pair.foil, modelVersion: version };
    } catch (e) {
      this.error = sentence(message(e));
    } finally {
      session.destroy();
      this.running = false;
    }
  }

  /** The results as the CLI's JSON (npm run patch), for export. */
  exportJson(): string {
    const p = this.patch;
    const d = this.attribution;
    const label = (t: readonly number[]) =>
      t.map((id) => ({ id, text: this.#studio.tokenizer?.tokenLabel(id) ?? String(id) }));
    return JSON.stringify({
      ...(p && {
        tokens_clean: label(p.tokensClean),
        tokens_corrupt: label(p.tokensCorrupt),
        answer_id: p.answer,
        foil_id: p.foil,
        clean_logit_diff: p.cleanLogitDiff,
        corrupt_logit_diff: p.corruptLogitDiff,
        patch: { resid_pre: p.resid_pre, attn_out: p.attn_out, mlp_out: p.mlp_out, z: p.z },
      }),
      ...(d && {
        dla: {
          position: d.position,
          heads: d.heads,
          attn_bias: d.attn_bias,
          mlp: d.mlp,
          embed: d.embed,
          ln_final_bias: d.ln_final_bias,
          total: d.total,
          sum_error: d.sum_error,
        },
      }),
    });
  }

  /** A token's display label under the current tokenizer. */
  label(id: number): string {
    return this.#studio.tokenizer?.tokenLabel(id) ?? String(id);
  }

  #fail(text: string): void {
    this.error = text;
  }

  dispose(): void {
    this.cancel();
  }
}

function same(x: readonly number[], y: readonly number[]): boolean {
  return x.length === y.length && x.every((v, i) => v === y[i]);
}
