// Captures as a safetensors file, streamed: the header first (every offset follows from the shapes),
// then each tensor's bytes, pulled one tensor at a time. The format's rules
// (https://github.com/huggingface/safetensors#format): 8 bytes little-endian header length N, then
// N bytes of UTF-8 JSON starting with `{`, padded with spaces; N is a multiple of 8 here so the data
// starts 8-byte aligned. Each tensor's data_offsets [begin, end) are relative to the data section,
// in file order, contiguous from 0 with no gaps. `__metadata__` maps strings to strings.
// `safetensors.numpy.load_file(FILE)` then gives {hook name: array}.

import { BufferedSink, checkTensors, CountingSink, exportedBytes, tensorBytes } from './tensors';
import type { ByteSink, ExportDType, ExportTensor } from './tensors';

export interface SafetensorsExportOptions {
  /** F32 (default) or F16. */
  readonly dtype?: ExportDType;
  /** Strings only (the format's rule), e.g. the model, the prompt, the token ids as JSON. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** The header bytes (length prefix included) for these tensors, and the file's total size. */
export function safetensorsHeader(
  tensors: readonly ExportTensor[],
  opts: SafetensorsExportOptions = {},
): { header: Uint8Array; fileBytes: number } {
  checkTensors(tensors);
  const dtype = opts.dtype ?? 'F32';
  const header: Record<string, unknown> = {};
  if (opts.metadata) {
    for (const [k, v] of Object.entries(opts.metadata)) {
      if (typeof v !== 'string')
        throw new TypeError(`metadata "${k}" is a ${typeof v}: safetensors metadata are strings`);
    }
    header.__metadata__ = opts.metadata;
  }
  let offset = 0;
  for (const t of tensors) {
    const end = offset + exportedBytes(t, dtype);
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, end] };
    offset = end;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const bytes = new Uint8Array(8 + padded).fill(0x20); // spaces
  new DataView(bytes.buffer).setBigUint64(0, BigInt(padded), true);
  bytes.set(json, 8);
  return { header: bytes, fileBytes: bytes.length + offset };
}

/** Writes the file to `sink`, one tensor at a time; returns the number of bytes written. */
export async function writeSafetensors(
  sink: ByteSink,
  tensors: readonly ExportTensor[],
  opts: SafetensorsExportOptions = {},
): Promise<number> {
  const { header, fileBytes } = safetensorsHeader(tensors, opts);
  const dtype = opts.dtype ?? 'F32';
  const buffered = new BufferedSink(sink);
  const out = new CountingSink(buffered);
  await out.write(header);
  for (const t of tensors) for await (const bytes of tensorBytes(t, dtype)) await out.write(bytes);
  await buffered.flush();
  if (out.bytes !== fileBytes)
    throw new Error(`safetensors writer: wrote ${out.bytes} bytes, planned ${fileBytes}`);
  return out.bytes;
}
