// The exports, read back by an independent reader: Python with numpy alone (test/support/
// read_export.py parses the safetensors header with struct and json and checks it against the
// format's rules; the npz goes through numpy.load and zipfile's CRC check). Every hook of the CPU
// reference, F32 exactly and F16 exactly as rounded; the README's snippet, run as it is; the
// streaming (one tensor at a time); and the bad inputs of the writers.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomically } from '../src/cli/export-file';
import {
  cacheTensors,
  exportMetadata,
  writeCapture,
  type CaptureDescription,
  type ExportFormat,
} from '../src/io/export/capture-export';
import { writeNpz } from '../src/io/export/npz-export';
import { writeSafetensors } from '../src/io/export/safetensors-export';
import { blobSink, streamSink } from '../src/io/export/sinks';
import type { ByteSink, ExportDType, ExportTensor } from '../src/io/export/tensors';
import { f16ToF32, f32ToF16 } from '../src/model/dtype';
import { gpt2Config } from '../src/model/fixtures';
import { allHookNames } from '../src/model/hook-names';
import { runWithCache } from '../src/model/reference-hooks';
import { readWithPython } from './support/python-reader';
import { randomTokens, sharpWeights } from './support/tiny-models';
import { useTempDir } from './support/temp-dir';

const config = gpt2Config({ nLayer: 2, nHead: 4, nEmbd: 32, nCtx: 16, vocabSize: 97, nInner: 80 });
const tokens = randomTokens(7, config.vocabSize, 2);
const cache = runWithCache(sharpWeights(config, 3), tokens, allHookNames(config.nLayer), { logits: 'all' });
const description: CaptureDescription = {
  model: 'tiny-random',
  prompt: 'Ünïcode “quotes”, a \\ backslash and 🙂',
  tokens,
  logits: 'all',
};

const dir = useTempDir('strata-exports-');

const formats: ExportFormat[] = ['safetensors', 'npz'];
const file = (name: string) => join(dir, name);

async function exportTo(path: string, format: ExportFormat, dtype: ExportDType = 'F32'): Promise<number> {
  return writeFileAtomically(path, (sink) =>
    writeCapture(format, cacheTensors(cache), sink, { dtype, description }),
  );
}

describe.each(formats)('%s', (format) => {
  for (const dtype of ['F32', 'F16'] as const) {
    it(`${dtype}: every hook read back by numpy with its name, shape and exact value`, async () => {
      const path = file(`all-${dtype}.${format}`);
      const bytes = await exportTo(path, format, dtype);
      expect(statSync(path).size).toBe(bytes);
      expect(existsSync(`${path}.part`)).toBe(false);
      const back = readWithPython(path);
      expect(back.names).toEqual([...cache.keys()]);
      expect(back.metadata).toEqual(exportMetadata(description, dtype));
      expect(JSON.parse(back.metadata.tokens!)).toEqual(tokens);
      for (const [name, t] of cache) {
        expect(back.shapes[name], name).toEqual(t.shape);
        expect(back.dtypes[name], name).toBe(dtype === 'F32' ? '<f4' : '<f2');
        const expected =
          dtype === 'F32'
            ? Float64Array.from(t.data)
            : Float64Array.from(t.data, (x) => f16ToF32(f32ToF16(x)));
        expect(back.values.get(name), name).toEqual(expected);
      }
      // The masked attention scores are -Infinity in the file too (TransformerLens's IGNORE).
      expect(back.values.get('blocks.0.attn.hook_attn_scores')![1]).toBe(-Infinity);
      if (format === 'safetensors') expect(back.header_length! % 8).toBe(0);
    });
  }

  it("the README's snippet (docs/python-snippet.py, run as it is) prints a head's pattern", async () => {
    const path = file(`snippet.${format}`);
    await exportTo(path, format);
    const run = spawnSync('python3', ['docs/python-snippet.py', path, '1', '2'], { encoding: 'utf8' });
    expect(run.status, run.stderr).toBe(0);
    const printed = (run.stdout.match(/-?\d+(\.\d*)?(e[-+]?\d+)?/g) ?? []).map(Number);
    const T = tokens.length;
    const pattern = cache.get('blocks.1.attn.hook_pattern')!.data.subarray(2 * T * T, 3 * T * T);
    expect(printed.length).toBe(T * T);
    printed.forEach((v, i) => expect(Math.abs(v - pattern[i]!), `element ${i}`).toBeLessThanOrEqual(5e-5));
    expect(Math.max(...pattern.filter((_, i) => i % T < Math.floor(i / T)))).toBeGreaterThan(0.05);
  });
});

