// The one entry point of the exports: a capture's hooks written as safetensors or npz, with the
// metadata every export carries. The capture CLI (`--format`) and the studio's Export call this;
// where the hooks come from (the engine's captures, the CPU reference) is the caller's business.

import type { LogitPositions } from '../../model/hook-names';
import type { ActivationCache } from '../../model/reference-hooks';
import { writeNpz } from './npz-export';
import { writeSafetensors } from './safetensors-export';
import type { ByteSink, ExportDType, ExportTensor } from './tensors';

/** The binary formats; `json` stays with the capture CLI's own writer. */
export type ExportFormat = 'safetensors' | 'npz';

export const exportFormats: readonly ExportFormat[] = ['safetensors', 'npz'];

/** The file extension users expect for each format. */
export const exportExtension: Readonly<Record<ExportFormat, string>> = {
  safetensors: '.safetensors',
  npz: '.npz',
};

export interface CaptureDescription {
  /** The model's name: a hub id, a folder name. */
  readonly model: string;
  /** The prompt's text, when it came as text. */
  readonly prompt?: string;
  readonly tokens: readonly number[];
  readonly logits: LogitPositions;
  /** Heads and MLPs ablated, as the CLI writes them (e.g. "5.5,6.9 mlp 3 mean"), when any. */
  readonly ablation?: string;
}

/**
 * The metadata of an export, all strings: `tokens` is a JSON array of ids, `logits` "last" (shape
 * [1, V]) or "all" ([T, V]), `dtype` F32 or F16.
 */
export function exportMetadata(d: CaptureDescription, dtype: ExportDType): Record<string, string> {
  const m: Record<string, string> = {
    producer: 'strata',
    model: d.model,
    tokens: JSON.stringify(d.tokens),
    logits: d.logits,
    dtype,
  };
  if (d.prompt !== undefined) m.prompt = d.prompt;
  if (d.ablation !== undefined) m.ablation = d.ablation;
  return m;
}

/** A parse of --format: one of the binary formats, or an error naming the choices. */
export function parseExportFormat(s: string): ExportFormat | 'json' {
  if (s === 'json' || (exportFormats as readonly string[]).includes(s)) return s as ExportFormat | 'json';
  throw new Error(`--format must be json, safetensors or npz, got "${s}"`);
}

/** Writes `hooks` in `format` to `sink`, one tensor at a time. Returns the bytes written. */
export function writeCapture(
  format: ExportFormat,
  hooks: readonly ExportTensor[],
  sink: ByteSink,
  opts: { dtype?: ExportDType; description: CaptureDescription },
): Promise<number> {
  const dtype = opts.dtype ?? 'F32';
  const metadata = exportMetadata(opts.description, dtype);
  return format === 'npz'
    ? writeNpz(sink, hooks, { dtype, metadata })
    : writeSafetensors(sink, hooks, { dtype, metadata });
}

/** The tensors of a CPU reference cache, in its (forward) order. */
export function cacheTensors(cache: ActivationCache): ExportTensor[] {
  return [...cache].map(([name, t]) => ({ name, shape: t.shape, values: () => [t.data] }));
}
