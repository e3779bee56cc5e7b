// A GPT-2 checkpoint: a safetensors file checked against its config.json. Resolves the naming
// variants found on the hub (GPT2.md): a `transformer.` prefix on every name or on none, an
// optional `lm_head.weight` (tied to wte, so only its shape is checked), and the attention mask
// buffers `h.{i}.attn.bias` / `h.{i}.attn.masked_bias` of old PyTorch exports, which are skipped.
// Every tensor is addressed by its canonical name (no prefix), e.g. `h.3.attn.c_attn.weight`.

import { ModelError } from './errors';
import type { SafetensorsEntry, SafetensorsFile } from './safetensors';
import type { DType, Gpt2Config, Gpt2Weights, LinearWeights, Tensor } from './types';

export interface Gpt2Checkpoint {
  readonly config: Gpt2Config;
  /** The safetensors file's name. */
  readonly file: string;
  /** The dtype holding most of the weight bytes; single tensors may differ (see Tensor.dtype). */
  readonly dtype: DType;
  /** Bytes of the weights that are loaded (skipped buffers and lm_head excluded). */
  readonly totalBytes: number;
  /** Canonical names in load order: wte, wpe, h.0.ln_1.weight, …, h.{L-1}.mlp.c_proj.bias, ln_f. */
  tensorNames(): string[];
  /** One tensor with its canonical name, for streaming the weights one at a time. */
  read(name: string): Promise<Tensor>;
  /** Every weight in memory. */
  loadWeights(): Promise<Gpt2Weights>;
}

const prefix = 'transformer.';
const lmHead = 'lm_head.weight';
const layerName = /^h\.(\d+)\./;
const maskBuffer = /^h\.\d+\.attn\.(bias|masked_bias)$/;

export function openGpt2Checkpoint(
  config: Gpt2Config,
  file: SafetensorsFile,
  configFile = 'config.json',
): Gpt2Checkpoint {
  const fail = (kind: 'corrupt' | 'unsupported' | 'missing' | 'shape', problem: string) =>
    new ModelError(kind, file.name, problem);
  // Before anything proportional to n_layer is built: a config with more layers than the file
  // holds is reported with the first layer that is absent, not by listing a billion names.
  let layersInFile = 0;
  for (const name of file.entries.keys()) {
    const layer = layerName.exec(name.startsWith(prefix) ? name.slice(prefix.length) : name)?.[1];
    if (layer !== undefined) layersInFile = Math.max(layersInFile, Number(layer) + 1);
  }
  if (config.nLayer > layersInFile) {
    throw fail(
      'missing',
      `tensor h.${layersInFile}.ln_1.weight is missing (expected for n_layer=${config.nLayer} in ${configFile}, ` +
        `but the checkpoint has ${layersInFile} layer${layersInFile === 1 ? '' : 's'})`,
    );
  }
  const expected = expectedShapes(config);
  const dims =
    `${configFile} (n_layer=${config.nLayer}, n_embd=${config.nEmbd}, n_inner=${config.nInner}, ` +
    `n_positions=${config.nCtx}, vocab_size=${config.vocabSize})`;
  const checkShape = (name: string, found: readonly number[], want: readonly number[]) => {
    if (found.length !== want.length || found.some((d, i) => d !== want[i])) {
      throw fail('shape', `${name} has shape [${found.join(', ')}] but ${dims} implies [${want.join(', ')}]`);
    }
  };

  // lm_head.weight never carries the prefix, so it says nothing about the file's convention.
  const names = [...file.entries.keys()];
  const prefixed = names.find((n) => n.startsWith(prefix));
  const bare = names.find((n) => !n.startsWith(prefix) && n !== lmHead);
  if (prefixed !== undefined && bare !== undefined) {
    throw fail('corrupt', `mixes names with and without the "${prefix}" prefix ("${prefixed}", "${bare}")`);
  }

  const found = new Map<string, [string, SafetensorsEntry]>(); // canonical → name and entry in the file
  for (const [name, entry] of file.entries) {
    const canonical = prefixed !== undefined && name !== lmHead ? name.slice(prefix.length) : name;
    const layer = layerName.exec(canonical)?.[1];
    if (layer !== undefined && Number(layer) >= config.nLayer) {
      throw fail(
        'shape',
        `${name} belongs to layer ${layer} but ${configFile} has n_layer=${config.nLayer}: the config and the checkpoint disagree on n_layer`,
      );
    }
    if (maskBuffer.test(canonical)) continue;
    if (canonical === lmHead) {
      checkShape(name, entry.shape, [config.vocabSize, config.nEmbd]);
      continue;
    }
    const want = expected.get(canonical);
    if (!want) throw fail('unsupported', `unexpected tensor "${name}": not part of a GPT-2 checkpoint`);
    checkShape(name, entry.shape, want);
    found.set(canonical, [name, entry]);
  }
  const bytesByDType = new Map<DType, number>();
  for (const name of expected.keys()) {
    const entry = found.get(name)?.[1];
    if (!entry) {
      const why = layerName.test(name)
        ? `expected for n_layer=${config.nLayer} in ${configFile}`
        : 'required';
      throw fail('missing', `tensor ${name} is missing (${why})`);
    }
    bytesByDType.set(entry.dtype, (bytesByDType.get(entry.dtype) ?? 0) + entry.byteLength);
  }
  const byBytes = [...bytesByDType].sort((a, b) => b[1] - a[1]);

  const read = async (name: string): Promise<Tensor> => {
    const inFile = found.get(name)?.[0];
    if (inFile === undefined) throw fail('missing', `no GPT-2 weight named "${name}"`);
    const tensor = await file.read(inFile);
    // Checked as each tensor streams past: WGSL may assume finite values, and a NaN weight would
    // otherwise come out as silent NaN logits.
    const bad = countNonFinite(tensor);
    if (bad > 0) {
      throw fail(
        'corrupt',
        `tensor ${inFile} has ${bad} non-finite value${bad === 1 ? '' : 's'} (NaN or ±Inf) among ${tensor.data.length}`,
      );
    }
    return { ...tensor, name };
  };

  return {
    config,
    file: file.name,
    dtype: byBytes[0]![0],
    totalBytes: byBytes.reduce((n, [, bytes]) => n + bytes, 0),
    tensorNames: () => [...expected.keys()],
    read,
    async loadWeights() {
      // Sequential reads, in tensorNames() order: one range request at a time for remote sources.
      const pair = async (p: string): Promise<LinearWeights> => ({
        weight: await read(`${p}.weight`),
        bias: await read(`${p}.bias`),
      });
      const wte = await read('wte.weight');
      const wpe = await read('wpe.weight');
      const blocks = [];
      for (let i = 0; i < config.nLayer; i++) {
        blocks.push({
          ln1: await pair(`h.${i}.ln_1`),
          cAttn: await pair(`h.${i}.attn.c_attn`),
          attnProj: await pair(`h.${i}.attn.c_proj`),
          ln2: await pair(`h.${i}.ln_2`),
          fc: await pair(`h.${i}.mlp.c_fc`),
          mlpProj: await pair(`h.${i}.mlp.c_proj`),
        });
      }
      return { config, wte, wpe, blocks, lnF: await pair('ln_f') };
    },
  };
}