describe('streaming', () => {
  /** Three tensors of 1.5 Mi values each (F32 and F64 pieces), logging when each is pulled. */
  function loggedTensors(log: string[], written: () => number): ExportTensor[] {
    const n = 3 << 19;
    const piece = 1 << 18;
    const make = (name: string, kind: 'f32' | 'f64'): ExportTensor => ({
      name,
      shape: [3, n / 3],
      async *values() {
        log.push(`pull ${name} at ${written()}`);
        for (let from = 0; from < n; from += piece) {
          const a = kind === 'f32' ? new Float32Array(piece) : new Float64Array(piece);
          for (let i = 0; i < piece; i++) a[i] = Math.sin(from + i + name.length);
          yield a;
        }
      },
    });
    return [make('a', 'f32'), make('bb', 'f64'), make('ccc', 'f32')];
  }

  for (const format of formats) {
    it(`${format}: each tensor is pulled once the previous is on disk, in writes of at most 4 MiB`, async () => {
      const log: string[] = [];
      let written = 0;
      let largest = 0;
      const path = file(`stream.${format}`);
      const tensors = loggedTensors(log, () => written);
      await writeFileAtomically(path, (sink) => {
        const counting: ByteSink = {
          async write(bytes) {
            await sink.write(bytes);
            written += bytes.byteLength;
            largest = Math.max(largest, bytes.byteLength);
          },
        };
        return format === 'npz' ? writeNpz(counting, tensors) : writeSafetensors(counting, tensors);
      });
      const each = (3 << 19) * 4;
      const pulls = log.map((l) => Number(l.split(' at ')[1]));
      expect(log.map((l) => l.split(' at ')[0])).toEqual(['pull a', 'pull bb', 'pull ccc']);
      // At most the 1 MiB write buffer of headers and tails is held back when the next one is pulled.
      expect(pulls[1]).toBeGreaterThanOrEqual(each - (1 << 20));
      expect(pulls[2]).toBeGreaterThanOrEqual(2 * each - (1 << 20));
      expect(largest).toBeLessThanOrEqual(4 << 20);
      const back = readWithPython(path);
      expect(back.names).toEqual(['a', 'bb', 'ccc']);
      const bb = back.values.get('bb')!;
      for (const i of [0, 1, 262143, 262144, bb.length - 1]) expect(bb[i]).toBe(Math.fround(Math.sin(i + 2)));
    });
  }

  it('npz with zip64 records throughout is read by numpy.load', async () => {
    const path = file('zip64.npz');
    await writeFileAtomically(path, (sink) =>
      writeNpz(sink, cacheTensors(cache), { forceZip64: true, metadata: exportMetadata(description, 'F32') }),
    );
    const bytes = readFileSync(path);
    expect(bytes.includes(Buffer.from([0x50, 0x4b, 0x06, 0x06]))).toBe(true); // the zip64 end record
    const back = readWithPython(path);
    expect(back.names).toEqual([...cache.keys()]);
    for (const [name, t] of cache) expect(back.values.get(name), name).toEqual(Float64Array.from(t.data));
  });
});

describe("the studio's sinks", () => {
  for (const format of formats) {
    it(`${format}: a Blob and a WritableStream get the same bytes as the file`, async () => {
      const path = file(`sinks.${format}`);
      await exportTo(path, format);
      const onDisk = new Uint8Array(readFileSync(path));
      const blob = blobSink();
      await writeCapture(format, cacheTensors(cache), blob, { description });
      expect(new Uint8Array(await blob.blob().arrayBuffer())).toEqual(onDisk);
      const chunks: Uint8Array[] = [];
      const stream = streamSink(new WritableStream({ write: (c) => void chunks.push(c) }));
      await writeCapture(format, cacheTensors(cache), stream, { description });
      await stream.close();
      expect(new Uint8Array(Buffer.concat(chunks))).toEqual(onDisk);
    });
  }

  it('a failed export aborts the stream', async () => {
    let aborted: unknown;
    const stream = streamSink(new WritableStream({ abort: (r) => void (aborted = r) }));
    const failing: ExportTensor = {
      name: 'x',
      shape: [1],
      values() {
        throw new Error('the GPU readback failed');
      },
    };
    const error = await writeNpz(stream, [failing]).catch((e: unknown) => e);
    await stream.abort(error);
    expect(String(aborted)).toContain('the GPU readback failed');
  });
});

