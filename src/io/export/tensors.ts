// What the export writers take: named tensors whose values are pulled one tensor at a time (so a
// capture larger than memory can be written), and a byte sink to write to. Pure: no Node, no DOM.
// Values are little-endian on every platform this runs on (x86, ARM); the writers rely on it.

import { f32ToF16 } from '../../model/dtype';

/** Element types the exports write. */
export type ExportDType = 'F32' | 'F16';

export const exportDTypeBytes: Readonly<Record<ExportDType, number>> = { F32: 4, F16: 2 };

export type TensorValues = Float32Array | Float64Array;

export interface ExportTensor {
  /** The name in the file: a hook name, e.g. `blocks.3.attn.hook_pattern`. */
  readonly name: string;
  /** Row-major shape, e.g. [H, T, T]. */
  readonly shape: readonly number[];
  /**
   * The values in row-major order, in one piece or several. Called once, when the writer reaches
   * this tensor: a GPU readback or a recomputation can run here, one tensor at a time.
   */
  values(): Iterable<TensorValues> | AsyncIterable<TensorValues>;
}

/** Where the bytes go: a file, a download, memory. */
export interface ByteSink {
  /** Appends `bytes`; once it resolves the caller may reuse them. */
  write(bytes: Uint8Array): Promise<void>;
}

/** Elements per conversion slice: F16 and F64 → F32 are converted 1 Mi elements at a time. */
const sliceElements = 1 << 20;

/** The number of elements of `shape`, after checking that it is a shape. */
export function elementCount(name: string, shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0)
      throw new RangeError(`${name}: shape [${shape.join(', ')}] is not a shape`);
    n *= d;
  }
  if (!Number.isSafeInteger(n)) throw new RangeError(`${name}: shape [${shape.join(', ')}] is too large`);
  return n;
}

/** Names non-empty, unique and not `__metadata__`; shapes valid. */
export function checkTensors(tensors: readonly ExportTensor[]): void {
  const seen = new Set<string>();
  for (const t of tensors) {
    if (t.name === '') throw new RangeError('a tensor has an empty name');
    if (t.name === '__metadata__') throw new RangeError('"__metadata__" is reserved for the metadata');
    if (seen.has(t.name)) throw new RangeError(`two tensors are named "${t.name}"`);
    seen.add(t.name);
    elementCount(t.name, t.shape);
  }
}

/**
 * The tensor's bytes in `dtype`, pulled from its values() and converted a slice at a time; F32
 * from a Float32Array is passed through without a copy. Checks the number of values.
 */
export async function* tensorBytes(t: ExportTensor, dtype: ExportDType): AsyncGenerator<Uint8Array> {
  const expected = elementCount(t.name, t.shape);
  let seen = 0;
  for await (const chunk of t.values()) {
    seen += chunk.length;
    if (seen > expected) break;
    if (dtype === 'F32' && chunk instanceof Float32Array) {
      if (chunk.length > 0) yield new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      continue;
    }
    for (let from = 0; from < chunk.length; from += sliceElements) {
      const part = chunk.subarray(from, Math.min(chunk.length, from + sliceElements));
      if (dtype === 'F32') {
        yield new Uint8Array(Float32Array.from(part).buffer);
      } else {
        const bits = new Uint16Array(part.length);
        for (let i = 0; i < part.length; i++) bits[i] = f32ToF16(part[i]!);
        yield new Uint8Array(bits.buffer);
      }
    }
  }
  if (seen !== expected) {
    throw new RangeError(
      `${t.name}: ${seen > expected ? 'more than ' : ''}${seen} values for shape [${t.shape.join(', ')}] (${expected})`,
    );
  }
}

/**
 * A sink that gathers small writes (headers) into one buffer of `size` bytes before passing them
 * on; large writes go straight through. Call flush() at the end.
 */
export class BufferedSink implements ByteSink {
  private readonly buffer: Uint8Array;
  private used = 0;

  constructor(
    private readonly inner: ByteSink,
    size = 1 << 20,
  ) {
    this.buffer = new Uint8Array(size);
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.used + bytes.byteLength <= this.buffer.byteLength) {
      this.buffer.set(bytes, this.used);
      this.used += bytes.byteLength;
      return;
    }
    await this.flush();
    if (bytes.byteLength < this.buffer.byteLength) {
      this.buffer.set(bytes, 0);
      this.used = bytes.byteLength;
    } else {
      await this.inner.write(bytes);
    }
  }

  async flush(): Promise<void> {
    if (this.used === 0) return;
    const full = this.buffer.subarray(0, this.used);
    this.used = 0;
    await this.inner.write(full);
  }
}

/** Counts the bytes that pass through, for writers that report their size. */
export class CountingSink implements ByteSink {
  bytes = 0;
  constructor(private readonly inner: ByteSink) {}
  async write(bytes: Uint8Array): Promise<void> {
    await this.inner.write(bytes);
    this.bytes += bytes.byteLength;
  }
}

/** The bytes of `t`'s data when written as `dtype`. */
export function exportedBytes(t: ExportTensor, dtype: ExportDType): number {
  return elementCount(t.name, t.shape) * exportDTypeBytes[dtype];
}
