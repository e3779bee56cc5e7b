// npm run bench -- [--shape small,medium | tiny | L,H,D,N,V] [--T 16,64,256] [--reps 5]
//                  [--lens layers|final|all] [--weights auto|f32|f16] [--kernels auto|tiled|fallback]
//                  [--causal-shape small | L,H,D,N,V | none] [--causal-T 16] [--captures studio,every,none]
//                  [--fusion on,attention,off] [--out bench/results.json]
//
// Random weights of GPT-2 shape on whatever adapter Dawn finds (SwiftShader on a machine without a
// GPU, the real GPU elsewhere). Per (shape, T): median wall time of one forward with the studio's
// captures (every pattern and residual boundary, the lens) after warm-up (submit to lens top-k back
// on the CPU), GFLOP/s, dispatches and bytes read back per forward, GPU memory; and in the same run,
// the best plain matmul GFLOP/s of our own kernels on this adapter and the ratio forward/matmul (how
// much time goes to anything but arithmetic). With
// `--captures none` (or `studio,none`) also the forward alone: no captures, the final lens only;
// `every`: every hook point captured (as run_with_cache), with the lens. With
// `--fusion on,off` each row runs fused (5 dispatches per block) and unfused (8) in the same run
// (`attention`: only softmax × V fused, 7), and the report gives the unfused/fused time ratios;
// without it, the engine's default for the kernel set (defaultFusion). Then the causal
// instruments (bench-causal.ts): all four patching maps plus attribution at T=16.

import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { forwardDispatches, formatBytes } from '../engine/cost';
import { Engine } from '../engine/engine';
import { defaultFusion } from '../engine/plan';
import type { LensPoints } from '../engine/session';
import { weightReaderFromMemory } from '../engine/weights';
import type { GpuContext } from '../gpu/device';
import { KernelRegistry, type KernelName } from '../gpu/kernels';
import type { ShaderLibrary } from '../gpu/shader-library';
import { gpt2Config, randomGpt2Weights } from '../model/fixtures';
import type { Gpt2Config } from '../model/types';
import { nodeGpu } from './node-gpu';
import { nodeShaders } from './node-shaders';
import { benchCausal, type CausalBenchRow } from './bench-causal';
import { captureReport, fusionReport, type BenchRow } from './bench-report';

const shapes: Record<string, Gpt2Config> = {
  tiny: gpt2Config({ nLayer: 2, nHead: 4, nEmbd: 64, nCtx: 256, vocabSize: 50257 }),
  small: gpt2Config({ nLayer: 12, nHead: 12, nEmbd: 768, nCtx: 1024, vocabSize: 50257 }),
  medium: gpt2Config({ nLayer: 24, nHead: 16, nEmbd: 1024, nCtx: 1024, vocabSize: 50257 }),
};

