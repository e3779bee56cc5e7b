import { describe, expect, it } from 'vitest';
import { bytesSource, type ByteSource } from '../src/model/byte-source';
import { toFloat32 } from '../src/model/dtype';
import { ModelError, type ModelErrorKind } from '../src/model/errors';
import { encodeSafetensors, openSafetensors } from '../src/model/safetensors';
import type { DType } from '../src/model/types';

/** A file with any header: the 8-byte length, the JSON as given, then `dataBytes` zero bytes. */
function rawFile(header: unknown, dataBytes = 0): Uint8Array {
  const json = new TextEncoder().encode(typeof header === 'string' ? header : JSON.stringify(header));
  const bytes = new Uint8Array(8 + json.length + dataBytes);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(json.length), true);
  bytes.set(json, 8);
  return bytes;
}

async function expectError(
  bytes: Uint8Array,
  kind: ModelErrorKind,
  message: RegExp,
  name = 'model.safetensors',
) {
  const error = await openSafetensors(bytesSource(name, bytes)).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ModelError);
  expect((error as ModelError).kind).toBe(kind);
  expect((error as ModelError).message).toMatch(new RegExp(`^${name}: `));
  expect((error as ModelError).message).toMatch(message);
}

const entry = (dtype: string, shape: number[], begin: number, end: number) => ({
  dtype,
  shape,
  data_offsets: [begin, end],
});

