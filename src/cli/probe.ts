// npm run probe -- --model <folder or hub id> --dataset <shipped id | file.json | file.csv>
//                  [--no-bos] [--seed N] [--train-fraction F] [--out FILE]
//
// The studio's linear probes for scripts: the residual stream at each example's target word is
// captured at every depth on the same engine (WebGPU through Dawn), one logistic regression per
// depth is fitted on a seeded stratified split, and the accuracies are printed as a table (and
// written as JSON with --out). Same data, capture and fit code as the probes panel.

import { readFile, stat, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Engine } from '../engine/engine';
import { captureProbeFeatures, probePoints } from '../instruments/probe-capture';
import {
  parseDatasetFile,
  parseDatasetJson,
  prepareProbeInputs,
  ProbeDataError,
  shippedDatasets,
  type ProbeDataset,
} from '../instruments/probe-data';
import { fitProbes } from '../instruments/probe-fit';
import { readableDepth, readableShare } from '../instruments/probe-readable';
import { hookName } from '../model/hooks';
import type { OpenedModel } from '../model/load';
import { numberOption } from './args';
import {
  commandLine,
  resolveModel,
  runCommand,
  usageFailure,
  scriptOptions,
  textOptions,
  flagOption,
} from './command';
import { nodeGpu } from './node-gpu';
import { nodeShaders } from './node-shaders';

const shippedIds = shippedDatasets.map((d) => d.id).join(', ');

const usage = `usage: npm run probe -- --model <folder or hub id> --dataset <id | file.json | file.csv>
                         [--no-bos] [--seed N] [--train-fraction F] [--out FILE]

  --model           a model folder (config.json, model.safetensors, tokenizer files) or a hub id
                    (gpt2, distilgpt2, owner/name; downloads once into the cache, $HF_ENDPOINT honoured)
  --dataset         a shipped dataset (${shippedIds}) or your own file: CSV with
                    columns text,label[,target], or JSON (static/datasets/README.md)
  --no-bos          do not prepend <|endoftext|> (prepended by default, as TransformerLens does)
  --seed            seed of the stratified train / held-out split (default 0)
  --train-fraction  fraction of each label's examples to train on (default 0.75)
  --out             also write the numbers as JSON here`;

/** The JSON that --out writes. Accuracies are fractions in [0, 1]. */
export interface ProbeJson {
  model: { name: string; n_layer: number; n_embd: number; n_ctx: number };
  adapter: { vendor: string; architecture: string; fallback: boolean };
  dataset: { name: string; file: string; labels: string[] };
  bos: boolean;
  seed: number;
  train_fraction: number;
  examples: {
    /** Examples probed, and the split of them. */
    used: number;
    train: number;
    held_out: number;
    /** Examples with more tokens up to their target than the model's context, and their indices. */
    left_out: number;
    left_out_indices: number[];
  };
  /**
   * How the examples were split: stratified by label, or by group (whole template instances held
   * out; the dataset's examples name their group), with the groups on each side.
   */
  split: { by: 'label' } | { by: 'group'; train_groups: number; held_out_groups: number };
  /** The most frequent training label, and the held-out accuracy of always answering it. */
  baseline: { label: string; accuracy: number };
  /**
   * The first depth whose held-out accuracy reaches 90% of the best gain over the baseline (index
   * into points, its name and accuracy); null when no depth beats the baseline.
   */
  readable: { point: number; name: string; held_out_accuracy: number; share: number } | null;
  /** One per depth: blocks.0.hook_resid_pre … blocks.{L-1}.hook_resid_pre, blocks.{L-1}.hook_resid_post. */
  points: {
    name: string;
    held_out_accuracy: number;
    train_accuracy: number;
    iterations: number;
    converged: boolean;
  }[];
  seconds: { capture: number; fit: number };
}

const datasetDir = fileURLToPath(new URL('../../static/datasets/', import.meta.url));

/**
 * The dataset `spec` names: a shipped id (read from static/datasets/), else a file. Errors say
 * which ids exist, that a file is missing, or (from the parser) which row is wrong and why.
 */
