// safetensors reader and writer. Layout: an 8-byte little-endian u64 header length N, N bytes of
// JSON header, then the data section. Header: { name: { dtype, shape, data_offsets: [begin, end] },
// "__metadata__"?: { key: string } }, offsets relative to the data section (which starts at 8 + N).
//
// Everything the header claims is checked against the file's size before anything is allocated or
// read, so a truncated or hostile file gives a ModelError, never a huge allocation or a read outside
// the file. Typed-array views assume a little-endian host, as every browser and Node platform is.

import type { ByteSource } from './byte-source';
import { dtypeBytes, f32ToBf16, f32ToF16 } from './dtype';
import { ModelError } from './errors';
import type { DType, Tensor } from './types';

/** The official reader's limit. Real GPT-2 headers are 15 KB (gpt2) to 60 KB (gpt2-xl). */
const maxHeaderBytes = 100_000_000;
const metadataKey = '__metadata__';

export interface SafetensorsEntry {
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Absolute offset of the tensor's first byte in the file. */
  readonly byteOffset: number;
  readonly byteLength: number;
}

export interface SafetensorsFile {
  /** The source's name, used in every message. */
  readonly name: string;
  /** Tensors by their name in the file, in data-section order. */
  readonly entries: ReadonlyMap<string, SafetensorsEntry>;
  /** The header's `__metadata__` (e.g. { format: 'pt' }); empty when absent. */
  readonly metadata: Readonly<Record<string, string>>;
  /**
   * Reads one tensor. Its data views the source's bytes without a copy when they are aligned to
   * the element size, and is a copy otherwise. Tensor.name is the name as it is in the file.
   */
  read(name: string): Promise<Tensor>;
}

export async function openSafetensors(src: ByteSource): Promise<SafetensorsFile> {
  const file = src.name;
  if (src.size < 8) {
    throw new ModelError(
      'truncated',
      file,
      `the file is ${src.size} bytes, too short for a safetensors header`,
    );
  }
  const prefix = await src.read(0, 8);
  const headerLength = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(maxHeaderBytes)) {
    throw new ModelError(
      'corrupt',
      file,
      `the header length ${headerLength} is over the ${maxHeaderBytes}-byte limit: not a safetensors file`,
    );
  }
  const headerBytes = Number(headerLength);
  if (8 + headerBytes > src.size) {
    throw new ModelError(
      'truncated',
      file,
      `the header is ${headerBytes} bytes but only ${src.size - 8} bytes follow its length`,
    );
  }

  const header = parseHeader(file, await src.read(8, headerBytes));
  const dataStart = 8 + headerBytes;
  const dataSize = src.size - dataStart;
  const metadata = parseMetadata(file, header[metadataKey]);
  const parsed: [string, SafetensorsEntry][] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name !== metadataKey) parsed.push([name, parseEntry(file, name, raw, dataStart, dataSize)]);
  }
  parsed.sort(([, a], [, b]) => a.byteOffset - b.byteOffset || a.byteLength - b.byteLength);
  checkNoOverlap(file, parsed);
  checkCoverage(file, parsed, dataStart, dataSize);
  const entries: ReadonlyMap<string, SafetensorsEntry> = new Map(parsed);

  return {
    name: file,
    entries,
    metadata,
    async read(name) {
      const entry = entries.get(name);
      if (!entry) throw new ModelError('missing', file, `no tensor named "${name}"`);
      const bytes = await src.read(entry.byteOffset, entry.byteLength);
      if (bytes.byteLength !== entry.byteLength) {
        throw new ModelError(
          'truncated',
          file,
          `tensor "${name}": read ${bytes.byteLength} of ${entry.byteLength} bytes at ${entry.byteOffset}`,
        );
      }
      return { name, dtype: entry.dtype, shape: entry.shape, data: elementView(entry.dtype, bytes) };
    },
  };
}

function parseHeader(file: string, bytes: Uint8Array): Record<string, unknown> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (cause) {
    throw new ModelError('corrupt', file, `the header is not valid JSON (${String(cause)})`, { cause });
  }
  if (!isRecord(json)) throw new ModelError('corrupt', file, 'the header is not a JSON object');
  return json;
}

function parseMetadata(file: string, raw: unknown): Record<string, string> {
  if (raw === undefined) return {};
  if (!isRecord(raw) || !Object.values(raw).every((v) => typeof v === 'string')) {
    throw new ModelError('corrupt', file, `"${metadataKey}" must map strings to strings`);
  }
  return raw as Record<string, string>;
}

