// The capture CLI's binary exports: `--format json|safetensors|npz --names PATTERNS --dtype f32|f16
// --logits last|all --out FILE`. Parses and checks those options (before any model work), then
// writes the hooks, one at a time, from whatever reads them: the engine's `capture(hook)`, or the
// CPU reference (referenceHookReader) where no GPU is wanted. exportCapture is the CLI's export:
// one f32 forward on the engine (f32 weights, f32 attention captures: F32-exact) in a session that
// captures exactly the hooks asked for, read back one hook at a time into the file.

import {
  parseExportFormat,
  writeCapture,
  type CaptureDescription,
  type ExportFormat,
} from '../io/export/capture-export';
import type { ExportDType, ExportTensor } from '../io/export/tensors';
import type { Ablation } from '../model/ablation';
import {
  allHookNames,
  hookParts,
  hookShape,
  selectHooks,
  type HookName,
  type LogitPositions,
} from '../model/hook-names';
import { Engine } from '../engine/engine';
import { readHook, sessionHookNames } from '../engine/hook-reader';
import type { OpenedModel } from '../model/load';
import { runWithCache } from '../model/reference-hooks';
import type { Gpt2Config, Gpt2Weights } from '../model/types';
import { checkOutPath, writeFileAtomically } from './export-file';
import { nodeGpu } from './node-gpu';
import { nodeShaders } from './node-shaders';

/** parseArgs options to merge into the capture CLI's. */
export const exportArgOptions = {
  format: { type: 'string' },
  names: { type: 'string' },
  dtype: { type: 'string' },
  f16: { type: 'boolean' },
  logits: { type: 'string' },
} as const;

export const exportUsage = `  --format    json (default), safetensors or npz: one array per hook, TransformerLens names and shapes
  --names     hooks to export, names or globs, comma-separated (e.g. 'blocks.*.attn.hook_pattern,*hook_resid_pre');
              default: every attention pattern, the residual stream at every boundary and the logits
  --dtype     f32 (default) or f16 (--f16 says the same)
  --logits    last (default: shape [1, V]) or all ([T, V]) positions`;

export interface ExportRequest {
  readonly format: ExportFormat;
  /** The raw --names, resolved against the model by exportNames(). */
  readonly names?: string;
  readonly dtype: ExportDType;
  readonly logits: LogitPositions;
  readonly out: string;
}

/**
 * The export that the options ask for, or undefined for the JSON capture. Checks everything that
 * does not need the model: the format, the dtype, the logits, that a binary format has --out.
 */
export function parseExportArgs(values: {
  format?: string;
  names?: string;
  dtype?: string;
  f16?: boolean;
  logits?: string;
  out?: string;
}): ExportRequest | undefined {
  const format = parseExportFormat(values.format ?? 'json');
  if (values.f16) {
    if (values.dtype !== undefined && values.dtype.toLowerCase() !== 'f16')
      throw new Error(`--f16 and --dtype ${values.dtype} disagree`);
    values = { ...values, dtype: 'f16' };
  }
  if (format === 'json') {
    for (const flag of ['names', 'dtype', 'logits'] as const) {
      if (values[flag] !== undefined)
        throw new Error(
          `--${values.f16 && flag === 'dtype' ? 'f16' : flag} needs --format safetensors or npz`,
        );
    }
    return undefined;
  }
  const dtype = (values.dtype ?? 'f32').toLowerCase();
  if (dtype !== 'f32' && dtype !== 'f16')
    throw new Error(`--dtype must be f32 or f16, got "${values.dtype}"`);
  const logits = values.logits ?? 'last';
  if (logits !== 'last' && logits !== 'all') throw new Error(`--logits must be last or all, got "${logits}"`);
  if (values.out === undefined) throw new Error(`--format ${format} writes a binary file: give --out FILE`);
  return { format, names: values.names, dtype: dtype === 'f32' ? 'F32' : 'F16', logits, out: values.out };
}

/**
 * The default export: what `capture` writes as JSON today, as arrays: every attention pattern, the
 * residual stream at every boundary (resid_pre and resid_mid of each block, the last resid_post)
 * and the logits.
 */
