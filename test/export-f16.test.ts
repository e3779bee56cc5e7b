// The exports' fast f32 → f16 conversion gives exactly model/dtype.ts's f32ToF16 (round to nearest
// even): on every f16 value, every tie between neighbours and the f32 values either side of it, and
// a million random bit patterns (NaNs, infinities and subnormals among them).
import { expect, it } from 'vitest';
import { toF16Bits } from '../src/io/export/tensors';
import { f16ToF32, f32ToF16 } from '../src/model/dtype';

function expectSame(values: Float32Array): void {
  const fast = toF16Bits(values);
  const wrong: string[] = [];
  for (let i = 0; i < values.length && wrong.length < 5; i++) {
    const want = f32ToF16(values[i]!);
    if (fast[i] !== want) wrong.push(`${values[i]}: ${fast[i]!.toString(16)}, f32ToF16 ${want.toString(16)}`);
  }
  expect(wrong).toEqual([]);
}

it('agrees with f32ToF16 on every f16 value, every tie and its f32 neighbours', () => {
  const values: number[] = [];
  const bits = new Uint32Array(1);
  const f = new Float32Array(bits.buffer);
  for (let h = 0; h < 0x10000; h++) {
    const a = f16ToF32(h);
    const b = f16ToF32(h + 1 === 0x10000 ? h : h + 1);
    values.push(a);
    if (!Number.isFinite(a) || !Number.isFinite(b) || Math.sign(a) !== Math.sign(b)) continue;
    f[0] = (a + b) / 2; // the tie, exact in f32
    values.push(f[0]!);
    const tie = bits[0]!;
    for (const d of [-1, 1]) {
      bits[0] = tie + d;
      values.push(f[0]!);
    }
  }
  values.push(65504, 65519.99, 65520, 65536, 1e9, -1e9, Infinity, -Infinity, NaN, 0, -0, 2 ** -25, 2 ** -24);
  expectSame(new Float32Array(values));
});

it('agrees with f32ToF16 on a million random bit patterns', () => {
  const u = new Uint32Array(1 << 20);
  let s = 12345;
  for (let i = 0; i < u.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    u[i] = s;
  }
  expectSame(new Float32Array(u.buffer));
});
