// The studio's Export for Python (src/state/capture-export.svelte.ts) in Node on a real WebGPU
// device: a studio with a model loaded from picked files runs a prompt; the export (into the Blob
// sink the browser uses without showSaveFilePicker) is read back by Python with numpy alone and
// every hook checked against the CPU reference's runWithCache (patterns 1e-5, other hooks
// 1e-4 × max |value|). Default: every hook the prompt's session captures; or chosen by patterns. The
// JSON format: the capture CLI's schema, its patterns within 1e-5 of the reference.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { CaptureJson } from '../src/engine/capture-json';
import { blobSink } from '../src/io/export/sinks';
import { gpt2Config } from '../src/model/fixtures';
import { selectHooks } from '../src/model/hook-names';
import { runWithCache } from '../src/model/reference-hooks';
import { CaptureExport } from '../src/state/capture-export.svelte';
import type { Studio } from '../src/state/studio.svelte';
import { PromptRun } from '../src/state/prompt-run.svelte';
import { readWithPython, type ReadBack } from './support/python-reader';
import { studioWith } from './support/tiny-engine';
import { pickedFiles, tinyWeights } from './support/tiny-models';

const config = gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 16, nCtx: 24, vocabSize: 50257 });
const weights = tinyWeights(config, 8, { wte: 20 });
let studio: Studio;
let dir: string;
beforeAll(async () => {
  studio = await studioWith(pickedFiles(weights));
  dir = mkdtempSync(join(tmpdir(), 'strata-studio-export-'));
});
afterAll(() => {
  studio?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

async function exportToFile(exporter: CaptureExport, file: string): Promise<ReadBack> {
  const sink = blobSink();
  const r = await exporter.write(sink);
  const bytes = new Uint8Array(await sink.blob().arrayBuffer());
  expect(r.bytes).toBe(bytes.length);
  const path = join(dir, file);
  writeFileSync(path, bytes);
  const back = readWithPython(path);
  expect(back.names.length).toBe(r.hooks);
  return back;
}

function check(back: ReadBack, tokens: readonly number[], logits: 'last' | 'all') {
  const cache = runWithCache(weights, tokens, back.names, { logits });
  for (const name of back.names) {
    const want = cache.get(name as never)!;
    const got = back.values.get(name)!;
    expect(back.shapes[name], name).toEqual(want.shape);
    let err = 0;
    let scale = 0;
    for (let i = 0; i < got.length; i++) {
      if (want.data[i] === -Infinity) {
        expect(got[i]).toBe(-Infinity);
        continue;
      }
      err = Math.max(err, Math.abs(got[i]! - want.data[i]!));
      scale = Math.max(scale, Math.abs(want.data[i]!));
    }
    const bound = name.endsWith('hook_pattern') ? 1e-5 : 1e-4 * scale;
    expect(err, name).toBeLessThanOrEqual(bound);
  }
}

test('the prompt’s captured hooks as npz, and chosen hooks as safetensors, match the reference', async () => {
  const run = new PromptRun(studio, 'The capital of France is');
  await run.run(run.tokens);
  expect(run.error).toBeUndefined();
  const exporter = new CaptureExport(studio, run);
  expect(exporter.precisionNote).toBeUndefined(); // f32 weights here (no shader-f16 on SwiftShader)
  exporter.format = 'npz';
  const all = await exportToFile(exporter, 'all.npz');
  // The default session's captures: every pattern, every residual boundary, the logits.
  expect(all.names).toEqual(
    selectHooks(
      'blocks.*.attn.hook_pattern,*hook_resid_pre,*hook_resid_mid,blocks.1.hook_resid_post,logits',
      2,
    ),
  );
  expect(all.metadata).toMatchObject({
    prompt: 'The capital of France is',
    tokens: JSON.stringify(run.tokens),
  });
  check(all, run.tokens, 'last');

  exporter.format = 'safetensors';
  exporter.names = 'blocks.1.attn.*,blocks.0.mlp.hook_post,ln_final.hook_scale,logits';
  exporter.logits = 'all';
  const chosen = await exportToFile(exporter, 'chosen.safetensors');
  expect(chosen.names).toEqual(selectHooks(exporter.names, 2));
  check(chosen, run.tokens, 'all');

  exporter.names = 'blocks.*.hook_nothing';
  expect(exporter.namesError).toMatch(
    /^pattern "blocks\.\*\.hook_nothing" matches no hook: the hook names are hook_embed/,
  );
  await expect(exporter.write(blobSink())).rejects.toThrow('pattern "blocks.*.hook_nothing" matches no hook');
  expect(exporter.fileName).toMatch(/\.safetensors$/);
  exporter.names = 'blocks.1.attn.hook_pattern';
  expect(exporter.namesError).toBeUndefined();
});

test('the JSON export is the capture CLI’s, from an f32 run with the lens at every layer', async () => {
  const run = new PromptRun(studio, 'The cat sat on the mat');
  await run.run(run.tokens);
  const exporter = new CaptureExport(studio, run, 'B');
  exporter.format = 'json';
  expect(exporter.namesError).toBeUndefined();
  expect(exporter.fileName).toMatch(/-capture-B\.json$/);
  const sink = blobSink();
  const r = await exporter.write(sink);
  expect(r.hooks).toBeUndefined();
  const text = await sink.blob().text();
  expect(r.bytes).toBe(new TextEncoder().encode(text).length);
  const json = JSON.parse(text) as CaptureJson;
  const T = run.tokens.length;
  expect(json.tokens.map((t) => t.id)).toEqual(run.tokens);
  expect(json.lens).toHaveLength(config.nLayer + 1);
  const cache = runWithCache(weights, run.tokens, [
    'blocks.0.attn.hook_pattern',
    'blocks.1.attn.hook_pattern',
  ]);
  let err = 0;
  for (let l = 0; l < config.nLayer; l++) {
    const want = cache.get(`blocks.${l}.attn.hook_pattern` as never)!.data;
    for (let h = 0; h < config.nHead; h++)
      for (let q = 0; q < T; q++)
        for (let k = 0; k < T; k++)
          err = Math.max(err, Math.abs(json.attention[l]![h]![q]![k]! - want[(h * T + q) * T + k]!));
  }
  expect(err).toBeLessThanOrEqual(1e-5);
  exporter.dispose();
});
