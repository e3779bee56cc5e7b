// The entry point of the GPU bundle (bench/pack-gpu.sh bundles it into one file; bench/gpu.sh runs
// it): refuses a software adapter (SwiftShader, llvmpipe/lavapipe, a fallback adapter) unless
// --allow-software, runs `npm run bench` (forward without captures, with the studio's captures and
// with every hook captured, the causal instruments' patching case) on Dawn, and writes one JSON file with every number and where
// they come from (adapter, Node, Dawn, wall time).
//   node bench.mjs [--allow-software] [--out FILE] [bench options…]

import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { main as bench } from '../src/cli/bench';
import { nodeGpuApi } from '../src/cli/node-gpu';

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

async function run(argv: string[]): Promise<number> {
  const allowSoftware = argv.includes('--allow-software');
  const args = argv.filter((a) => a !== '--allow-software');
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
  writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
  rmSync(benchOut, { force: true });
  console.log(`wrote ${out}`);
  return 0;
}

process.exitCode = await run(process.argv.slice(2));
// Dawn keeps the process alive with its instance; exit once the report is written.
process.exit();
