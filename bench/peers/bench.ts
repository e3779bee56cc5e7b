// npm run bench:peers -- [--shapes tiny,small] [--T-tiny 16,64,256] [--T-small 16,64] [--reps 5]
//                        [--engines strata,ort,ort-fused,tfjs] [--budget-tiny 30] [--budget-small 60]
//                        [--load-timeout 300] [--runtime chromium|node] [--vk swiftshader|lavapipe]
//                        [--out FILE]
//
// Strata against the engines a user would pick instead, in one headless Chromium page (WebGPU on
// whatever adapter it has: SwiftShader here, the GPU elsewhere), or with --runtime node in one Node
// process on Dawn (--vk picks the CPU Vulkan driver here; the GPU bundle runs it on the machine's
// GPU, where Chromium does not fit; node-host.ts says what that takes): one random-weight GPT-2 checkpoint
// per shape in the hub layout, run by Strata's engine, onnxruntime-web (WebGPU EP) on an ONNX graph
// built from it (standard ops, and a variant with com.microsoft FastGelu/SkipLayerNormalization),
// and TensorFlow.js (WebGPU backend), on the same token ids. Each engine's last-position logits are
// checked against the CPU reference (src/model/reference.ts) within 1e-4 × max |logit| before it is
// timed; one that disagrees is reported wrong. Times: median ms from the ids to the last row of
// logits on the CPU. A configuration predicted (from the engine's ms/GFLOP so far) or seen to run
// past its time budget is skipped with a line that says so. The budget (seconds per engine and
// configuration) counts the timed forwards (at least one, up to --reps while time is left); the
// first, checked forward of a configuration (pipelines compiled) may take twice the budget, and
// loading the checkpoint and the engine has its own limit (--load-timeout).

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { gpt2ConfigJson } from '../../src/model/config';
import { gpt2CheckpointParts, gpt2Config, randomGpt2Weights } from '../../src/model/fixtures';
import { referenceForward } from '../../src/model/reference';
import type { Gpt2Config, Gpt2Weights } from '../../src/model/types';
import type { PeerDriver } from './driver';
import type { EngineName, LoadReport, Mode, RunReport } from './engines';
import { ensurePeers, peersDir } from './install';
import { report, type Row } from './report';

const options = {
  shapes: { type: 'string', default: 'tiny,small' },
  'T-tiny': { type: 'string', default: '16,64,256' },
  'T-small': { type: 'string', default: '16,64' },
  reps: { type: 'string', default: '5' },
  engines: { type: 'string', default: 'strata,ort,ort-fused,tfjs' },
  'budget-tiny': { type: 'string', default: '30' },
  'budget-small': { type: 'string', default: '60' },
  'load-timeout': { type: 'string', default: '300' },
  runtime: { type: 'string', default: 'chromium' },
  vk: { type: 'string' },
  out: { type: 'string' },
} as const;

const shapes: Record<string, Gpt2Config> = {
  tiny: gpt2Config({ nLayer: 2, nHead: 4, nEmbd: 64, nCtx: 256, vocabSize: 50257 }),
  small: gpt2Config({ nLayer: 12, nHead: 12, nEmbd: 768, nCtx: 1024, vocabSize: 50257 }),
};
const list = (s: string) => s.split(',').filter((x) => x !== '');
const tolerance = 1e-4; // × max |logit|, as the engine tests

/** Multiply-adds ×2 of one forward with logits at every position (what every engine here computes). */
function gflop(c: Gpt2Config, T: number): number {
  const { nLayer: L, nEmbd: D, nInner: F, vocabSize: V } = c;
  const perLayer = 2 * T * D * (3 * D + D + 2 * F) + 2 * 2 * ((T * (T + 1)) / 2) * D;
  return (L * perLayer + 2 * T * D * V) / 1e9;
}

function writeCheckpoint(dir: string, weights: Gpt2Weights): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), gpt2ConfigJson(weights.config));
  const parts = [
    ...gpt2CheckpointParts(weights, { dtype: 'F32', prefix: false, lmHead: false, attnBias: false }),
  ];
  writeFileSync(join(dir, 'model.safetensors'), Buffer.concat(parts));
}

const tokensFor = (T: number, V: number) => Array.from({ length: T }, (_, i) => (i * 7919) % V);

class Timeout extends Error {}

