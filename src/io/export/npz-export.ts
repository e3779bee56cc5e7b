// Captures as an .npz file, streamed: a zip archive (no compression, STORED) of one .npy file per
// tensor, which `numpy.load` reads with no other package. Each entry's CRC-32 is computed while its
// bytes stream out and written after them in a data descriptor (general-purpose flag bit 3), as
// Python's zipfile does on unseekable streams; zip64 records are used where an entry, an offset or
// the central directory reaches 4 GiB (or always, on request). The metadata travel as
// `__metadata__.npy`, a 0-d unicode array holding a JSON object of strings:
// `json.loads(str(np.load(FILE)["__metadata__"]))`.
// Zip format: PKWARE APPNOTE.TXT 6.3; .npy format: numpy.lib.format, version 1.0.

import { createCRC32 } from 'hash-wasm';
import { BufferedSink, checkTensors, CountingSink, exportedBytes, tensorBytes } from './tensors';
import type { ByteSink, ExportDType, ExportTensor } from './tensors';

export interface NpzExportOptions {
  /** F32 (default) or F16. */
  readonly dtype?: ExportDType;
  /** Strings, written as `__metadata__.npy` (a JSON object in a 0-d unicode array). */
  readonly metadata?: Readonly<Record<string, string>>;
  /** Zip64 records for every entry and the end of the archive, not only past 4 GiB (for tests). */
  readonly forceZip64?: boolean;
}

const max32 = 0xffffffff;
/** 1980-01-01 00:00, the earliest DOS date: fixed, so the same capture gives the same bytes. */
const dosTime = 0;
const dosDate = (0 << 9) | (1 << 5) | 1;

/**
 * The .npy header (format 1.0): magic, version, header length, then the dict padded with spaces
 * and a newline so that the data starts at a multiple of 64 bytes.
 */
export function npyHeader(descr: string, shape: readonly number[]): Uint8Array {
  const dims = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${dims}, }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const headerLength = total - 10;
  if (headerLength > 0xffff) throw new RangeError(`.npy header of ${headerLength} bytes needs format 2.0`);
  const bytes = new Uint8Array(total).fill(0x20);
  bytes.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0], 0);
  new DataView(bytes.buffer).setUint16(8, headerLength, true);
  bytes.set(new TextEncoder().encode(dict), 10);
  bytes[total - 1] = 0x0a;
  return bytes;
}

interface Entry {
  readonly name: Uint8Array;
  readonly offset: number;
  readonly size: number;
  readonly crc: number;
  readonly zip64: boolean;
}

/** One member of the archive: its .npy header, then its data as chunks. */
interface Member {
  readonly name: string;
  readonly header: Uint8Array;
  readonly dataBytes: number;
  chunks(): AsyncIterable<Uint8Array>;
}

function tensorMember(t: ExportTensor, dtype: ExportDType): Member {
  return {
    name: `${t.name}.npy`,
    header: npyHeader(dtype === 'F32' ? '<f4' : '<f2', t.shape),
    dataBytes: exportedBytes(t, dtype),
    chunks: () => tensorBytes(t, dtype),
  };
}

function metadataMember(metadata: Readonly<Record<string, string>>): Member {
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new TypeError(`metadata "${k}" is a ${typeof v}: metadata are strings`);
  }
  const codePoints = [...JSON.stringify(metadata)].map((ch) => ch.codePointAt(0)!);
  const data = new Uint8Array(new Uint32Array(codePoints).buffer); // UTF-32LE
  return {
    name: '__metadata__.npy',
    header: npyHeader(`<U${codePoints.length}`, []),
    dataBytes: data.byteLength,
    chunks: async function* () {
      yield data;
    },
  };
}

/** Writes the archive to `sink`, one tensor at a time; returns the number of bytes written. */
export async function writeNpz(
  sink: ByteSink,
  tensors: readonly ExportTensor[],
  opts: NpzExportOptions = {},
): Promise<number> {
  checkTensors(tensors);
  const dtype = opts.dtype ?? 'F32';
  const members = tensors.map((t) => tensorMember(t, dtype));
  if (opts.metadata) members.unshift(metadataMember(opts.metadata));
  const force = opts.forceZip64 ?? false;
  const buffered = new BufferedSink(sink);
  const out = new CountingSink(buffered);
  const crc = await createCRC32();
  const entries: Entry[] = [];

  for (const m of members) {
    const name = new TextEncoder().encode(m.name);
    const size = m.header.byteLength + m.dataBytes;
    const zip64 = force || size >= max32;
    const offset = out.bytes;
    await out.write(localHeader(name, zip64));
    crc.init();
    crc.update(m.header);
    await out.write(m.header);
    let written = m.header.byteLength;
    for await (const bytes of m.chunks()) {
      // The checksum runs while the sink writes the same (unchanged) bytes: disk and CPU overlap.
      const writing = out.write(bytes);
      crc.update(bytes);
      await writing;
      written += bytes.byteLength;
    }
    if (written !== size) throw new Error(`npz writer: ${m.name} has ${written} bytes, planned ${size}`);
    const value = parseInt(crc.digest('hex'), 16) >>> 0;
    await out.write(dataDescriptor(value, size, zip64));
    entries.push({ name, offset, size, crc: value, zip64 });
  }

  const cdOffset = out.bytes;
  for (const e of entries) await out.write(centralHeader(e, force));
  const cdSize = out.bytes - cdOffset;
  await out.write(endOfArchive(entries.length, cdOffset, cdSize, out.bytes, force));
  await buffered.flush();
  return out.bytes;
}

