// The entry point of the GPU bundle (bench/pack-gpu.sh bundles it into one file; bench/gpu.sh runs
// it): refuses a software adapter (SwiftShader, llvmpipe/lavapipe, a fallback adapter) unless
// --allow-software, runs `npm run bench` (forward without captures, with the studio's captures and
// with every hook captured, the causal instruments' patching case) on Dawn, then `npm run
// bench:peers` in Node on the same adapter (Strata against onnxruntime-web and TensorFlow.js; its
// default shapes and T, or the options given in --peers "…"; --no-peers skips it), and writes one
// JSON file with every number and where they come from (adapter, Node, Dawn, wall time). The file
// is written after the bench and again after the peers, so a run stopped in the peers keeps the bench.
//   node bench.mjs [--allow-software] [--out FILE] [--no-peers | --peers "OPTIONS"] [bench options…]

import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { main as bench } from '../src/cli/bench';
import { nodeGpuApi } from '../src/cli/node-gpu';
import { main as peers } from './peers/bench';

const software = /swiftshader|llvmpipe|lavapipe|softpipe|software/i;

/** The adapter Dawn gives, and whether it is a software one (with the reason). */
export async function describeAdapter(): Promise<
  { info: Record<string, unknown>; software?: string } | undefined
> {
  const gpu = await nodeGpuApi();
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return undefined;
  const i = adapter.info;
  const info = {
    vendor: i.vendor,
    architecture: i.architecture,
    device: i.device,
    description: i.description,
    fallback: (i as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false,
    shader_f16: adapter.features.has('shader-f16'),
  };
  const text = [i.vendor, i.architecture, i.device, i.description].join(' ');
  const sw = info.fallback
    ? 'it is a fallback adapter'
    : software.test(text)
      ? `it is a software rasterizer (${text.trim()})`
      : undefined;
  return { info, ...(sw ? { software: sw } : {}) };
}

/** Takes `--name VALUE` out of args; undefined when absent. */
function take(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  if (at < 0) return undefined;
  const value = args[at + 1];
  if (value === undefined) throw new Error(`${name} needs a value`);
  args.splice(at, 2);
  return value;
}

/** bench:peers in Node on this adapter, from the bundle's own files; its JSON, or why it has none. */
async function runPeers(options: string, part: string): Promise<Record<string, unknown>> {
  const here = dirname(process.argv[1]!); // the unpacked bundle (bench.mjs's folder)
  const models = join(here, 'peers', 'models');
  const args = [...options.split(/\s+/).filter((a) => a !== ''), '--runtime', 'node', '--out', part];
  try {
    const parts = { worker: join(here, 'peers-worker.mjs'), execArgv: [], install: false };
    const code = await peers(args, { ...parts, ortDist: join(here, 'peers', 'ort'), models });
    if (code !== 0 || !existsSync(part)) return { error: `bench:peers exited with ${code}`, args };
    return { ...(JSON.parse(readFileSync(part, 'utf8')) as Record<string, unknown>), args };
  } catch (e) {
    console.error(`bench:peers failed: ${(e as Error).stack ?? String(e)}`);
    return { error: (e as Error).message, args };
  } finally {
    rmSync(part, { force: true });
    rmSync(models, { recursive: true, force: true });
  }
}

async function run(argv: string[]): Promise<number> {
  const allowSoftware = argv.includes('--allow-software');
  const noPeers = argv.includes('--no-peers');
  const args = argv.filter((a) => a !== '--allow-software' && a !== '--no-peers');
  const peerOptions = take(args, '--peers') ?? '';
  const outAt = args.indexOf('--out');
  const out = outAt >= 0 ? args[outAt + 1] : 'strata-gpu-bench.json';
  if (!out) {
    console.error('--out needs a file name');
    return 2;
  }
  if (outAt >= 0) args.splice(outAt, 2);
  const adapter = await describeAdapter();
  if (!adapter) {
    // No adapter is a failure, whatever the flags: there is nothing to measure.
    console.error(
      'no WebGPU adapter: Dawn found none. Check the NVIDIA driver and its Vulkan ICD ' +
        '(vulkaninfo --summary, /usr/share/vulkan/icd.d/nvidia_icd.json).',
    );
    return 3;
  }
  const { info, software } = adapter;
  console.log(`adapter: ${JSON.stringify(info)}`);
  if (software && !allowSoftware) {
    console.error(
      `refusing to bench: ${software}. This bundle measures a GPU; check the NVIDIA driver's Vulkan ICD ` +
        `(vulkaninfo --summary, /usr/share/vulkan/icd.d/nvidia_icd.json), or pass --allow-software.`,
    );
    return 3;
  }
  const t0 = performance.now();
  const benchOut = `${out}.bench.part`;
  const code = await bench(['--captures', 'none,studio,every', ...args, '--out', benchOut]);
  if (code !== 0) return code;
  const results = JSON.parse(readFileSync(benchOut, 'utf8')) as Record<string, unknown>;
  const report = {
    ...results,
    bundle: {
      node: process.version,
      dawn: 'webgpu ' + (process.env.STRATA_DAWN_VERSION ?? 'unknown'),
      software_adapter: software ?? null,
      allow_software: allowSoftware,
      args,
      wall_s: (performance.now() - t0) / 1000,
    },
    adapter_info: info,
  };
  const write = () => writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
  write();
  rmSync(benchOut, { force: true });
  console.log(`wrote ${out} (the bench)`);
  if (noPeers) return 0;
  const p0 = performance.now();
  const peersReport = await runPeers(peerOptions, `${out}.peers.part`);
  Object.assign(report, { peers: { ...peersReport, wall_s: (performance.now() - p0) / 1000 } });
  report.bundle.wall_s = (performance.now() - t0) / 1000;
  write();
  console.log(`wrote ${out} (the bench and bench:peers)`);
  return 'error' in peersReport ? 4 : 0;
}

process.exitCode = await run(process.argv.slice(2));
// Dawn keeps the process alive with its instance; exit once the report is written.
process.exit();