export async function loadDataset(spec: string): Promise<{ dataset: ProbeDataset; file: string }> {
  const shipped = shippedDatasets.find((d) => d.id === spec);
  if (shipped) {
    const text = await readFile(`${datasetDir}${shipped.file}`, 'utf8');
    // Named as in the repository, so that the JSON reads the same on every machine.
    return { dataset: parseDatasetJson(text, shipped.file), file: `static/datasets/${shipped.file}` };
  }
  const info = await stat(spec).catch(() => undefined);
  if (info && !info.isFile()) throw new ProbeDataError(`${spec} is not a file`);
  if (!info) {
    // A name with a folder or an extension was meant as a file; anything else as a shipped id.
    if (/[\\/]|\.(json|csv)$/i.test(spec)) throw new ProbeDataError(`${spec}: no such file`);
    throw new ProbeDataError(
      `unknown dataset "${spec}": give a shipped dataset (${shippedIds}) or a path to a .json or .csv file`,
    );
  }
  return { dataset: parseDatasetFile(spec, await readFile(spec, 'utf8')), file: spec };
}

export interface ProbeRunOptions {
  readonly bos: boolean;
  readonly seed: number;
  readonly trainFraction: number;
  /** Progress for a terminal: a stage and how far it is. */
  readonly onProgress?: (stage: 'capturing' | 'fitting', done: number, total: number) => void;
}

/** Captures the dataset's features on the model (f32 weights, as the reference) and fits a probe per depth. */
export async function probe(
  model: OpenedModel,
  dataset: ProbeDataset,
  file: string,
  options: ProbeRunOptions,
): Promise<ProbeJson> {
  const { config } = model;
  // Bad data is refused before the GPU is touched.
  const { inputs, labels, groups, kept, skipped } = prepareProbeInputs(dataset, model.tokenizer, {
    bos: options.bos,
    nCtx: config.nCtx,
  });
  const keptSet = new Set(kept);
  const leftOut = dataset.examples.flatMap((_, i) => (keptSet.has(i) ? [] : [i]));
  const gpu = await nodeGpu();
  const engine = await Engine.load(gpu, nodeShaders(), model.checkpoint, { weightFormat: 'f32' });
  try {
    const longest = Math.max(...inputs.map((i) => i.tokens.length));
    // Only the final lens point, as the studio: the lens at every layer would cost more than the forward.
    const session = engine.createSession({ lens: 'final', capacity: longest });
    const t0 = performance.now();
    const features = await captureProbeFeatures(gpu.device, session, config, inputs, {
      onProgress: (done, total) => options.onProgress?.('capturing', done, total),
    });
    const t1 = performance.now();
    // A stream that overflowed gives no probe worth fitting: say where, and exit non-zero.
    const bad = features.data.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) {
      const point = Math.floor(bad / (features.examples * features.width));
      const example = kept[Math.floor(bad / features.width) % features.examples]!;
      throw new Error(
        `the residual stream is not finite at ${hookName(probePoints(config.nLayer)[point]!)} ` +
          `for example ${example}: the model overflows on this dataset, so no probe can be fitted`,
      );
    }
    const result = fitProbes(
      features,
      labels,
      dataset.labels.length,
      { seed: options.seed, trainFraction: options.trainFraction, groups },
      (done, total) => options.onProgress?.('fitting', done, total),
    );
    const t2 = performance.now();
    const names = probePoints(config.nLayer).map(hookName);
    const readable = readableDepth(
      result.layers.map((l) => l.heldOutAccuracy),
      result.majority.accuracy,
    );
    return {
      model: { name: model.name, n_layer: config.nLayer, n_embd: config.nEmbd, n_ctx: config.nCtx },
      adapter: {
        vendor: gpu.summary.vendor,
        architecture: gpu.summary.architecture,
        fallback: gpu.summary.fallback,
      },
      dataset: { name: dataset.name, file, labels: [...dataset.labels] },
      bos: options.bos,
      seed: options.seed,
      train_fraction: options.trainFraction,
      examples: {
        used: inputs.length,
        train: result.trainCount,
        held_out: result.heldOutCount,
        left_out: skipped,
        left_out_indices: leftOut,
      },
      split: result.groups
        ? { by: 'group', train_groups: result.groups.train, held_out_groups: result.groups.heldOut }
        : { by: 'label' },
      baseline: { label: dataset.labels[result.majority.label]!, accuracy: result.majority.accuracy },
      readable: readable
        ? {
            point: readable.depth,
            name: names[readable.depth]!,
            held_out_accuracy: readable.accuracy,
            share: readableShare,
          }
        : null,
      points: result.layers.map((l) => ({
        name: names[l.point]!,
        held_out_accuracy: l.heldOutAccuracy,
        train_accuracy: l.trainAccuracy,
        iterations: l.iterations,
        converged: l.converged,
      })),
      seconds: { capture: (t1 - t0) / 1000, fit: (t2 - t1) / 1000 },
    };
  } finally {
    engine.dispose();
    gpu.device.destroy();
  }
}