function parseEntry(
  file: string,
  name: string,
  raw: unknown,
  dataStart: number,
  dataSize: number,
): SafetensorsEntry {
  const fail = (kind: 'corrupt' | 'unsupported' | 'truncated', problem: string) =>
    new ModelError(kind, file, `tensor "${name}": ${problem}`);
  if (!isRecord(raw)) throw fail('corrupt', 'its header entry is not an object');
  const { dtype, shape, data_offsets: offsets } = raw;
  if (typeof dtype !== 'string') throw fail('corrupt', 'dtype is missing');
  if (!isDType(dtype)) throw fail('unsupported', `dtype ${dtype} is not supported (only F32, F16 and BF16)`);
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw fail('corrupt', `shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
  }
  // Multiply with a bound check at each step: a hostile shape must not overflow into a small number.
  let byteLength = dtypeBytes[dtype];
  for (const dim of shape) {
    byteLength *= dim;
    if (!Number.isSafeInteger(byteLength)) throw fail('corrupt', `shape [${shape.join(', ')}] is too large`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw fail('corrupt', `data_offsets ${JSON.stringify(offsets)} is not a pair of non-negative integers`);
  }
  const [begin, end] = offsets as [number, number];
  if (begin > end) throw fail('corrupt', `data_offsets [${begin}, ${end}] end before they begin`);
  if (end - begin !== byteLength) {
    throw fail(
      'corrupt',
      `data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype} [${shape.join(', ')}] needs ${byteLength}`,
    );
  }
  if (end > dataSize) {
    throw fail(
      'truncated',
      `its data ends at byte ${end} of the data section, which has only ${dataSize} bytes (file size ${dataStart + dataSize})`,
    );
  }
  return { dtype, shape, byteOffset: dataStart + begin, byteLength };
}

/** `entries` sorted by offset. Empty tensors occupy no bytes and cannot overlap. */
function checkNoOverlap(file: string, entries: readonly [string, SafetensorsEntry][]): void {
  let previous: [string, SafetensorsEntry] | undefined;
  for (const current of entries) {
    const [name, entry] = current;
    if (entry.byteLength === 0) continue;
    if (previous && entry.byteOffset < previous[1].byteOffset + previous[1].byteLength) {
      throw new ModelError('corrupt', file, `the data of tensors "${previous[0]}" and "${name}" overlap`);
    }
    previous = current;
  }
}

/**
 * The tensors must fill the data section exactly, as the safetensors library requires: no gap
 * between two tensors and no bytes after the last. A header length set short (pointing into the
 * header's padding) shows up here as bytes before or after the tensors, so it is refused instead of
 * shifting every tensor.
 */
function checkCoverage(
  file: string,
  entries: readonly [string, SafetensorsEntry][],
  dataStart: number,
  dataSize: number,
): void {
  let end = 0;
  let previous = '';
  for (const [name, entry] of entries) {
    const begin = entry.byteOffset - dataStart;
    if (begin > end) {
      const after = previous === '' ? 'the start of the data section' : `tensor "${previous}"`;
      throw new ModelError(
        'corrupt',
        file,
        `${begin - end} bytes between ${after} and tensor "${name}" belong to no tensor ` +
          `(the data section starts at byte ${dataStart}: is the header length right?)`,
      );
    }
    end = Math.max(end, begin + entry.byteLength);
    previous = name;
  }
  if (end !== dataSize) {
    throw new ModelError(
      'corrupt',
      file,
      `${dataSize - end} bytes after the last tensor belong to no tensor (the tensors end at byte ` +
        `${dataStart + end} of ${dataStart + dataSize}: is the header length right?)`,
    );
  }
}

function elementView(dtype: DType, bytes: Uint8Array): Float32Array | Uint16Array {
  const size = dtypeBytes[dtype];
  // slice() copies into a fresh buffer, which starts aligned.
  const aligned = bytes.byteOffset % size === 0 ? bytes : bytes.slice();
  const length = aligned.byteLength / size;
  return dtype === 'F32'
    ? new Float32Array(aligned.buffer, aligned.byteOffset, length)
    : new Uint16Array(aligned.buffer, aligned.byteOffset, length);
}

/** A tensor to write: f32 values that the writer converts to `dtype`. */
export interface TensorToWrite {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/**
 * A safetensors file as a sequence of chunks: the length and header, then each tensor's bytes in
 * the order given. Lets a large file be written with one tensor converted at a time.
 */
export function* safetensorsParts(
  tensors: readonly TensorToWrite[],
  metadata?: Readonly<Record<string, string>>,
): Generator<Uint8Array> {
  const header: Record<string, unknown> = metadata ? { [metadataKey]: metadata } : {};
  let offset = 0;
  for (const t of tensors) {
    const elements = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== elements) {
      throw new RangeError(`${t.name}: ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    }
    if (t.name === metadataKey || Object.hasOwn(header, t.name)) {
      throw new RangeError(`${t.name}: duplicate or reserved tensor name`);
    }
    const end = offset + elements * dtypeBytes[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, end] };
    offset = end;
  }
  // Pad with spaces so that the data section starts 8-byte aligned, as the official writer does.
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const start = new Uint8Array(8 + headerLength).fill(0x20);
  new DataView(start.buffer).setBigUint64(0, BigInt(headerLength), true);
  start.set(json, 8);
  yield start;
  for (const t of tensors) yield tensorBytes(t);
}

/** A whole safetensors file in memory. */
export function encodeSafetensors(
  tensors: readonly TensorToWrite[],
  metadata?: Readonly<Record<string, string>>,
): Uint8Array {
  const parts = [...safetensorsParts(tensors, metadata)];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

function tensorBytes(t: TensorToWrite): Uint8Array {
  if (t.dtype === 'F32') return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const convert = t.dtype === 'F16' ? f32ToF16 : f32ToBf16;
  const bits = new Uint16Array(t.data.length);
  for (let i = 0; i < bits.length; i++) bits[i] = convert(t.data[i]!);
  return new Uint8Array(bits.buffer);
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isCount(x: unknown): x is number {
  return Number.isSafeInteger(x) && (x as number) >= 0;
}

function isDType(x: string): x is DType {
  return Object.hasOwn(dtypeBytes, x);
}
