// Random access to a file's bytes without holding the whole file: GPT-2 XL in f32 is 6.2 GB, more
// than one ArrayBuffer may hold. Sources exist for memory (tests, small models) and for Blobs
// (files the user picks, Cache Storage and OPFS entries). Node file handles live in
// src/cli/node-source.ts so that this module stays free of Node APIs.

export interface ByteSource {
  /** The name shown in messages (a file name or URL). */
  readonly name: string;
  /** Total size in bytes. */
  readonly size: number;
  /** Reads `length` bytes at `offset`; rejects if the range is outside the file. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

export function bytesSource(name: string, bytes: Uint8Array): ByteSource {
  return {
    name,
    size: bytes.byteLength,
    read(offset, length) {
      checkRange(name, bytes.byteLength, offset, length);
      return Promise.resolve(bytes.subarray(offset, offset + length));
    },
  };
}

export function blobSource(name: string, blob: Blob): ByteSource {
  return {
    name,
    size: blob.size,
    async read(offset, length) {
      checkRange(name, blob.size, offset, length);
      return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
    },
  };
}

/** Throws a RangeError naming the file when [offset, offset + length) is not inside it. */
export function checkRange(name: string, size: number, offset: number, length: number): void {
  if (
    !Number.isSafeInteger(offset) ||
    !Number.isSafeInteger(length) ||
    offset < 0 ||
    length < 0 ||
    offset + length > size
  ) {
    throw new RangeError(`${name}: read of ${length} bytes at ${offset} is outside the file (${size} bytes)`);
  }
}
