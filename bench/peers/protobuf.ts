// A minimal Protocol Buffers wire-format writer and reader: enough to write an ONNX ModelProto
// (onnx.proto: varints, length-delimited fields, fixed32 floats) and to read one back in the tests.
// The writer keeps a list of chunks so that large raw tensors are appended without copying.

const enc = new TextEncoder();

/** Wire types of the protobuf encoding. */
export const wire = { varint: 0, fixed64: 1, bytes: 2, fixed32: 5 } as const;

export class ProtoWriter {
  readonly chunks: Uint8Array[] = [];
  length = 0;

  #push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.byteLength;
  }

  #varint(value: number | bigint): void {
    // Negative int64 values are ten bytes of two's complement, as protobuf writes them.
    let v = BigInt.asUintN(64, BigInt(value));
    const out: number[] = [];
    do {
      let byte = Number(v & 0x7fn);
      v >>= 7n;
      if (v !== 0n) byte |= 0x80;
      out.push(byte);
    } while (v !== 0n);
    this.#push(Uint8Array.from(out));
  }

  #tag(field: number, type: number): void {
    this.#varint((field << 3) | type);
  }

  /** An int32/int64/enum field (negative values allowed). */
  int(field: number, value: number): this {
    this.#tag(field, wire.varint);
    this.#varint(value);
    return this;
  }

  /** A float field (fixed32). */
  float(field: number, value: number): this {
    this.#tag(field, wire.fixed32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.#push(b);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, enc.encode(value));
  }

  /** A bytes field: the bytes are kept, not copied (do not change them before finish). */
  bytes(field: number, value: Uint8Array): this {
    this.#tag(field, wire.bytes);
    this.#varint(value.byteLength);
    this.#push(value);
    return this;
  }

  /** An embedded message field. */
  message(field: number, sub: ProtoWriter): this {
    this.#tag(field, wire.bytes);
    this.#varint(sub.length);
    for (const c of sub.chunks) this.#push(c);
    return this;
  }

  /** One buffer holding the whole message. */
  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const c of this.chunks) {
      out.set(c, offset);
      offset += c.byteLength;
    }
    return out;
  }
}

/** One decoded field: varints as bigint, length-delimited fields as bytes, fixed32/64 as bytes. */
export interface ProtoField {
  readonly field: number;
  readonly type: number;
  readonly value: bigint | Uint8Array;
}

/** Decodes one message level (embedded messages stay bytes: decode them again). */
export function readProto(bytes: Uint8Array): ProtoField[] {
  const fields: ProtoField[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= bytes.length) throw new Error('protobuf: truncated varint');
      const b = bytes[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  const take = (n: number): Uint8Array => {
    if (pos + n > bytes.length) throw new Error('protobuf: field runs past the end');
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  while (pos < bytes.length) {
    const key = Number(varint());
    const field = key >>> 3;
    const type = key & 7;
    if (type === wire.varint) fields.push({ field, type, value: varint() });
    else if (type === wire.bytes) fields.push({ field, type, value: take(Number(varint())) });
    else if (type === wire.fixed32) fields.push({ field, type, value: take(4) });
    else if (type === wire.fixed64) fields.push({ field, type, value: take(8) });
    else throw new Error(`protobuf: wire type ${type} of field ${field} is not supported`);
  }
  return fields;
}