describe('openSafetensors', () => {
  it('reads a file laid out by hand as the official writer does', async () => {
    const header = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"__metadata__":{"format":"pt"}}';
    const file = rawFile(header.padEnd(88, ' '), 8);
    new DataView(file.buffer).setFloat32(96, 1.5, true);
    new DataView(file.buffer).setFloat32(100, -3, true);
    const st = await openSafetensors(bytesSource('hand.safetensors', file));
    expect(st.name).toBe('hand.safetensors');
    expect(st.metadata).toEqual({ format: 'pt' });
    expect(st.entries.get('a')).toEqual({ dtype: 'F32', shape: [2], byteOffset: 96, byteLength: 8 });
    const a = await st.read('a');
    expect(a.name).toBe('a');
    expect([...a.data]).toEqual([1.5, -3]);
    expect(a.data.buffer).toBe(file.buffer); // aligned: a view, not a copy
  });

  const values = [1, -2, 0.5, 2048, 0, -0.375]; // exact in every dtype
  const bits: Record<DType, number[] | undefined> = {
    F32: undefined,
    F16: [0x3c00, 0xc000, 0x3800, 0x6800, 0x0000, 0xb600],
    BF16: [0x3f80, 0xc000, 0x3f00, 0x4500, 0x0000, 0xbec0],
  };
  for (const dtype of ['F32', 'F16', 'BF16'] as const) {
    it(`round-trips ${dtype} tensors, scalars and empty tensors`, async () => {
      const bytes = encodeSafetensors(
        [
          { name: 'matrix', dtype, shape: [2, 3], data: new Float32Array(values) },
          { name: 'scalar', dtype, shape: [], data: new Float32Array([0.25]) },
          { name: 'empty', dtype, shape: [0, 4], data: new Float32Array(0) },
        ],
        { format: 'pt', note: 'ü' },
      );
      const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      expect((8 + headerLength) % 8).toBe(0);
      const st = await openSafetensors(bytesSource('rt.safetensors', bytes));
      expect(st.metadata).toEqual({ format: 'pt', note: 'ü' });
      expect([...st.entries.keys()]).toEqual(['matrix', 'scalar', 'empty']);
      const size = dtype === 'F32' ? 4 : 2;
      expect(st.entries.get('matrix')).toEqual({
        dtype,
        shape: [2, 3],
        byteOffset: 8 + headerLength,
        byteLength: 6 * size,
      });
      const matrix = await st.read('matrix');
      expect(matrix.dtype).toBe(dtype);
      expect(matrix.shape).toEqual([2, 3]);
      expect(matrix.data).toBeInstanceOf(dtype === 'F32' ? Float32Array : Uint16Array);
      if (bits[dtype]) expect([...matrix.data]).toEqual(bits[dtype]);
      expect([...toFloat32(matrix)]).toEqual(values);
      expect([...toFloat32(await st.read('scalar'))]).toEqual([0.25]);
      expect((await st.read('empty')).data.length).toBe(0);
      expect(bytes.byteLength).toBe(8 + headerLength + 7 * size);
    });
  }

  it('reads tensors whose bytes are not aligned, by copying them', async () => {
    const bytes = encodeSafetensors([
      { name: 'odd', dtype: 'F16', shape: [1], data: new Float32Array([3]) },
      { name: 'f32', dtype: 'F32', shape: [3], data: new Float32Array([1.25, -7, 1e-3]) },
      { name: 'bf16', dtype: 'BF16', shape: [2], data: new Float32Array([2, 0.5]) },
    ]);
    // The whole file one byte off alignment, as a slice of a larger buffer would be.
    const shifted = new Uint8Array(bytes.byteLength + 1);
    shifted.set(bytes, 1);
    const st = await openSafetensors(bytesSource('shifted.safetensors', shifted.subarray(1)));
    const f32 = await st.read('f32');
    expect(f32.data.buffer).not.toBe(shifted.buffer);
    expect([...f32.data]).toEqual([1.25, -7, Math.fround(1e-3)]);
    expect([...toFloat32(await st.read('odd'))]).toEqual([3]);
    expect([...toFloat32(await st.read('bf16'))]).toEqual([2, 0.5]);
  });

  it('rejects a file too short to hold the header length', async () => {
    await expectError(
      new Uint8Array(5),
      'truncated',
      /the file is 5 bytes, too short for a safetensors header/,
    );
  });

  it('rejects a header length beyond the end of the file', async () => {
    const file = rawFile({}, 0).subarray(0, 8 + 1);
    new DataView(file.buffer).setBigUint64(0, 1000n, true);
    await expectError(file, 'truncated', /the header is 1000 bytes but only 1 bytes follow its length/);
  });

  it('rejects a header length over 100 MB without reading it', async () => {
    // What a text file looks like as a safetensors header length: an absurd u64.
    const html = new TextEncoder().encode('<!DOCTYPE html><html></html>');
    await expectError(
      html,
      'corrupt',
      /header length \d+ is over the 100000000-byte limit: not a safetensors file/,
    );
  });

  it('rejects a header that is not JSON or not an object', async () => {
    await expectError(rawFile('{"a": {"dtype": '), 'corrupt', /the header is not valid JSON/);
    await expectError(rawFile([1, 2]), 'corrupt', /the header is not a JSON object/);
    await expectError(rawFile({ a: 5 }), 'corrupt', /tensor "a": its header entry is not an object/);
  });

  it('rejects dtypes other than F32, F16 and BF16, naming the tensor', async () => {
    await expectError(
      rawFile({ 'h.0.attn.bias': entry('I64', [2], 0, 16) }, 16),
      'unsupported',
      /tensor "h.0.attn.bias": dtype I64 is not supported \(only F32, F16 and BF16\)/,
    );
    await expectError(rawFile({ w: entry('F64', [1], 0, 8) }, 8), 'unsupported', /"w": dtype F64/);
    await expectError(rawFile({ w: entry('U8', [1], 0, 1) }, 1), 'unsupported', /"w": dtype U8/);
    await expectError(
      rawFile({ w: { shape: [1], data_offsets: [0, 4] } }, 4),
      'corrupt',
      /"w": dtype is missing/,
    );
  });

  it('rejects shapes that are not lists of non-negative integers', async () => {
    await expectError(rawFile({ w: entry('F32', [-1], 0, 0) }), 'corrupt', /"w": shape \[-1\] is not a list/);
    await expectError(rawFile({ w: entry('F32', [1.5], 0, 6) }, 6), 'corrupt', /"w": shape \[1.5\]/);
    await expectError(
      rawFile({ w: { dtype: 'F32', data_offsets: [0, 0] } }),
      'corrupt',
      /"w": shape undefined/,
    );
  });

  it('rejects offsets that disagree with the shape or run backwards', async () => {
    await expectError(
      rawFile({ w: entry('F16', [3], 0, 8) }, 8),
      'corrupt',
      /"w": data_offsets \[0, 8\] hold 8 bytes but F16 \[3\] needs 6/,
    );
    await expectError(
      rawFile({ w: entry('F32', [0], 4, 0) }, 4),
      'corrupt',
      /"w": data_offsets \[4, 0\] end before/,
    );
    await expectError(
      rawFile({ w: { dtype: 'F32', shape: [1], data_offsets: [0] } }, 4),
      'corrupt',
      /not a pair/,
    );
  });

  it('rejects offsets beyond the data section with the byte counts', async () => {
    const file = rawFile({ a: entry('F32', [4], 0, 16), b: entry('F32', [4], 16, 32) }, 24);
    const dataStart = file.byteLength - 24;
    await expectError(
      file,
      'truncated',
      new RegExp(
        `"b": its data ends at byte 32 of the data section, which has only 24 bytes \\(file size ${dataStart + 24}\\)`,
      ),
    );
  });

  it('rejects a valid file cut short', async () => {
    const bytes = encodeSafetensors([{ name: 'w', dtype: 'F32', shape: [4, 4], data: new Float32Array(16) }]);
    await expectError(bytes.subarray(0, bytes.byteLength - 1), 'truncated', /"w": its data ends at byte 64/);
  });

  it('rejects overlapping tensors, naming both', async () => {
    const file = rawFile(
      { a: entry('F32', [4], 0, 16), b: entry('F32', [2], 12, 20), c: entry('F32', [0], 4, 4) },
      20,
    );
    await expectError(file, 'corrupt', /the data of tensors "a" and "b" overlap/);
    // An empty tensor inside another's range holds no bytes: not an overlap.
    await expect(
      openSafetensors(
        bytesSource('ok', rawFile({ a: entry('F32', [4], 0, 16), c: entry('F32', [0], 4, 4) }, 16)),
      ),
    ).resolves.toBeDefined();
  });

  it('rejects metadata that is not a string map', async () => {
    await expectError(
      rawFile({ __metadata__: { format: 1 } }),
      'corrupt',
      /"__metadata__" must map strings to strings/,
    );
  });

  it('rejects a giant shape without allocating or reading beyond the file', async () => {
    const reads: number[] = [];
    const recorded = (bytes: Uint8Array): ByteSource => {
      const src = bytesSource('hostile.safetensors', bytes);
      const read = (offset: number, length: number) => {
        reads.push(length);
        return src.read(offset, length);
      };
      return { ...src, read };
    };
    // 2^40 f32 elements (4 TiB), with offsets that agree: only the file size can refute it.
    const consistent = rawFile({ w: entry('F32', [2 ** 20, 2 ** 20], 0, 2 ** 42) }, 16);
    await expect(openSafetensors(recorded(consistent))).rejects.toThrow(
      /its data ends at byte 4398046511104/,
    );
    // 2^60 elements: the byte count is past 2^53 and must not be rounded into something plausible.
    const overflowing = rawFile({ w: entry('F32', [2 ** 20, 2 ** 20, 2 ** 20], 0, 16) }, 16);
    await expect(openSafetensors(recorded(overflowing))).rejects.toThrow(
      /"w": shape \[1048576, 1048576, 1048576\] is too large/,
    );
    expect(Math.max(...reads)).toBeLessThanOrEqual(consistent.byteLength);
  });

  it('reports an unknown tensor name as missing', async () => {
    const st = await openSafetensors(bytesSource('m.safetensors', rawFile({})));
    await expect(st.read('wte.weight')).rejects.toThrow(
      expect.objectContaining({ kind: 'missing', message: 'm.safetensors: no tensor named "wte.weight"' }),
    );
  });
});

