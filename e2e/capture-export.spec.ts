// The prompt panel's Export menu in Chromium on the bundled model (static/models/gpt2-brown-mini):
// safetensors written through the File System Access API's save picker (a stream, a tensor at a
// time; the picker's dialog answered with a file of the origin-private file system, as a person
// picking a file would) and npz saved as a download (browsers without the picker). Both files are
// read back by Python with numpy alone (test/support/read_export.py) and their hooks checked
// against the CPU reference forward's runWithCache on the same tokens: patterns within 1e-5, the
// residual stream and logits within 1e-4 × max |value|; safetensors' metadata holds the model, the
// prompt and the token ids. A hook pattern that matches nothing is refused as it is typed, naming
// the hooks that exist, and nothing is saved.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { filesFromDirectory } from '../src/cli/node-source';
import { selectHooks } from '../src/model/hook-names';
import { openModel } from '../src/model/load';
import { runWithCache } from '../src/model/reference-hooks';
import type { Gpt2Weights } from '../src/model/types';
import { readWithPython, type ReadBack } from '../test/support/python-reader';
import { expect, test } from './fixture';

const prompt = 'The capital of France is';
let dir: string;
let weights: Gpt2Weights;
let tokens: number[];

test.beforeAll(async () => {
  const model = await openModel(await filesFromDirectory('static/models/gpt2-brown-mini'));
  weights = await model.checkpoint.loadWeights();
  tokens = model.tokenizer.encode(prompt);
  dir = mkdtempSync(join(tmpdir(), 'strata-e2e-export-'));
});
test.afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every hook of `back` against the reference: patterns 1e-5, the rest 1e-4 × max |value|. */
function checkAgainstReference(back: ReadBack, logits: 'last' | 'all') {
  const cache = runWithCache(weights, tokens, back.names, { logits });
  const errors: string[] = [];
  for (const name of back.names) {
    const want = cache.get(name as never)!;
    const got = back.values.get(name)!;
    expect(back.shapes[name], name).toEqual(want.shape);
    expect(back.dtypes[name], name).toBe('<f4');
    let err = 0;
    let scale = 0;
    for (let i = 0; i < got.length; i++) {
      err = Math.max(err, Math.abs(got[i]! - want.data[i]!));
      scale = Math.max(scale, Math.abs(want.data[i]!));
    }
    const bound = name.endsWith('hook_pattern') ? 1e-5 : 1e-4 * scale;
    if (!(err <= bound)) errors.push(`${name}: error ${err} > ${bound}`);
  }
  expect(errors).toEqual([]);
}

test('the Export menu saves safetensors (save picker) and npz (download) that numpy reads as the reference', async ({
  page,
}) => {
  await page.goto(`/?${new URLSearchParams({ prompt }).toString()}`);
  await expect(page.getByTestId('model-panel')).toContainText('gpt2-brown-mini');
  await expect(page.getByTestId('next-tokens').locator('li')).toHaveCount(5);
  const L = weights.config.nLayer;

  // The menu is a small button: closed, it takes one line of the prompt's header.
  const menu = page.getByTestId('export-menu');
  const closed = await menu.boundingBox();
  expect(closed!.height).toBeLessThan(32);
  expect(closed!.width).toBeLessThan(120);
  await menu.locator('summary').click();
  const group = page.getByRole('group', { name: 'Export the captures' });
  await expect(group).toBeVisible();

  // safetensors through the save picker, into a file of the origin-private file system.
  await page.evaluate(() => {
    (window as unknown as { showSaveFilePicker: unknown }).showSaveFilePicker = async (o: {
      suggestedName: string;
    }) => (await navigator.storage.getDirectory()).getFileHandle(o.suggestedName, { create: true });
  });
  await group.getByLabel('Format').selectOption('safetensors');
  await group.getByRole('button', { name: 'Save the safetensors export' }).click();
  const file = 'gpt2-brown-mini-capture.safetensors';
  await expect(group.getByRole('status')).toContainText(`${file}: ${3 * L + 2} hooks`, { timeout: 120_000 });
  const base64 = await page.evaluate(async (name) => {
    const f = await (await (await navigator.storage.getDirectory()).getFileHandle(name)).getFile();
    const bytes = new Uint8Array(await f.arrayBuffer());
    let s = '';
    for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
    return btoa(s);
  }, file);
  writeFileSync(join(dir, file), Buffer.from(base64, 'base64'));
  const st = readWithPython(join(dir, file));
  expect(st.format).toBe('safetensors');
  // The default: what the prompt's session captures (every pattern and residual boundary, the logits).
  expect(st.names).toEqual(
    selectHooks(
      `blocks.*.attn.hook_pattern,*hook_resid_pre,*hook_resid_mid,blocks.${L - 1}.hook_resid_post,logits`,
      L,
    ),
  );
  expect(st.metadata).toMatchObject({
    producer: 'strata',
    model: 'gpt2-brown-mini',
    prompt,
    tokens: JSON.stringify(tokens),
    logits: 'last',
    dtype: 'F32',
  });
  checkAgainstReference(st, 'last');

  // npz as a download (no save picker): chosen hooks, the logits at every position.
  await page.evaluate(
    () => delete (window as unknown as { showSaveFilePicker?: unknown }).showSaveFilePicker,
  );
  await group.getByLabel('Format').selectOption('npz');
  await group
    .getByLabel('Hooks')
    .fill('blocks.2.attn.hook_pattern, blocks.1.hook_resid_mid, blocks.3.attn.hook_z, logits');
  await group.getByLabel('Logits').selectOption('all');
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 120_000 }),
    group.getByRole('button', { name: 'Save the npz export' }).click(),
  ]);
  expect(download.suggestedFilename()).toBe('gpt2-brown-mini-capture.npz');
  const npzPath = join(dir, 'chosen.npz');
  writeFileSync(npzPath, readFileSync((await download.path())!));
  const npz = readWithPython(npzPath);
  expect(npz.names).toEqual([
    'blocks.1.hook_resid_mid',
    'blocks.2.attn.hook_pattern',
    'blocks.3.attn.hook_z',
    'logits',
  ]);
  expect(npz.shapes['logits']).toEqual([tokens.length, weights.config.vocabSize]);
  expect(npz.metadata).toMatchObject({ prompt, tokens: JSON.stringify(tokens), logits: 'all' });
  checkAgainstReference(npz, 'all');

  // A pattern that matches nothing: refused as typed, naming the hooks that exist; no export.
  const names = group.getByLabel('Hooks');
  await names.fill('blocks.*.attn.hook_pattern,blocks.*.hook_nothing');
  const alert = group.getByRole('alert');
  await expect(alert).toContainText('pattern "blocks.*.hook_nothing" matches no hook');
  await expect(alert).toContainText('blocks.L.{hook_resid_pre');
  await expect(alert).toContainText(`L in 0–${L - 1}`);
  await expect(names).toHaveAttribute('aria-invalid', 'true');
  await expect(group.getByRole('button', { name: 'Save the npz export' })).toBeDisabled();
  await names.fill('');
  await expect(alert).toHaveCount(0);
  await expect(group.getByRole('button', { name: 'Save the npz export' })).toBeEnabled();
});