describe('the independent reader can fail', () => {
  it('refuses safetensors headers that break the rules', async () => {
    const path = file('rules.safetensors');
    await exportTo(path, 'safetensors');
    const good = readFileSync(path);
    const n = Number(good.readBigUInt64LE(0));
    const broken = (name: string, edit: (b: Buffer) => void) => {
      const b = Buffer.from(good);
      edit(b);
      writeFileSync(file(name), b);
      return () => readWithPython(file(name));
    };
    expect(broken('nul.safetensors', (b) => (b[8 + n - 1] = 0))).toThrow(
      "the header's padding is not spaces",
    );
    // A file with its header replaced: JSON, padded with spaces to a multiple of 8.
    const withHeader = (name: string, edit: (h: Record<string, { data_offsets: number[] }>) => void) => {
      const header = JSON.parse(good.subarray(8, 8 + n).toString('utf8')) as Record<
        string,
        { data_offsets: number[] }
      >;
      edit(header);
      const json = Buffer.from(JSON.stringify(header));
      const padded = Buffer.alloc(Math.ceil(json.length / 8) * 8, ' ');
      json.copy(padded);
      const length = Buffer.alloc(8);
      length.writeBigUInt64LE(BigInt(padded.length));
      writeFileSync(file(name), Buffer.concat([length, padded, good.subarray(8 + n)]));
      return () => readWithPython(file(name));
    };
    const last = (h: Record<string, { data_offsets: number[] }>) =>
      Object.values(h).reduce((a, b) => ((b.data_offsets?.[0] ?? -1) > (a.data_offsets?.[0] ?? -1) ? b : a));
    expect(
      withHeader('gap.safetensors', (h) => (last(h).data_offsets = last(h).data_offsets.map((o) => o + 4))),
    ).toThrow('a gap or an overlap');
    expect(withHeader('size.safetensors', (h) => (last(h).data_offsets[1]! -= 4))).toThrow(
      'do not hold shape',
    );
    expect(
      withHeader(
        'meta.safetensors',
        (h) => ((h.__metadata__ as unknown as Record<string, unknown>).tokens = [1]),
      ),
    ).toThrow('__metadata__ is not a map of strings to strings');
    expect(broken('odd.safetensors', (b) => void b.writeBigUInt64LE(BigInt(n - 1), 0))).toThrow(
      'not a multiple of 8',
    );
    expect(withHeader('ok.safetensors', () => undefined)).not.toThrow();
  });
});

describe('bad input', () => {
  const one = (name: string, shape: number[], values: Float32Array): ExportTensor => ({
    name,
    shape,
    values: () => [values],
  });

  it('--out in a missing folder: a clear error, and nothing created', async () => {
    const path = join(dir, 'no', 'such', 'capture.npz');
    await expect(exportTo(path, 'npz')).rejects.toThrow(
      `cannot write ${path}: the folder ${join(dir, 'no', 'such')} does not exist`,
    );
    expect(existsSync(join(dir, 'no'))).toBe(false);
    await expect(exportTo(dir, 'npz')).rejects.toThrow(`cannot write ${dir}: it is a folder`);
    writeFileSync(file('plain-file'), 'x');
    await expect(exportTo(join(dir, 'plain-file', 'x.npz'), 'npz')).rejects.toThrow(
      'plain-file is not a folder',
    );
  });

  for (const format of formats) {
    it(`${format}: a full disk (RLIMIT_FSIZE) is a clear error; no half file, the previous file untouched`, () => {
      const path = file(`full.${format}`);
      writeFileSync(path, 'the previous capture');
      const child = (limit?: number) => {
        const cmd = [process.execPath, '--import', 'tsx', 'test/support/export-child.ts', path, format];
        return limit === undefined
          ? spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' })
          : spawnSync('prlimit', [`--fsize=${limit}`, ...cmd], { encoding: 'utf8' });
      };
      const full = child(20000);
      expect(full.status, full.stderr).toBe(1);
      expect(full.stderr).toContain(
        `cannot write ${path}: the file size limit was reached (after 20000 bytes; see ulimit -f); ${path} was not created or changed`,
      );
      expect(readFileSync(path, 'utf8')).toBe('the previous capture');
      expect(existsSync(`${path}.part`)).toBe(false);
      // Without the limit the same export is written, and is larger than the limit.
      const ok = child();
      expect(ok.status, ok.stderr).toBe(0);
      expect(statSync(path).size).toBeGreaterThan(20000);
      expect(readWithPython(path).names).toEqual(allHookNames(config.nLayer));
    });
  }

  it('a tensor whose values fail or miscount: the error as it is, no half file', async () => {
    const path = file('failing.safetensors');
    const failing: ExportTensor = {
      name: 'blocks.0.hook_z',
      shape: [2, 3],
      *values() {
        yield new Float32Array(3);
        throw new Error('the GPU readback failed');
      },
    };
    await expect(writeFileAtomically(path, (s) => writeSafetensors(s, [failing]))).rejects.toThrow(
      'the GPU readback failed',
    );
    expect(existsSync(path) || existsSync(`${path}.part`)).toBe(false);
    for (const write of [writeSafetensors, writeNpz]) {
      const sink: ByteSink = { write: async () => undefined };
      await expect(write(sink, [one('blocks.0.hook_z', [2, 3], new Float32Array(5))])).rejects.toThrow(
        'blocks.0.hook_z: 5 values for shape [2, 3] (6)',
      );
      await expect(write(sink, [one('x', [2], new Float32Array(3))])).rejects.toThrow(
        'x: more than 3 values for shape [2] (2)',
      );
      await expect(
        write(sink, [one('x', [1], new Float32Array(1)), one('x', [1], new Float32Array(1))]),
      ).rejects.toThrow('two tensors are named "x"');
      await expect(write(sink, [one('x', [-1], new Float32Array(0))])).rejects.toThrow(
        'x: shape [-1] is not a shape',
      );
      const metadata = { tokens: [1, 2] } as unknown as Record<string, string>;
      await expect(write(sink, [], { metadata })).rejects.toThrow('metadata "tokens" is a object');
    }
  });
});
