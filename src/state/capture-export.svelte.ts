// The studio's Export: the capture CLI's JSON, or the formats Python reads (safetensors, npz) with
// the current prompt's hooks, all those its session captures or those chosen by name patterns (as
// the CLI's --names), under TransformerLens's names and shapes. Exports are f32-exact: the prompt is
// re-run once, under the prompt's lock, in a session of its own with f32 attention captures that
// captures exactly the hooks asked for (the live session may keep f16 or 8-bit patterns, and does
// not hold every hook; the JSON's, the logit lens at every layer); it is destroyed after the file
// is written. Where the engine's weights are f16 but the checkpoint
// is not, the values come from the f16 weights: `precisionNote` says so.
// The bytes go to a file chosen with showSaveFilePicker (streamed, a hook at a time) where the
// browser has it, else to a Blob saved as a download.

import { captureJson } from '../engine/capture-json';
import { readHook, sessionHookNames } from '../engine/hook-reader';
import type { RunResult } from '../engine/session';
import { exportExtension, writeCapture, type ExportFormat } from '../io/export/capture-export';
import { blobSink, streamSink } from '../io/export/sinks';
import type { ByteSink, ExportDType, ExportTensor } from '../io/export/tensors';
import { hookShape, selectHooks, type HookName, type LogitPositions } from '../model/hook-names';
import { saveBlob } from './download';
import { studioGpu, withRunCaptures } from './gpu/access';
import type { Studio } from './studio.svelte';
import type { PromptRun } from './prompt-run.svelte';

/** showSaveFilePicker where the browser has it (Chromium). */
type SavePicker = (options: {
  suggestedName: string;
  types?: { description: string; accept: Record<string, string[]> }[];
}) => Promise<{ createWritable(): Promise<WritableStream<Uint8Array>> }>;

/** The formats the studio's Export offers: the capture CLI's JSON, safetensors and npz. */
export type StudioExportFormat = 'json' | ExportFormat;
export const studioExportFormats: readonly StudioExportFormat[] = ['json', 'safetensors', 'npz'];

export class CaptureExport {
  format = $state<StudioExportFormat>('safetensors');
  /** Name patterns, comma-separated (as --names); empty: every hook the prompt's session captures. */
  names = $state('');
  dtype = $state<ExportDType>('F32');
  logits = $state<LogitPositions>('last');
  busy = $state(false);
  error = $state<string | undefined>(undefined);
  /** After an export: what was written. */
  written = $state<{ readonly file: string; readonly hooks?: number; readonly bytes: number } | undefined>();
  readonly #studio: Studio;
  readonly #run: PromptRun;
  readonly #suffix: string;
  #disposed = false;

  /** `name`: the prompt's name in compare mode ("A", "B"), put in the file name. */
  constructor(studio: Studio, run: PromptRun, name?: string) {
    this.#studio = studio;
    this.#run = run;
    this.#suffix = name ? `-${name}` : '';
  }

  /** Stops using the studio: an export in flight finishes its file but sets no state. */
  dispose(): void {
    this.#disposed = true;
  }

  /**
   * Why `names` cannot be exported (an unknown name, a pattern matching nothing, with the names
   * that exist), checked as it is typed; undefined when it can (or is empty: every captured hook).
   */
  get namesError(): string | undefined {
    const config = this.#studio.model?.config;
    if (this.format === 'json' || !config || this.names.trim() === '') return undefined;
    try {
      selectHooks(this.names, config.nLayer);
      return undefined;
    } catch (e) {
      return (e as Error).message;
    }
  }