describe('encodeSafetensors', () => {
  it('pads the header with spaces to a multiple of 8 and writes tensors in the order given', () => {
    const bytes = encodeSafetensors([
      { name: 'z', dtype: 'F32', shape: [1], data: new Float32Array([1]) },
      { name: 'a', dtype: 'F16', shape: [2], data: new Float32Array([1, 2]) },
    ]);
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const text = new TextDecoder().decode(bytes.subarray(8, 8 + headerLength));
    expect(headerLength % 8).toBe(0);
    expect(text).toMatch(/^\{.*\} *$/);
    expect(JSON.parse(text)).toEqual({
      z: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
      a: { dtype: 'F16', shape: [2], data_offsets: [4, 8] },
    });
    expect(bytes.byteLength).toBe(8 + headerLength + 8);
  });

  it('refuses data that does not fit the shape, and duplicate names', () => {
    expect(() =>
      encodeSafetensors([{ name: 'w', dtype: 'F32', shape: [2, 2], data: new Float32Array(3) }]),
    ).toThrow('w: 3 values for shape [2, 2]');
    const w = { name: 'w', dtype: 'F32', shape: [1], data: new Float32Array(1) } as const;
    expect(() => encodeSafetensors([w, w])).toThrow('w: duplicate or reserved tensor name');
  });
});
