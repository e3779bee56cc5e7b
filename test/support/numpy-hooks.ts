// Runs tools/reference_numpy.py (an independent numpy forward) with every TransformerLens hook
// point, for the tests that check src/model/reference-hooks.ts and the exports against it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Ablation } from '../../src/model/ablation';
import { toFloat32 } from '../../src/model/dtype';
import type { Gpt2Weights, Tensor } from '../../src/model/types';

export interface NumpyHook {
  readonly shape: number[];
  readonly data: Float64Array;
}

/** Every weight tensor of `w`, in checkpoint order. */
export function allTensors(w: Gpt2Weights): Tensor[] {
  const out = [w.wte, w.wpe];
  for (const b of w.blocks) {
    out.push(b.ln1.weight, b.ln1.bias, b.cAttn.weight, b.cAttn.bias, b.attnProj.weight, b.attnProj.bias);
    out.push(b.ln2.weight, b.ln2.bias, b.fc.weight, b.fc.bias, b.mlpProj.weight, b.mlpProj.bias);
  }
  out.push(w.lnF.weight, w.lnF.bias);
  return out;
}

/**
 * Runs tools/reference_numpy.py on `w` (every weight as NAME.f32, config.json) in a temporary
 * folder, with its hook points when `hooks`; `read` takes what it wrote before the folder goes.
 */
export function runNumpyForward<T>(
  w: Gpt2Weights,
  tokens: readonly number[],
  ablate: Ablation | undefined,
  hooks: boolean,
  read: (dir: string) => T,
): T {
  const c = w.config;
  const dir = mkdtempSync(join(tmpdir(), 'strata-numpy-'));
  try {
    for (const t of allTensors(w)) {
      const f = toFloat32(t);
      // Canonical names: the loaded tensors of a prefixed checkpoint keep `transformer.` in t.name.
      const name = t.name.replace(/^transformer\./, '');
      writeFileSync(join(dir, `${name}.f32`), new Uint8Array(f.buffer, f.byteOffset, f.byteLength));
    }
    const config = {
      n_layer: c.nLayer,
      n_head: c.nHead,
      n_embd: c.nEmbd,
      n_ctx: c.nCtx,
      vocab_size: c.vocabSize,
      n_inner: c.nInner,
      layer_norm_epsilon: c.layerNormEpsilon,
      tokens,
      ablate: ablate
        ? { heads: ablate.heads.map((h) => [h.layer, h.head]), mlps: ablate.mlps ?? [], mode: ablate.mode }
        : null,
      hooks,
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const run = spawnSync('python3', ['tools/reference_numpy.py', dir], { encoding: 'utf8' });
    if (run.error) throw run.error;
    if (run.status !== 0) throw new Error(`reference_numpy.py failed (${run.status}): ${run.stderr}`);
    return read(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A file reference_numpy.py wrote: raw little-endian f64. */
export function readF64(dir: string, file: string): Float64Array {
  const b = readFileSync(join(dir, file));
  return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** Every hook of the numpy forward, name → [shape, f64 values], in the order numpy produced them. */
export function numpyHooks(
  w: Gpt2Weights,
  tokens: readonly number[],
  ablate?: Ablation,
): Map<string, NumpyHook> {
  return runNumpyForward(w, tokens, ablate, true, (dir) => {
    const manifest = JSON.parse(readFileSync(join(dir, 'hooks.json'), 'utf8')) as [string, number[]][];
    const out = new Map<string, NumpyHook>();
    for (const [name, shape] of manifest) out.set(name, { shape, data: readF64(dir, `hook.${name}.f64`) });
    return out;
  });
}

/**
 * max |actual − expected| ≤ rel · max |expected| over the finite expected values; where expected
 * is ±Infinity (masked attention scores) actual must be the same infinity. NaN anywhere fails.
 */
export function expectCloseHook(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  what: string,
  rel: number,
): void {
  if (actual.length !== expected.length) {
    throw new Error(`${what}: ${actual.length} values, expected ${expected.length}`);
  }
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    if (Number.isFinite(expected[i]!)) scale = Math.max(scale, Math.abs(expected[i]!));
  }
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(a) || Number.isNaN(e))
      throw new Error(`${what}: NaN at ${i} (actual ${a}, expected ${e})`);
    if (!Number.isFinite(e) || !Number.isFinite(a)) {
      if (a !== e) throw new Error(`${what}: element ${i} is ${a}, expected ${e}`);
      continue;
    }
    const d = Math.abs(a - e);
    if (d > worst) [worst, at] = [d, i];
  }
  if (!(worst <= rel * scale)) throw new Error(`${what}: |diff| ${worst} at ${at} exceeds ${rel} × ${scale}`);
}
