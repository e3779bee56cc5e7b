import { describe, expect, it } from 'vitest';
import { bf16ToF32, dtypeBytes, f16ToF32, f32ToBf16, f32ToF16, toFloat32 } from '../src/model/dtype';

// f32 bit helpers, independent of the code under test.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function fromBits(bits: number): number {
  u32[0] = bits;
  return f32[0]!;
}
function bitsOf(x: number): number {
  f32[0] = x;
  return u32[0]!;
}
/** The f32 neighbours of a positive finite x. */
const nextUp = (x: number) => fromBits(bitsOf(x) + 1);
const nextDown = (x: number) => fromBits(bitsOf(x) - 1);

/** A 16-bit float format's decoder and encoder (f16, bf16). */
type Decode = (bits: number) => number;
type Encode = (x: number) => number;

/** Every bit pattern decodes and encodes back to itself (a NaN to a NaN). */
function expectRoundTrips(decode: Decode, encode: Encode): void {
  for (let h = 0; h < 0x10000; h++) {
    const x = decode(h);
    if (Number.isNaN(x)) expect(Number.isNaN(decode(encode(x)))).toBe(true);
    else if (encode(x) !== h) expect.fail(`0x${h.toString(16)} → ${x} → 0x${encode(x).toString(16)}`);
  }
}

/**
 * Between every pair of neighbouring positive finite values (up to `largest`): the tie goes to the
 * even pattern, its f32 neighbours to the nearer value; with `negative`, the negated tie to the
 * negated even pattern.
 */
function expectTiesToEven(decode: Decode, encode: Encode, largest: number, negative: boolean): void {
  for (let h = 0; h < largest; h++) {
    const lo = decode(h);
    const hi = decode(h + 1);
    const tie = (lo + hi) / 2;
    const even = h % 2 === 0 ? h : h + 1;
    if (encode(tie) !== even) expect.fail(`tie ${tie} → 0x${encode(tie).toString(16)}`);
    if (encode(nextDown(tie)) !== h || encode(nextUp(tie)) !== h + 1) expect.fail(`around ${tie}`);
    if (negative && encode(-tie) !== (even | 0x8000)) expect.fail(`tie ${-tie}`);
  }
}

describe('f16', () => {
  it('decodes known bit patterns', () => {
    expect(f16ToF32(0x3c00)).toBe(1);
    expect(f16ToF32(0xc000)).toBe(-2);
    expect(f16ToF32(0x3555)).toBe(0.333251953125);
    expect(f16ToF32(0x7bff)).toBe(65504);
    expect(f16ToF32(0x0400)).toBe(2 ** -14); // smallest normal
    expect(f16ToF32(0x03ff)).toBe(1023 * 2 ** -24); // largest subnormal
    expect(f16ToF32(0x0001)).toBe(2 ** -24); // smallest subnormal
    expect(Object.is(f16ToF32(0x8000), -0)).toBe(true);
    expect(f16ToF32(0x7c00)).toBe(Infinity);
    expect(f16ToF32(0xfc00)).toBe(-Infinity);
    expect(f16ToF32(0x7e00)).toBeNaN();
  });

  it('round-trips every bit pattern', () => expectRoundTrips(f16ToF32, f32ToF16));

  it('rounds to nearest, ties to even, between every pair of neighbours', () => {
    // Every f16 tie point has 12 significant bits, so it is exact in f32; its f32 neighbours are
    // just off the tie and must go to the nearer f16 value. Negative ties too.
    expectTiesToEven(f16ToF32, f32ToF16, 0x7bff, true);
  });

  it('flushes values below half the smallest subnormal to zero, keeping the sign', () => {
    expect(f32ToF16(2 ** -25)).toBe(0); // the tie between 0 and 2^-24 goes to even 0
    expect(f32ToF16(nextUp(2 ** -25))).toBe(1);
    expect(f32ToF16(2 ** -30)).toBe(0);
    expect(f32ToF16(-(2 ** -30))).toBe(0x8000);
    expect(f32ToF16(fromBits(1))).toBe(0); // the smallest f32 subnormal
  });

  it('overflows to infinity past the largest finite value and keeps NaN', () => {
    expect(f32ToF16(65519.99)).toBe(0x7bff);
    expect(f32ToF16(65520)).toBe(0x7c00); // the tie above 65504 rounds to the even "next", infinity
    expect(f32ToF16(1e10)).toBe(0x7c00);
    expect(f32ToF16(-1e10)).toBe(0xfc00);
    expect(f32ToF16(Infinity)).toBe(0x7c00);
    expect(f32ToF16(-Infinity)).toBe(0xfc00);
    expect(Number.isNaN(f16ToF32(f32ToF16(NaN)))).toBe(true);
  });
});

describe('bf16', () => {
  it('decodes known bit patterns', () => {
    expect(bf16ToF32(0x3f80)).toBe(1);
    expect(bf16ToF32(0xc000)).toBe(-2);
    expect(bf16ToF32(0x3eab)).toBe(0.333984375);
    expect(bf16ToF32(0x7f7f)).toBe(3.3895313892515355e38); // largest finite
    expect(bf16ToF32(0x0001)).toBe(2 ** -133); // smallest subnormal
    expect(bf16ToF32(0x7f80)).toBe(Infinity);
    expect(bf16ToF32(0x7fc0)).toBeNaN();
  });

  it('round-trips every bit pattern', () => expectRoundTrips(bf16ToF32, f32ToBf16));

  it('rounds to nearest, ties to even, subnormals included', () => {
    expectTiesToEven(bf16ToF32, f32ToBf16, 0x7f7f, false);
  });

  it('overflows to infinity and never rounds a NaN into infinity', () => {
    expect(f32ToBf16(3.4e38)).toBe(0x7f80);
    expect(f32ToBf16(-Infinity)).toBe(0xff80);
    expect(bf16ToF32(f32ToBf16(fromBits(0x7f800001)))).toBeNaN(); // a NaN whose low bits would carry
    expect(bf16ToF32(f32ToBf16(fromBits(0xffffffff)))).toBeNaN();
  });
});

describe('toFloat32', () => {
  it('returns F32 data as is and decodes F16 and BF16', () => {
    const data = new Float32Array([1, -2]);
    expect(toFloat32({ name: 'a', dtype: 'F32', shape: [2], data })).toBe(data);
    const half = toFloat32({
      name: 'b',
      dtype: 'F16',
      shape: [3],
      data: new Uint16Array([0x3c00, 0xc000, 0x0001]),
    });
    expect([...half]).toEqual([1, -2, 2 ** -24]);
    const brain = toFloat32({
      name: 'c',
      dtype: 'BF16',
      shape: [2],
      data: new Uint16Array([0x3f80, 0x3eab]),
    });
    expect([...brain]).toEqual([1, 0.333984375]);
  });

  it('knows the element sizes', () => {
    expect(dtypeBytes).toEqual({ F32: 4, F16: 2, BF16: 2 });
  });
});