  /** Set where the engine's weights are f16 and the checkpoint's are not (values from f16 weights). */
  get precisionNote(): string | undefined {
    const engine = studioGpu(this.#studio).engine();
    if (!engine || engine.weights.format !== 'f16') return undefined;
    return 'the weights are f16 on this GPU: the values come from f16 weights';
  }

  /** The file name offered: the model and the format's extension. */
  get fileName(): string {
    const model = (this.#studio.model?.label ?? 'capture').replace(/[^\w.-]+/g, '-');
    return `${model}-capture${this.#suffix}${this.#extension}`;
  }

  get #extension(): string {
    return this.format === 'json' ? '.json' : exportExtension[this.format];
  }

  /** Writes the export; must be called from a user gesture (the save picker needs one). */
  async save(): Promise<void> {
    this.busy = true;
    this.error = undefined;
    this.written = undefined;
    try {
      const picker = (globalThis as { showSaveFilePicker?: SavePicker }).showSaveFilePicker;
      const file = this.fileName;
      if (picker) {
        const handle = await picker({
          suggestedName: file,
          types: [
            {
              description: this.format,
              accept: {
                [this.format === 'json' ? 'application/json' : 'application/octet-stream']: [this.#extension],
              },
            },
          ],
        });
        const sink = streamSink(await handle.createWritable());
        try {
          const r = await this.write(sink);
          await sink.close();
          if (!this.#disposed) this.written = { file, ...r };
        } catch (e) {
          await sink.abort(e);
          throw e;
        }
      } else {
        const sink = blobSink(this.format === 'json' ? 'application/json' : undefined);
        const r = await this.write(sink);
        if (this.#disposed) return;
        saveBlob(sink.blob(), file);
        this.written = { file, ...r };
      }
    } catch (e) {
      if ((e as Error).name !== 'AbortError' && !this.#disposed)
        this.error = `Could not export: ${(e as Error).message}`;
    } finally {
      this.busy = false;
    }
  }

  /** The export of the prompt's latest run into `sink`: its hooks (not for JSON) and bytes. */
  write(sink: ByteSink): Promise<{ hooks?: number; bytes: number }> {
    const gpu = studioGpu(this.#studio);
    return withRunCaptures(this.#run, async (captures) => {
      const engine = gpu.engine();
      if (!captures || !engine) throw new Error('nothing to export yet: run a prompt first');
      if (this.format === 'json') {
        const run = captures.lens ?? (await captures.finishLens?.());
        if (!run) throw new Error('nothing to export yet: run a prompt first');
        return { bytes: await this.#writeJson(sink, run) };
      }
      const config = engine.config;
      const logits = this.logits;
      const names = this.#names(captures.session.captures, config.nLayer);
      const tokens = captures.result.tokens;
      const T = tokens.length;
      const session = gpu.createSession({
        capacity: T,
        lens: 'final',
        captureFormat: 'rgba32float',
        namesFilter: sessionHookNames(names, logits),
      });
      if (!session) throw new Error('the model is not loaded');
      try {
        await session.run(tokens, captures.result.ablation ? { ablate: captures.result.ablation } : {});
        const device = engine.gpu.device;
        const tensors: ExportTensor[] = names.map((name) => ({
          name,
          shape: hookShape(name, config, T, logits),
          async *values() {
            yield await readHook(device, session, name, T, logits, captures.result.ablation);
          },
        }));
        const a = captures.result.ablation;
        const ablation = a
          ? [
              a.heads.map((h) => `${h.layer}.${h.head}`).join(','),
              a.mlps?.length ? `mlp ${a.mlps.join(',')}` : '',
              a.mode,
            ]
              .filter(Boolean)
              .join(' ')
          : undefined;
        const bytes = await writeCapture(this.format, tensors, sink, {
          dtype: this.dtype,
          description: {
            model: this.#studio.model?.label ?? 'unknown',
            prompt: this.#run.text,
            tokens,
            logits,
            ...(ablation ? { ablation } : {}),
          },
        });
        return { hooks: names.length, bytes };
      } finally {
        session.destroy();
      }
    });
  }

  /**
   * The capture CLI's JSON of the run's tokens, from a run of its own: f32 patterns and the logit
   * lens at every resid_pre and the final resid_post (the live session may have neither).
   */
  async #writeJson(sink: ByteSink, result: RunResult): Promise<number> {
    const gpu = studioGpu(this.#studio);
    const engine = gpu.engine();
    const model = this.#studio.model;
    const tokenizer = this.#studio.tokenizer;
    const state = this.#studio.gpu;
    if (!engine || !model || !tokenizer || state.state !== 'ready')
      throw new Error('the model is not loaded');
    const session = gpu.createSession({
      capacity: result.tokens.length,
      lens: 'layers',
      captureFormat: 'rgba32float',
    });
    if (!session) throw new Error('the model is not loaded');
    try {
      const run = await session.run(result.tokens, result.ablation ? { ablate: result.ablation } : {});
      const json = await captureJson({
        device: engine.gpu.device,
        config: engine.config,
        name: model.label,
        adapter: state.adapter,
        session,
        run,
        tokenLabel: (id) => tokenizer.tokenLabel(id),
      });
      const bytes = new TextEncoder().encode(JSON.stringify(json));
      await sink.write(bytes);
      return bytes.length;
    } finally {
      session.destroy();
    }
  }

  /** The names to export: the patterns', or every hook the live session captures. */
  #names(captured: readonly string[], nLayer: number): HookName[] {
    if (this.names.trim() !== '') return selectHooks(this.names, nLayer);
    const spec = captured.map((n) => (n === 'logits_last' ? 'logits' : n)).join(',');
    return selectHooks(spec, nLayer);
  }
}
