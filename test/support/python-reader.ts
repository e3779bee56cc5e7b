// Reads an export back with test/support/read_export.py (Python, numpy alone): the independent
// reader of the export tests.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ReadBack {
  readonly format: 'safetensors' | 'npz';
  /** Tensor names in file order. */
  readonly names: string[];
  readonly shapes: Record<string, number[]>;
  /** numpy's dtype strings: '<f4', '<f2'. */
  readonly dtypes: Record<string, string>;
  readonly metadata: Record<string, string>;
  /** safetensors only: the header length N. */
  readonly header_length?: number;
  readonly values: Map<string, Float64Array>;
}

/** The export read by Python; throws the reader's message if a rule of the format is broken. */
export function readWithPython(file: string): ReadBack {
  const out = mkdtempSync(join(tmpdir(), 'strata-read-export-'));
  try {
    const run = spawnSync('python3', ['test/support/read_export.py', file, out], { encoding: 'utf8' });
    if (run.error) throw run.error;
    if (run.status !== 0) throw new Error(run.stderr.trim());
    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as Omit<ReadBack, 'values'>;
    const values = new Map<string, Float64Array>();
    for (const name of manifest.names) {
      const b = readFileSync(join(out, `${name}.f64`));
      values.set(name, new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
    }
    return { ...manifest, values };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