export function defaultExportNames(nLayer: number): HookName[] {
  const last = `blocks.${nLayer - 1}.hook_resid_post`;
  return allHookNames(nLayer).filter((n) => {
    const p = hookParts(n, nLayer)!;
    return (
      n === last ||
      n === 'logits' ||
      p.hook === 'attn.hook_pattern' ||
      p.hook === 'hook_resid_pre' ||
      p.hook === 'hook_resid_mid'
    );
  });
}

/** The hooks --names selects for this model (the default set without --names). */
export function exportNames(req: ExportRequest, nLayer: number): HookName[] {
  if (req.names === undefined) return defaultExportNames(nLayer);
  try {
    return selectHooks(req.names, nLayer);
  } catch (e) {
    throw new Error(`--names: ${(e as Error).message}`);
  }
}

/** Checks --names against the model and --out's folder: call before the forward pass. */
export async function checkExport(req: ExportRequest, config: Gpt2Config): Promise<HookName[]> {
  const names = exportNames(req, config.nLayer);
  await checkOutPath(req.out);
  return names;
}

/** Reads one hook's values (row-major, hookShape's shape): a GPU readback or a CPU recomputation. */
export type HookReader = (name: HookName) => Promise<Float32Array> | Float32Array;

/** Writes the export to req.out (through FILE.part), one hook read at a time. Returns the bytes written. */
export function writeExport(
  req: ExportRequest,
  config: Gpt2Config,
  names: readonly HookName[],
  read: HookReader,
  description: Omit<CaptureDescription, 'logits'>,
): Promise<number> {
  const T = description.tokens.length;
  const tensors: ExportTensor[] = names.map((name) => ({
    name,
    shape: hookShape(name, config, T, req.logits),
    async *values() {
      yield await read(name);
    },
  }));
  return writeFileAtomically(req.out, (sink) =>
    writeCapture(req.format, tensors, sink, {
      dtype: req.dtype,
      description: { ...description, logits: req.logits },
    }),
  );
}

/** A HookReader from the CPU reference forward: one pass for all the names, on first read. */
export function referenceHookReader(
  weights: Gpt2Weights,
  tokens: readonly number[],
  names: readonly HookName[],
  opts: { logits: LogitPositions; ablate?: Ablation },
): HookReader {
  let cache: ReturnType<typeof runWithCache> | undefined;
  return (name) => {
    cache ??= runWithCache(weights, tokens, names, opts);
    const t = cache.get(name);
    if (!t) throw new Error(`hook ${name} was not computed`);
    return t.data;
  };
}

/**
 * The capture CLI's export: checks --names and --out, runs one forward on the engine capturing
 * exactly those hooks (f32 weights and captures), and writes them to req.out. Returns the bytes
 * written and the hooks, for the CLI's message.
 */
export async function exportCapture(
  model: OpenedModel,
  tokens: readonly number[],
  req: ExportRequest,
  opts: { ablate?: Ablation; prompt?: string } = {},
): Promise<{ bytes: number; names: HookName[] }> {
  const names = await checkExport(req, model.config);
  const gpu = await nodeGpu();
  try {
    const engine = await Engine.load(gpu, nodeShaders(), model.checkpoint, { weightFormat: 'f32' });
    try {
      const session = engine.createSession({
        capacity: tokens.length,
        lens: 'final',
        captureFormat: 'rgba32float',
        namesFilter: sessionHookNames(names, req.logits),
      });
      await session.run(tokens, { ablate: opts.ablate });
      const T = tokens.length;
      const bytes = await writeExport(
        req,
        model.config,
        names,
        (name) => readHook(gpu.device, session, name, T, req.logits, opts.ablate),
        {
          model: model.name,
          tokens,
          ...(opts.prompt !== undefined ? { prompt: opts.prompt } : {}),
          ...(opts.ablate ? { ablation: ablationLabel(opts.ablate) } : {}),
        },
      );
      return { bytes, names };
    } finally {
      engine.dispose();
    }
  } finally {
    gpu.device.destroy();
  }
}

/** An ablation as the metadata writes it: "5.5,6.9 mlp 3 mean". */
export function ablationLabel(a: Ablation): string {
  const parts = [];
  if (a.heads.length > 0) parts.push(a.heads.map((h) => `${h.layer}.${h.head}`).join(','));
  if ((a.mlps ?? []).length > 0) parts.push(`mlp ${a.mlps!.join(',')}`);
  return [...parts, a.mode].join(' ');
}