// ---------------------------------------------------------------------------------------------
// Zip records, little-endian.

class ZipRecord {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private at = 0;
  constructor(length: number) {
    this.bytes = new Uint8Array(length);
    this.view = new DataView(this.bytes.buffer);
  }
  u16(v: number): this {
    this.view.setUint16(this.at, v, true);
    this.at += 2;
    return this;
  }
  u32(v: number): this {
    this.view.setUint32(this.at, v >>> 0, true);
    this.at += 4;
    return this;
  }
  u64(v: number): this {
    this.view.setBigUint64(this.at, BigInt(v), true);
    this.at += 8;
    return this;
  }
  raw(b: Uint8Array): this {
    this.bytes.set(b, this.at);
    this.at += b.byteLength;
    return this;
  }
  done(): Uint8Array {
    if (this.at !== this.bytes.byteLength)
      throw new Error(`zip record: ${this.at} of ${this.bytes.byteLength} bytes`);
    return this.bytes;
  }
}

const flags = 0x0008; // bit 3: CRC-32 and sizes in the data descriptor after the data
const version = (zip64: boolean) => (zip64 ? 45 : 20); // 4.5 for zip64, 2.0 otherwise
const madeBy = (3 << 8) | 45; // Unix, spec 4.5

/** Local file header; CRC and sizes are 0 (zip64: 0xFFFFFFFF and a zip64 extra of zeros). */
function localHeader(name: Uint8Array, zip64: boolean): Uint8Array {
  const r = new ZipRecord(30 + name.byteLength + (zip64 ? 20 : 0));
  r.u32(0x04034b50).u16(version(zip64)).u16(flags).u16(0).u16(dosTime).u16(dosDate);
  r.u32(0)
    .u32(zip64 ? max32 : 0)
    .u32(zip64 ? max32 : 0);
  r.u16(name.byteLength)
    .u16(zip64 ? 20 : 0)
    .raw(name);
  if (zip64) r.u16(0x0001).u16(16).u64(0).u64(0);
  return r.done();
}

function dataDescriptor(crc: number, size: number, zip64: boolean): Uint8Array {
  const r = new ZipRecord(zip64 ? 24 : 16);
  r.u32(0x08074b50).u32(crc);
  if (zip64) r.u64(size).u64(size);
  else r.u32(size).u32(size);
  return r.done();
}

/** Central directory header; sizes and offset past 4 GiB (or all, when forced) go to a zip64 extra. */
function centralHeader(e: Entry, force: boolean): Uint8Array {
  const bigSize = force || e.size >= max32;
  const bigOffset = force || e.offset >= max32;
  const extraFields = (bigSize ? 2 : 0) + (bigOffset ? 1 : 0);
  const extra = extraFields > 0 ? 4 + 8 * extraFields : 0;
  const r = new ZipRecord(46 + e.name.byteLength + extra);
  r.u32(0x02014b50)
    .u16(madeBy)
    .u16(version(e.zip64 || extraFields > 0))
    .u16(flags)
    .u16(0);
  r.u16(dosTime).u16(dosDate).u32(e.crc);
  r.u32(bigSize ? max32 : e.size).u32(bigSize ? max32 : e.size);
  r.u16(e.name.byteLength).u16(extra).u16(0).u16(0).u16(0);
  r.u32((0o100644 << 16) >>> 0); // a regular file, rw-r--r--
  r.u32(bigOffset ? max32 : e.offset).raw(e.name);
  if (extraFields > 0) {
    r.u16(0x0001).u16(8 * extraFields);
    if (bigSize) r.u64(e.size).u64(e.size);
    if (bigOffset) r.u64(e.offset);
  }
  return r.done();
}

/** End of central directory, preceded by the zip64 end record and locator where needed. */
function endOfArchive(
  count: number,
  cdOffset: number,
  cdSize: number,
  at: number,
  force: boolean,
): Uint8Array {
  const zip64 = force || count >= 0xffff || cdOffset >= max32 || cdSize >= max32;
  const r = new ZipRecord((zip64 ? 56 + 20 : 0) + 22);
  if (zip64) {
    r.u32(0x06064b50).u64(44).u16(madeBy).u16(45).u32(0).u32(0);
    r.u64(count).u64(count).u64(cdSize).u64(cdOffset);
    r.u32(0x07064b50).u32(0).u64(at).u32(1); // locator: the zip64 end record starts at `at`
  }
  const n16 = zip64 ? 0xffff : count;
  r.u32(0x06054b50).u16(0).u16(0).u16(n16).u16(n16);
  r.u32(zip64 ? max32 : cdSize)
    .u32(zip64 ? max32 : cdOffset)
    .u16(0);
  return r.done();
}
