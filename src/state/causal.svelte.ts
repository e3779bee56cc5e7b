// The causal instruments' state for the studio (issue 13): activation patching between compare
// mode's two prompts (A clean, B corrupted) and direct logit attribution of one prompt, on the GPU
// (src/engine/patching.ts, attribution.ts). The answer and the foil are typed (or picked from a
// top-k) and must each be one token. Before patching starts the work is estimated (runs, FLOPs),
// and above `liveRunCap` runs it is not started live; a run reports progress (hook kinds done of 4)
// and can be cancelled between kinds. Results are applied only while their model is current.

import { attributeOnGpu, attributionHooks } from '../engine/attribution';
import { estimatePatching, patchOnGpu, type PatchingEstimate } from '../engine/patching';
import type { Attribution, PatchMaps } from '../model/reference-causal';
import { studioGpu, type StudioGpu } from './gpu/access';
import { pickToken } from './lens-view';
import type { PromptRun, Studio } from './studio.svelte';

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

export class CausalLab {
  answer = $state(' Mary');
  foil = $state(' John');
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
  constructor(studio: Studio, a: PromptRun, b: PromptRun, cap = liveRunCap) {
    this.#cap = cap;
    this.#studio = studio;
    this.#gpu = studioGpu(studio);
    this.#a = a;
    this.#b = b;
  }

  /** The answer and the foil as token ids, or the message that says why not. */
  readonly pair = $derived.by((): { answer: number; foil: number } | { message: string } => {
    const tokenizer = this.#studio.tokenizer;
    const V = this.#studio.model?.config.vocabSize ?? 0;
    if (!tokenizer) return { message: 'Load a model first.' };
    const a = pickToken(tokenizer, this.answer, V);
    if (!a.ok) return { message: `Answer: ${a.message}` };
    const f = pickToken(tokenizer, this.foil, V);
    if (!f.ok) return { message: `Foil: ${f.message}` };
    if (a.id === f.id) return { message: 'The answer and the foil are the same token.' };
    return { answer: a.id, foil: f.id };
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
      this.error = message(e);
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
      this.error = message(e);
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