/** The table printed on stdout: one row per depth, the baseline beside every row. */
export function formatTable(r: ProbeJson): string {
  const pct = (x: number) => x.toFixed(3);
  const width = Math.max(5, ...r.points.map((p) => p.name.length));
  const row = (cells: string[]) =>
    cells[0]!.padEnd(width) +
    cells
      .slice(1)
      .map((c) => c.padStart(10))
      .join('');
  const unconverged = r.points.filter((p) => !p.converged).length;
  return [
    `dataset: ${r.dataset.name}, ${r.dataset.labels.length} labels (${r.dataset.file})`,
    `model: ${r.model.name} (${r.model.n_layer} layers, d_model ${r.model.n_embd}), ` +
      `${r.bos ? 'with' : 'without'} <|endoftext|> first, seed ${r.seed}, train fraction ${r.train_fraction}`,
    `examples: ${r.examples.used} used (${r.examples.train} train, ${r.examples.held_out} held out), ` +
      `${r.examples.left_out} left out (more tokens up to the target than the context, ${r.model.n_ctx})`,
    '',
    row(['point', 'held-out', 'train', 'baseline']),
    ...r.points.map((p) =>
      row([
        p.name + (p.converged ? '' : ' *'),
        pct(p.held_out_accuracy),
        pct(p.train_accuracy),
        pct(r.baseline.accuracy),
      ]),
    ),
    '',
    `baseline: always "${r.baseline.label}" (the most frequent training label), scored on the held-out examples`,
    r.split.by === 'group'
      ? `split by group: ${r.split.train_groups} groups train, ${r.split.held_out_groups} held out whole`
      : 'split: stratified by label',
    r.readable
      ? `linearly readable from ${r.readable.name} (the first depth with ${Math.round(100 * r.readable.share)}% ` +
        'of the best gain over the baseline)'
      : 'no depth beats the baseline',
    ...(unconverged > 0
      ? ['* the fit stopped before converging (iteration limit or no further progress)']
      : []),
    `time: capture ${r.seconds.capture.toFixed(1)} s, fit ${r.seconds.fit.toFixed(1)} s ` +
      `(${r.adapter.vendor || 'unknown vendor'} ${r.adapter.architecture}${r.adapter.fallback ? ', CPU fallback' : ''})`,
  ].join('\n');
}

async function main(args: string[]): Promise<number> {
  const values = commandLine(
    args,
    {
      ...scriptOptions,
      ...textOptions('dataset', 'seed', 'train-fraction'),
      'no-bos': flagOption,
    },
    usage,
    ['model', 'dataset'],
  );
  if (typeof values === 'number') return values;
  let seed: number;
  let trainFraction: number;
  try {
    seed = numberOption(
      '--seed',
      values.seed,
      0,
      (x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32,
      'an integer in [0, 2^32)',
    );
    trainFraction = numberOption(
      '--train-fraction',
      values['train-fraction'],
      0.75,
      (x) => x > 0 && x < 1,
      'a number between 0 and 1 (exclusive)',
    );
  } catch (e) {
    return usageFailure(e, usage);
  }
  // Progress only where someone watches it; redirected stderr stays clean.
  const tty = process.stderr.isTTY;
  const onProgress = (stage: string, done: number, total: number) => {
    process.stderr.write(`\r${stage} ${done}/${total}   `);
    if (stage === 'fitting' && done === total) process.stderr.write('\r\x1b[K');
  };
  return runCommand('probe', async () => {
    // The dataset first: a bad file is reported before a model is read or downloaded.
    const { dataset, file } = await loadDataset(values.dataset!);
    const model = await resolveModel(values.model!, process.env);
    const result = await probe(model, dataset, file, {
      bos: !values['no-bos'],
      seed,
      trainFraction,
      onProgress: tty ? onProgress : undefined,
    });
    process.stdout.write(formatTable(result) + '\n');
    if (values.out) {
      await writeFile(values.out, JSON.stringify(result, null, 2) + '\n');
      console.error(`wrote ${values.out}: ${result.points.length} points, ${result.examples.used} examples`);
    }
    return 0;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
}
