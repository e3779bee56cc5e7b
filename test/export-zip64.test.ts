// An npz past 4 GiB: a 4 GiB member (zip64 sizes) and one after it (a zip64 offset), read back by
// Python with numpy and zipfile alone. The big member is zeros, which the test's sink leaves as a
// hole in a sparse file, so the test needs little disk; the writer still streams, and checksums,
// every one of its 4 GiB.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { writeNpz } from '../src/io/export/npz-export';
import type { ByteSink, ExportTensor } from '../src/io/export/tensors';

const dir = mkdtempSync(join(tmpdir(), 'strata-zip64-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const reader = `
import json, sys, zipfile
import numpy as np
path = sys.argv[1]
z = zipfile.ZipFile(path)
info = {i.filename: [i.file_size, i.header_offset] for i in z.infolist()}
with z.open("big.npy") as f:  # reading it to the end checks its CRC-32
    version = np.lib.format.read_magic(f)
    shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
    n, nonzero = 0, 0
    while True:
        b = f.read(1 << 26)
        if not b:
            break
        n += len(b)
        nonzero += int(np.count_nonzero(np.frombuffer(b, np.uint8)[:: 1 << 12]))
with np.load(path) as npz:
    before, after = npz["before"].tolist(), npz["after"].tolist()
print(json.dumps({"info": info, "shape": list(shape), "dtype": dtype.str, "data": n, "nonzero": nonzero,
                  "before": before, "after": after}))
`;

it(
  'npz past 4 GiB: zip64 sizes and offsets, read by numpy.load and zipfile',
  { timeout: 300_000 },
  async () => {
    const zeros = new Float32Array(1 << 26); // 256 MiB, yielded 16 times: 4 GiB
    const tensors: ExportTensor[] = [
      { name: 'before', shape: [3], values: () => [new Float32Array([1, 2, 3])] },
      {
        name: 'big',
        shape: [1024, 1024, 1024],
        *values() {
          for (let i = 0; i < 16; i++) yield zeros;
        },
      },
      { name: 'after', shape: [2, 2], values: () => [new Float64Array([0.5, -1, 2 ** 100, 7])] },
    ];
    const path = join(dir, 'big.npz');
    const file = await open(path, 'w');
    let position = 0;
    const sparse: ByteSink = {
      async write(bytes) {
        // The big member's bytes are views of `zeros`: skip them, leaving a hole.
        if (bytes.buffer !== zeros.buffer) await file.write(bytes, 0, bytes.byteLength, position);
        position += bytes.byteLength;
      },
    };
    const written = await writeNpz(sparse, tensors);
    await file.truncate(position);
    await file.close();
    expect(statSync(path).size).toBe(written);
    expect(written).toBeGreaterThan(2 ** 32);

    const run = spawnSync('python3', ['-c', reader, path], { encoding: 'utf8', maxBuffer: 1 << 20 });
    expect(run.status, run.stderr).toBe(0);
    const r = JSON.parse(run.stdout) as {
      info: Record<string, [number, number]>;
      shape: number[];
      dtype: string;
      data: number;
      nonzero: number;
      before: number[];
      after: number[][];
    };
    expect(r.shape).toEqual([1024, 1024, 1024]);
    expect(r.dtype).toBe('<f4');
    expect(r.data).toBe(2 ** 32);
    expect(r.nonzero).toBe(0);
    expect(r.info['big.npy']![0]).toBe(2 ** 32 + 128); // past 0xFFFFFFFF: in the zip64 extra
    expect(r.info['after.npy']![1]).toBeGreaterThan(2 ** 32); // an offset past 4 GiB
    expect(r.before).toEqual([1, 2, 3]);
    expect(r.after).toEqual([
      [0.5, -1],
      [2 ** 100, 7],
    ]);
  },
);