export interface MatmulResult {
  kernel: KernelName;
  m: number;
  k: number;
  n: number;
  median_ms: number;
  gflops: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timeIt(reps: number, fn: () => Promise<unknown>): Promise<number> {
  await fn(); // warm-up: pipelines compiled, buffers touched
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** Our matmul kernels alone on one GPT-2 shape (T × D by D × 4D, the MLP's c_fc). */
export async function benchMatmul(
  gpu: GpuContext,
  shaders: ShaderLibrary,
  kernelsToTry: KernelName[],
  m: number,
  k: number,
  n: number,
  reps: number,
): Promise<MatmulResult[]> {
  const { device } = gpu;
  const registry = new KernelRegistry(device, shaders);
  const buffer = (label: string, floats: number, usage = 0) =>
    device.createBuffer({ label, size: floats * 4, usage: GPUBufferUsage.STORAGE | usage });
  const params = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(params, 0, new Uint32Array([m, 0, 0, 0]));
  const a = buffer('a', m * k);
  const w = buffer('w', k * n);
  const bias = buffer('bias', n);
  const out = buffer('out', m * n);
  const none = buffer('none', 4); // the matmuls' side output, not wanted here (SIDE 0)
  const sync = buffer('sync', 1, GPUBufferUsage.COPY_SRC);
  const staging = device.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const results: MatmulResult[] = [];
  try {
    for (const name of kernelsToTry) {
      // Overrides and dispatch shape as the session uses them (src/engine/session.ts).
      const shapes: Partial<Record<KernelName, [Record<string, number>, [number, number]]>> = {
        matmulTiled: [{ K: k, N: n }, [Math.ceil(n / 64), Math.ceil(m / 64)]],
        matmulBlocked: [{ K: k, N: n, WG_X: 64 }, [Math.ceil(n / 256), Math.ceil(m / 4)]],
        matmulBlockedVec4: [{ K: k, N: n, WG_X: 16 }, [Math.ceil(n / 128), Math.ceil(m / 8)]],
      };
      const shape = shapes[name];
      if (!shape) throw new Error(`${name} is not a matmul kernel`);
      const [overrides, workgroups] = shape;
      const kernel = registry.get(name, { overrides });
      // A bind group that does not match the kernel would make every dispatch a silent no-op.
      device.pushErrorScope('validation');
      const bindGroup = device.createBindGroup({
        layout: kernel.layout,
        entries: [params, a, w, bias, a, out, none].map((buffer, binding) => ({
          binding,
          resource: { buffer },
        })),
      });
      const invalid = await device.popErrorScope();
      if (invalid) throw new Error(`the ${name} bench's bind group: ${invalid.message}`);
      const ms = await timeIt(reps, async () => {
        const encoder = device.createCommandEncoder();
        const pass = encoder.beginComputePass();
        pass.setPipeline(kernel.pipeline);
        pass.setBindGroup(0, bindGroup);
        pass.dispatchWorkgroups(...workgroups);
        pass.end();
        encoder.copyBufferToBuffer(sync, 0, staging, 0, 4);
        device.queue.submit([encoder.finish()]);
        await staging.mapAsync(GPUMapMode.READ);
        staging.unmap();
      });
      results.push({ kernel: name, m, k, n, median_ms: ms, gflops: (2 * m * k * n) / ms / 1e6 });
    }
  } finally {
    for (const b of [params, a, w, bias, out, none, sync, staging]) b.destroy();
  }
  return results;
}

function parseShape(spec: string): [string, Gpt2Config] {
  const known = shapes[spec];
  if (known) return [spec, known];
  const dims = spec.split(',').map(Number);
  if (dims.length !== 5 || dims.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new Error(`--shape ${spec}: expected small, medium, tiny or L,H,D,N,V`);
  }
  const [nLayer, nHead, nEmbd, nCtx, vocabSize] = dims as [number, number, number, number, number];
  return [spec, gpt2Config({ nLayer, nHead, nEmbd, nCtx, vocabSize })];
}

const usage = `usage: npm run bench -- [--shape small,medium | tiny | L,H,D,N,V] [--T 16,64,256] [--reps 5]
                      [--lens layers|final|all] [--weights auto|f32|f16] [--kernels auto|tiled|fallback]
                      [--causal-shape small | L,H,D,N,V | none] [--causal-T 16] [--captures studio,every,none]
                      [--fusion on,attention,off] [--out bench/results.json]`;

/** A comma-separated list of positive integers, or a clear error naming the option. */
function positiveInts(option: string, text: string): number[] {
  const values = text.split(',').map(Number);
  if (values.some((v) => !Number.isInteger(v) || v <= 0)) {
    throw new Error(`--${option} ${text}: expected positive integers separated by commas`);
  }
  return values;
}

function oneOf<T extends string>(option: string, text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text)) {
    throw new Error(`--${option} ${text}: expected one of ${allowed.join(', ')}`);
  }
  return text as T;
}

export async function main(args: string[]): Promise<number> {
  let options;
  try {
    const { values } = parseArgs({
      args,
      options: {
        shape: { type: 'string' },
        T: { type: 'string', default: '16,64,256' },
        reps: { type: 'string', default: '5' },
        lens: { type: 'string' },
        weights: { type: 'string', default: 'auto' },
        kernels: { type: 'string', default: 'auto' },
        out: { type: 'string', default: 'bench/results.json' },
        'causal-shape': { type: 'string' },
        'causal-T': { type: 'string', default: '16' },
        captures: { type: 'string', default: 'studio' },
        fusion: { type: 'string' },
        help: { type: 'boolean' },
      },
    });
    if (values.help) {
      console.log(usage);
      return 0;
    }
    options = {
      ...values,
      reps: positiveInts('reps', values.reps)[0]!,
      Ts: positiveInts('T', values.T),
      causalT: positiveInts('causal-T', values['causal-T'])[0]!,
      lens:
        values.lens === undefined
          ? undefined
          : oneOf('lens', values.lens, ['layers', 'final', 'all'] as const),
      weights: oneOf('weights', values.weights, ['auto', 'f32', 'f16'] as const),
      kernels: oneOf('kernels', values.kernels, ['auto', 'tiled', 'fallback'] as const),
      captures: values.captures
        .split(',')
        .map((c) => oneOf('captures', c, ['studio', 'every', 'none'] as const)),
      // Default: the engine's own for the kernel set (defaultFusion).
      fusion: values.fusion?.split(',').map((c) => oneOf('fusion', c, ['on', 'attention', 'off'] as const)),
    };
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${usage}`);
    return 2;
  }
  const values = options;
  const gpu = await nodeGpu();
  const { summary } = gpu;
  const shaders = nodeShaders();
  const { reps, Ts } = values;
  const fallbackKernels = values.kernels === 'auto' ? summary.fallback : values.kernels === 'fallback';
  const fusions = values.fusion ?? [defaultFusion(fallbackKernels)];
  // On a CPU adapter the lens over every layer costs minutes per forward at GPT-2 size.
  const lens: LensPoints = values.lens ?? (summary.fallback ? 'final' : 'layers');
  const shapeSpecs = (values.shape ?? (summary.fallback ? 'small' : 'small,medium')).split(',');
  console.log(
    `adapter: ${summary.vendor} ${summary.architecture}${summary.fallback ? ' (fallback)' : ''}, ` +
      `shader-f16 ${summary.shaderF16 ? 'yes' : 'no'}; ${fallbackKernels ? 'barrier-free' : 'tiled'} kernels`,
  );

  // Every matmul kernel we have that suits this adapter (the vec4 one needs K, N % 4 == 0: 768, 3072).
  const matmulKernels: KernelName[] = fallbackKernels
    ? ['matmulBlocked', 'matmulBlockedVec4']
    : ['matmulBlocked', 'matmulBlockedVec4', 'matmulTiled'];
  const matmul = await benchMatmul(gpu, shaders, matmulKernels, 256, 768, 3072, reps);
  const bestMatmul = Math.max(...matmul.map((r) => r.gflops));
  for (const r of matmul) {
    console.log(
      `matmul ${r.kernel} ${r.m}×${r.k}×${r.n}: ${r.median_ms.toFixed(2)} ms, ${r.gflops.toFixed(2)} GFLOP/s`,
    );
  }

  const rows: BenchRow[] = [];
  for (const spec of shapeSpecs) {
    const [shape, config] = parseShape(spec);
    const weights = randomGpt2Weights(config, 1);
    const engine = await Engine.load(gpu, shaders, weightReaderFromMemory(weights), {
      weightFormat: values.weights,
      fallbackKernels,
    });
    try {
      for (const T of Ts) {
        if (T > config.nCtx) continue;
        const tokens = Array.from({ length: T }, (_, i) => (i * 7919) % config.vocabSize);
        // One session per (captures, fusion) setting, their runs interleaved (on, off, on, off, …)
        // so that a shared machine's changing load falls on all alike.
        const settings = values.captures.flatMap((captures) =>
          fusions.map((fusion) => ({ captures, fusion, lens: captures === 'none' ? 'final' : lens })),
        );
        const sessions = settings.map(({ captures, fusion, lens }) =>
          engine.createSession({
            capacity: T,
            lens,
            fusion,
            ...(captures === 'none' ? { namesFilter: [] } : {}),
            ...(captures === 'every' ? { namesFilter: () => true } : {}),
          }),
        );
        const lasts = [];
        for (const session of sessions) lasts.push(await session.run(tokens)); // warm-up
        const times = sessions.map((): number[] => []);
        for (let rep = 0; rep < reps; rep++) {
          for (const [i, session] of sessions.entries()) {
            const t0 = performance.now();
            lasts[i] = await session.run(tokens);
            times[i]!.push(performance.now() - t0);
          }
        }
        for (const [i, { captures, fusion, lens: rowLens }] of settings.entries()) {
          const last = lasts[i]!;
          const session = sessions[i]!;
          const ms = median(times[i]!);
          // As encoded: counts logits_last once, whether or not the lens kernel computes it.
          const flops = last.flops;
          const gflops = flops / ms / 1e6;
          // The non-block dispatches (embedding, lens) as cost.ts counts them, for the per-layer figure.
          const outside = forwardDispatches(0, {
            fusion,
            wteParts: engine.weights.wteParts.length,
            logitsLastFused: !fallbackKernels || config.nEmbd % 4 === 0,
          });
          rows.push({
            shape,
            T,
            weights: engine.weights.format,
            lens: rowLens,
            captures,
            fusion,
            median_ms: ms,
            min_ms: Math.min(...times[i]!),
            gflop: flops / 1e9,
            gflops,
            dispatches: last.dispatches,
            dispatches_per_layer: (last.dispatches - outside) / config.nLayer,
            readback_bytes: last.readbackBytes,
            gpu_bytes: engine.weights.bytes + session.bytes,
            ratio_to_matmul: gflops / bestMatmul,
          });
          const r = rows.at(-1)!;
          console.log(
            `${shape} T=${T} ${r.weights} captures=${captures} lens=${rowLens} fusion=${fusion}: ` +
              `${ms.toFixed(1)} ms, ${r.gflop.toFixed(2)} GFLOP, ${gflops.toFixed(2)} GFLOP/s ` +
              `(${(100 * r.ratio_to_matmul).toFixed(0)}% of matmul), ${r.dispatches} dispatches ` +
              `(${r.dispatches_per_layer} per layer), ${r.readback_bytes} B read back, ` +
              `${formatBytes(r.gpu_bytes)} on the GPU`,
          );
        }
        for (const session of sessions) session.destroy();
      }
    } finally {
      engine.dispose();
    }
  }
  // Patching at GPT-2 small's shape is ~1 TFLOP of batched work: minutes on a CPU adapter, so a
  // smaller shape there unless --causal-shape says otherwise.
  const causal: CausalBenchRow[] = [];
  const causalSpec = values['causal-shape'] ?? (summary.fallback ? '4,4,256,256,50257' : 'small');
  if (causalSpec !== 'none') {
    const [shape, config] = parseShape(causalSpec);
    const engine = await Engine.load(gpu, shaders, weightReaderFromMemory(randomGpt2Weights(config, 1)), {
      weightFormat: values.weights,
      fallbackKernels,
    });
    try {
      const r = await benchCausal(engine, shape, values.causalT, reps);
      causal.push(r);
      console.log(
        `causal ${shape} T=${r.T} ${r.weights}: patching (4 maps, ${r.runs} runs) + attribution ` +
          `${r.median_ms.toFixed(1)} ms, ${r.gflop.toFixed(2)} GFLOP, ${r.gflops.toFixed(2)} GFLOP/s, ` +
          `${r.dispatches} dispatches, ${r.submissions} submissions, ${r.readbacks} readbacks; ` +
          `attribution alone ${r.attribution_ms.toFixed(1)} ms, ${r.attribution_dispatches} dispatches`,
      );
    } finally {
      engine.dispose();
    }
  }
  const fusionRatios = fusionReport(rows);
  const captureRatios = captureReport(rows);
  const report = {
    date: new Date().toISOString(),
    adapter: summary,
    kernels: fallbackKernels ? 'barrier-free' : 'tiled',
    matmul,
    best_matmul_gflops: bestMatmul,
    forward: rows,
    fusion: fusionRatios,
    captures: captureRatios,
    causal,
  };
  await mkdir(dirname(values.out), { recursive: true });
  await writeFile(values.out, JSON.stringify(report, null, 2) + '\n');
  console.log(`wrote ${values.out}`);
  gpu.device.destroy();
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
}