/** NaN and ±Inf in a tensor, tested on the bits (an all-ones exponent) of its dtype. */
export function countNonFinite(tensor: Pick<Tensor, 'dtype' | 'data'>): number {
  const { dtype, data } = tensor;
  let bad = 0;
  if (dtype === 'F32') {
    // x · 0 is 0 for every finite x and NaN for NaN and ±Inf: a chunk whose sum of those is 0 is
    // clean (2.5× faster than testing each value's bits); only a dirty chunk is counted.
    const values = data as Float32Array;
    const chunk = 4096;
    for (let start = 0; start < values.length; start += chunk) {
      const end = Math.min(values.length, start + chunk);
      let zero = 0;
      for (let i = start; i < end; i++) zero += values[i]! * 0;
      if (zero === 0) continue;
      for (let i = start; i < end; i++) if (!Number.isFinite(values[i]!)) bad++;
    }
    return bad;
  }
  const mask = dtype === 'F16' ? 0x7c00 : 0x7f80;
  for (let i = 0; i < data.length; i++) if ((data[i]! & mask) === mask) bad++;
  return bad;
}

/** Canonical names in load order → the shape the config implies. Conv1D weights are [in, out]. */
function expectedShapes(c: Gpt2Config): Map<string, number[]> {
  const { vocabSize: v, nCtx: n, nEmbd: d, nInner: f } = c;
  const shapes = new Map<string, number[]>([
    ['wte.weight', [v, d]],
    ['wpe.weight', [n, d]],
  ]);
  for (let i = 0; i < c.nLayer; i++) {
    const layer: [string, number[]][] = [
      ['ln_1.weight', [d]],
      ['ln_1.bias', [d]],
      ['attn.c_attn.weight', [d, 3 * d]],
      ['attn.c_attn.bias', [3 * d]],
      ['attn.c_proj.weight', [d, d]],
      ['attn.c_proj.bias', [d]],
      ['ln_2.weight', [d]],
      ['ln_2.bias', [d]],
      ['mlp.c_fc.weight', [d, f]],
      ['mlp.c_fc.bias', [f]],
      ['mlp.c_proj.weight', [f, d]],
      ['mlp.c_proj.bias', [d]],
    ];
    for (const [name, shape] of layer) shapes.set(`h.${i}.${name}`, shape);
  }
  shapes.set('ln_f.weight', [d]);
  shapes.set('ln_f.bias', [d]);
  return shapes;
}