function withTimeout<T>(p: Promise<T>, seconds: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Timeout(`${what} ran past ${seconds} s`)), seconds * 1000);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

type Values = ReturnType<typeof parseArgs<{ options: typeof options }>>['values'];

/** Where the Node runtime's parts are: the source tree's, or the GPU bundle's (gpu-entry.ts). */
export interface NodeRuntimeParts {
  worker: string;
  execArgv: string[];
  ortDist: string;
  /** Where the random checkpoints are written (one folder per shape). */
  models: string;
  /** Install bench/peers/node_modules first (not in the bundle, which carries what it needs). */
  install: boolean;
}

const sourceParts = (): NodeRuntimeParts => ({
  worker: join(peersDir, 'node-worker.ts'),
  execArgv: ['--import', 'tsx'],
  ortDist: join(peersDir, 'node_modules', 'onnxruntime-web', 'dist'),
  models: join(peersDir, '.cache', 'models'),
  install: true,
});

async function openDriver(
  values: Values,
  modelsDir: string,
  parts: NodeRuntimeParts,
  log: (t: string) => void,
) {
  if (values.runtime === 'node') {
    const { nodeDriver } = await import('./driver-node');
    const { worker, execArgv, ortDist } = parts;
    return nodeDriver(
      { models: modelsDir, worker, execArgv, ortDist, ...(values.vk ? { vk: values.vk } : {}) },
      log,
    );
  }
  if (values.runtime !== 'chromium') throw new Error(`--runtime: ${values.runtime} is not chromium or node`);
  if (values.vk) throw new Error('--vk is for --runtime node (Chromium picks its own Vulkan driver)');
  const { chromiumDriver } = await import('./driver-chromium');
  return chromiumDriver(modelsDir, log);
}

