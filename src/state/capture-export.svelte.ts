// The studio's Export in the formats Python reads (safetensors, npz): the current prompt's hooks,
// all those its session captures or those chosen by name patterns (as the CLI's --names), under
// TransformerLens's names and shapes. Exports are f32-exact: the prompt is re-run once, under the
// prompt's lock, in a session of its own with f32 attention captures that captures exactly the
// hooks asked for (the live session may keep f16 or 8-bit patterns, and does not hold every hook);
// it is destroyed after the file is written. Where the engine's weights are f16 but the checkpoint
// is not, the values come from the f16 weights: `precisionNote` says so.
// The bytes go to a file chosen with showSaveFilePicker (streamed, a hook at a time) where the
// browser has it, else to a Blob saved as a download.

import { readHook, sessionHookNames } from '../engine/hook-reader';
import { exportExtension, writeCapture, type ExportFormat } from '../io/export/capture-export';
import { blobSink, streamSink } from '../io/export/sinks';
import type { ByteSink, ExportDType, ExportTensor } from '../io/export/tensors';
import { hookShape, selectHooks, type HookName, type LogitPositions } from '../model/hook-names';
import { saveBlob } from './download';
import { studioGpu, withRunCaptures } from './gpu/access';
import type { PromptRun, Studio } from './studio.svelte';

/** showSaveFilePicker where the browser has it (Chromium). */
type SavePicker = (options: {
  suggestedName: string;
  types?: { description: string; accept: Record<string, string[]> }[];
}) => Promise<{ createWritable(): Promise<WritableStream<Uint8Array>> }>;

export class CaptureExport {
  format = $state<ExportFormat>('safetensors');
  /** Name patterns, comma-separated (as --names); empty: every hook the prompt's session captures. */
  names = $state('');
  dtype = $state<ExportDType>('F32');
  logits = $state<LogitPositions>('last');
  busy = $state(false);
  error = $state<string | undefined>(undefined);
  /** After an export: what was written. */
  written = $state<{ readonly file: string; readonly hooks: number; readonly bytes: number } | undefined>();
  readonly #studio: Studio;
  readonly #run: PromptRun;

  constructor(studio: Studio, run: PromptRun) {
    this.#studio = studio;
    this.#run = run;
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
    return `${model}-capture${exportExtension[this.format]}`;
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
              accept: { 'application/octet-stream': [exportExtension[this.format]] },
            },
          ],
        });
        const sink = streamSink(await handle.createWritable());
        try {
          const r = await this.write(sink);
          await sink.close();
          this.written = { file, ...r };
        } catch (e) {
          await sink.abort(e);
          throw e;
        }
      } else {
        const sink = blobSink();
        const r = await this.write(sink);
        saveBlob(sink.blob(), file);
        this.written = { file, ...r };
      }
    } catch (e) {
      if ((e as Error).name !== 'AbortError') this.error = `Could not export: ${(e as Error).message}`;
    } finally {
      this.busy = false;
    }
  }

  /** The export of the prompt's latest run into `sink`: its hooks and bytes. */
  write(sink: ByteSink): Promise<{ hooks: number; bytes: number }> {
    const gpu = studioGpu(this.#studio);
    return withRunCaptures(this.#run, async (captures) => {
      const engine = gpu.engine();
      if (!captures || !engine) throw new Error('nothing to export yet: run a prompt first');
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

  /** The names to export: the patterns', or every hook the live session captures. */
  #names(captured: readonly string[], nLayer: number): HookName[] {
    if (this.names.trim() !== '') return selectHooks(this.names, nLayer);
    const spec = captured.map((n) => (n === 'logits_last' ? 'logits' : n)).join(',');
    return selectHooks(spec, nLayer);
  }
}
