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
      const f32 = part instanceof Float32Array ? part : Float32Array.from(part);
      yield new Uint8Array(dtype === 'F32' ? f32.buffer : toF16Bits(f32).buffer);
    }
  }
  if (seen !== expected) {
    throw new RangeError(
      `${t.name}: ${seen > expected ? 'more than ' : ''}${seen} values for shape [${t.shape.join(', ')}] (${expected})`,
    );
  }
}

/**
 * f32 → f16 bits, round to nearest even, exactly as f32ToF16 (model/dtype.ts) but several times
 * faster: values whose f16 is normal (or overflows) are rounded here from the bits, the rest
 * (subnormals, zero, NaN) go through f32ToF16.
 */
export function toF16Bits(values: Float32Array): Uint16Array {
  const u = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < u.length; i++) {
    const bits = u[i]!;
    const exp = (bits >>> 23) & 0xff;
    if (exp < 113 || exp > 142) {
      out[i] = exp === 0xff || exp < 113 ? f32ToF16(values[i]!) : ((bits >>> 16) & 0x8000) | 0x7c00;
      continue;
    }
    // Normal in f16: rebias the exponent, keep 10 mantissa bits, round the 13 dropped ones to even.
    // A carry out of the mantissa bumps the exponent, and from 30 to 31 gives ±Infinity: both right.
    let h = ((bits >>> 16) & 0x8000) | ((exp - 112) << 10) | ((bits >>> 13) & 0x3ff);
    const rest = bits & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++;
    out[i] = h;
  }
  return out;
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
