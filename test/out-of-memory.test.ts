// Out of GPU memory, for real: test/support/out-of-memory-child.ts limits its own address space,
// which SwiftShader allocates GPU memory from, so the driver itself refuses (vkAllocateMemory:
// VK_ERROR_OUT_OF_DEVICE_MEMORY). Loading a model and growing a prompt session must then fail with
// a GpuOutOfMemoryError that says what was needed, and the session must keep its last results.
import { expect, test } from 'vitest';
import { activationBytes, captureBudgetBytes, captureBytes, chooseCaptureFormat } from '../src/engine/cost';
import { lensChunk, lensTopK } from '../src/engine/session';
import { GpuWeights } from '../src/engine/weights';
import type { Gpt2Config } from '../src/model/types';
import { runCli } from './support/cli';

interface Failure {
  type: string;
  oom: boolean;
  neededBytes?: number;
  message: string;
}
interface ChildReport {
  small: Gpt2Config;
  large: Gpt2Config;
  longT: number;
  load: Failure | 'loaded';
  grow: Failure | 'ran';
  capacityAfter: number;
  patternDiff: number;
  sameTopK: boolean;
}

test('out of GPU memory: clear errors with the sizes needed, and nothing lost', async () => {
  const r = await runCli('test/support/out-of-memory-child.ts', [], 16 * 2 ** 20);
  expect(r.code, r.stderr).toBe(0);
  const report = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ChildReport;

  // Loading: refused with the weights' size, nothing else disturbed.
  const load = report.load as Failure;
  expect(load.oom, JSON.stringify(load)).toBe(true);
  const needed = GpuWeights.bytesNeeded(report.large, 'f32');
  expect(load.neededBytes).toBe(needed);
  expect(load.message).toMatch(
    /^out of GPU memory while uploading the weights: the model needs 42\.1 MiB in f32 \(and each prompt [\d.]+ MiB more for 64 tokens\), more than this GPU could give \(wte\.weight \(39\.1 MiB\): .+\)\. WebGPU does not tell how much memory a GPU has: close other GPU-heavy tabs or pick a smaller model\.$/,
  );

  // Growing a session for a long prompt: refused with what the prompt needs (the capacity it
  // would have grown to), and the previous prompt's captures and results are there as before.
  const grow = report.grow as Failure;
  expect(grow.oom, JSON.stringify(grow)).toBe(true);
  const capacity = Math.ceil(report.longT / 64) * 64;
  const format = chooseCaptureFormat(report.small, capacity, captureBudgetBytes);
  const layers = report.small.nLayer + 1; // lens 'layers'
  expect(grow.neededBytes).toBe(
    captureBytes(report.small, capacity, format) +
      activationBytes(report.small, capacity, layers, lensChunk, lensTopK),
  );
  expect(grow.message).toContain(`out of GPU memory for a prompt of ${report.longT} tokens`);
  expect(grow.message).toContain('VK_ERROR_OUT_OF_DEVICE_MEMORY'); // the driver's own refusal
  expect(grow.message).not.toContain('\n'); // Dawn's call stack cut off
  expect(grow.message).toContain('the previous prompt (40 tokens) and its results are kept');
  expect(report.capacityAfter).toBe(64);
  expect(report.patternDiff).toBe(0);
  expect(report.sameTopK).toBe(true);
});