/** Runs bench:peers with these arguments; returns the exit code. */
export async function main(argv: string[], parts: NodeRuntimeParts = sourceParts()): Promise<number> {
  const { values } = parseArgs({ args: argv, options });
  const reps = Number(values.reps);
  const engines = list(values.engines) as EngineName[];
  if (parts.install) ensurePeers();
  const modelsDir = parts.models;
  const weightsOf: Record<string, Gpt2Weights> = {};
  for (const shape of list(values.shapes)) {
    const config = shapes[shape];
    if (!config) throw new Error(`--shapes: ${shape} is not one of ${Object.keys(shapes).join(', ')}`);
    weightsOf[shape] = randomGpt2Weights(config, 1);
    writeCheckpoint(join(modelsDir, shape), weightsOf[shape]);
  }
  const ortLog: { engine: string; text: string }[] = [];
  let current = '';
  const rows: Row[] = [];
  const log = (line: string) => console.log(line);
  const driver: PeerDriver = await openDriver(values, modelsDir, parts, (text) =>
    ortLog.push({ engine: current, text }),
  );
  try {
    const adapter = await driver.adapter();
    log(
      `adapter: ${adapter.vendor} ${adapter.architecture}${adapter.fallback ? ' (fallback)' : ''}, ` +
        `in ${driver.runtime}`,
    );
    const references = new Map<string, Float32Array>();
    const reference = (shape: string, T: number) => {
      const key = `${shape}:${T}`;
      if (!references.has(key)) {
        const w = weightsOf[shape]!;
        const V = w.config.vocabSize;
        const logits = referenceForward(w, tokensFor(T, V)).logits;
        references.set(key, logits.slice((T - 1) * V, T * V));
      }
      return references.get(key)!;
    };
    const msPerGflop = new Map<string, number>();
    for (const shape of Object.keys(weightsOf)) {
      const config = shapes[shape]!;
      const Ts = list(values[shape === 'tiny' ? 'T-tiny' : 'T-small']).map(Number);
      const budget = Number(values[shape === 'tiny' ? 'budget-tiny' : 'budget-small']);
      for (const engine of engines) {
        const modes: Mode[] = engine === 'strata' ? ['forward', 'captures'] : ['forward'];
        let loaded: LoadReport | undefined;
        let gaveUp = '';
        for (const T of Ts) {
          for (const mode of modes) {
            const base = { shape, T, engine, mode, budget_s: budget };
            const g = gflop(config, T);
            const key = `${shape}:${engine}:${mode}`; // predicted from a smaller T of this shape
            const predicted = msPerGflop.has(key) ? (msPerGflop.get(key)! * g) / 1000 : undefined;
            const skip = (reason: string) => {
              rows.push({ ...base, status: 'skipped', reason });
              log(`${shape} T=${T} ${engine}${mode === 'captures' ? ' +captures' : ''}: skipped, ${reason}`);
            };
            if (gaveUp) {
              skip(gaveUp);
              continue;
            }
            if (predicted !== undefined && predicted > budget) {
              skip(`over budget: one forward predicted at ${predicted.toFixed(0)} s > ${budget} s`);
              continue;
            }
            let started = Date.now();
            const left = () => budget - (Date.now() - started) / 1000;
            try {
              if (!loaded) {
                current = `${shape} ${engine}`;
                loaded = await withTimeout(
                  driver.load(engine, shape),
                  Number(values['load-timeout']),
                  `loading ${engine}`,
                );
                started = Date.now();
                log(
                  `${shape} ${engine}: loaded in ${(loaded.ms / 1000).toFixed(1)} s ${JSON.stringify(loaded.info)}`,
                );
              }
              const ids = tokensFor(T, config.vocabSize);
              const run = (want: boolean) =>
                withTimeout(
                  driver.run(ids, mode, want),
                  want ? 2 * budget : Math.max(1, left()),
                  `${engine} T=${T}`,
                ) as Promise<RunReport>;
              const first = await run(true);
              const ref = reference(shape, T);
              const max = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
              let err = 0;
              first.logits!.forEach((v, i) => (err = Math.max(err, Math.abs(v - ref[i]!))));
              const gpu_errors = first.gpuErrors;
              if (gpu_errors) log(`${shape} T=${T} ${engine}: WebGPU errors: ${gpu_errors.join(' | ')}`);
              if (!(err <= tolerance * max)) {
                rows.push({ ...base, status: 'wrong', max_err: err, tol: tolerance * max, gpu_errors });
                log(
                  `${shape} T=${T} ${engine}: WRONG, max |Δlogit| ${err.toExponential(2)} > ${(tolerance * max).toExponential(2)}`,
                );
                continue;
              }
              started = Date.now(); // the budget counts the timed forwards, after the checked one
              const warm = await run(false); // counts dispatches on a warm run
              const times = [warm.ms];
              while (times.length < reps && left() > (1.5 * Math.max(...times)) / 1000)
                times.push((await run(false)).ms);
              const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
              msPerGflop.set(key, median / g);
              rows.push({
                ...base,
                status: 'ok',
                median_ms: median,
                reps: times.length,
                dispatches: warm.dispatches,
                submits: warm.submits,
                first_ms: first.ms,
                max_err: err,
                tol: tolerance * max,
                gflop: g,
                ...(gpu_errors ? { gpu_errors } : {}),
              });
              log(
                `${shape} T=${T} ${engine}${mode === 'captures' ? ' +captures' : ''}: ${median.toFixed(1)} ms ` +
                  `(median of ${times.length}; first ${first.ms.toFixed(0)} ms), ${warm.dispatches} dispatches, ` +
                  `${warm.submits} submits, max |Δlogit| ${err.toExponential(2)} ≤ ${(tolerance * max).toExponential(2)}`,
              );
            } catch (e) {
              const timedOut = e instanceof Timeout;
              const reason = timedOut
                ? `over budget: ${(e as Error).message}`
                : `failed: ${(e as Error).message.split('\n')[0]}`;
              rows.push({ ...base, status: timedOut ? 'skipped' : 'failed', reason });
              log(`${shape} T=${T} ${engine}: ${reason}`);
              if (!timedOut) console.error((e as Error).message);
              gaveUp = timedOut ? `over budget (T=${T} already was)` : reason;
              // The host may still be busy on the GPU: start a new one for what follows.
              await driver.restart();
              loaded = undefined;
            }
          }
        }
        if (loaded) await driver.unload();
      }
    }
    const out = report(rows, { ...adapter, runtime: driver.runtime }, ortLog, tolerance);
    for (const line of out.lines) log(line);
    if (values.out) {
      mkdirSync(dirname(values.out), { recursive: true });
      writeFileSync(values.out, JSON.stringify(out.json, null, 2) + '\n');
      log(`wrote ${values.out}`);
    }
    return 0;
  } finally {
    await driver.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
  process.exit(); // once the report is written: no lingering handle may keep the bench alive
}
