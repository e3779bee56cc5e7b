// The studio's state for the flow view, compare mode and export, in Node on a real WebGPU device
// (Dawn; SwiftShader here), against the CPU reference forward: each prompt's residual stats and
// flow grid (lens top token, stream norms within 1e-4 relative), the two prompts' per-layer stream
// similarity (cosines within 1e-4), and the capture export — taken while a run is in flight, it
// still describes one run consistently (its tokens and its attention agree, within 1e-5).
import { expect, test } from 'vitest';
import { gpt2Config } from '../src/model/fixtures';
import { referenceForward, unembed } from '../src/model/reference';
import { Compare } from '../src/state/compare.svelte';
import { flowField, flowTop } from '../src/state/flow';
import { studioGpu } from '../src/state/gpu/access';
import { PromptRun } from '../src/state/prompt-run.svelte';
import { studioWith } from './support/tiny-engine';
import { gpt2Tokenizer, pickedFiles, tinyWeights } from './support/tiny-models';

const tokenizer = gpt2Tokenizer();
const config = gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 16, nCtx: 24, vocabSize: 50257 });
const weights = tinyWeights(config, 12, { wte: 20 }); // clear lens winners

const D = config.nEmbd;
const depthsOf = (tokens: number[]) => {
  const r = referenceForward(weights, tokens);
  return { r, depths: [...r.residPre, r.residPost] };
};
const norm = (x: Float32Array, t: number) => Math.hypot(...x.subarray(t * D, (t + 1) * D));

test('flow grids, stream similarity and exports of two prompts on one model', async () => {
  const studio = await studioWith(pickedFiles(weights));
  try {
    // GPU objects are reachable from the state layer's access module only.
    expect(studioGpu(studio).device()).toBeDefined();
    expect('device' in studio).toBe(false);
    expect('createSession' in studio).toBe(false);

    const a = new PromptRun(studio, 'The cat sat on the mat');
    const b = new PromptRun(studio, 'A dog ran in the park today');
    const compare = new Compare(a, b);
    await Promise.all([a.run(a.tokens), b.run(b.tokens)]);
    expect(a.error ?? b.error).toBeUndefined();
    expect(compare.sameLength).toBe(false);

    for (const run of [a, b]) {
      const tokens = [...run.tokens];
      const { depths } = depthsOf(tokens);
      const field = flowField(run.flow!.result, run.flow!.stats);
      expect(field.norms).toHaveLength((2 * config.nLayer + 1) * tokens.length);
      for (const [d, depth] of depths.entries()) {
        const V = config.vocabSize;
        const lens = unembed(weights, depth, tokens.length);
        const b = 2 * d; // resid_pre d, or the final resid_post (boundary 2L)
        for (let t = 0; t < tokens.length; t++) {
          const want = norm(depth, t);
          expect(Math.abs(field.norms[b * tokens.length + t]! - want)).toBeLessThanOrEqual(1e-4 * want);
          const logits = lens.subarray(t * V, (t + 1) * V);
          const top = flowTop(field, b, t, (id) => tokenizer.tokenLabel(id))!;
          expect(top[0]!.id).toBe(logits.indexOf(Math.max(...logits)));
        }
      }
    }

    // The streams at each prompt's last position, compared layer by layer.
    const da = depthsOf([...a.tokens]).depths;
    const db = depthsOf([...b.tokens]).depths;
    const [ta, tb] = [a.tokens.length - 1, b.tokens.length - 1];
    const want = da.map((x, d) => {
      const u = x.subarray(ta * D, (ta + 1) * D);
      const v = db[d]!.subarray(tb * D, (tb + 1) * D);
      let uv = 0;
      for (let i = 0; i < D; i++) uv += u[i]! * v[i]!;
      return uv / (Math.hypot(...u) * Math.hypot(...v));
    });
    const got = compare.similarity!;
    expect(got).toHaveLength(config.nLayer + 1);
    got.forEach((c, d) => expect(Math.abs(c - want[d]!), `depth ${d}`).toBeLessThanOrEqual(1e-4));

    // An export asked for while a new run is in flight: one run's data, consistent.
    b.text = 'The cat sat on the rug';
    const running = b.run(b.tokens);
    const exported = await b.exportCapture();
    await running;
    expect(compare.sameLength).toBe(true);
    const ids = exported.tokens.map((t) => t.id);
    const ref = referenceForward(weights, ids);
    let worst = 0;
    for (let l = 0; l < config.nLayer; l++)
      for (let h = 0; h < config.nHead; h++)
        for (let q = 0; q < ids.length; q++)
          for (let k = 0; k < ids.length; k++)
            worst = Math.max(
              worst,
              Math.abs(
                exported.attention[l]![h]![q]![k]! - ref.patterns[l]![(h * ids.length + q) * ids.length + k]!,
              ),
            );
    expect(worst).toBeLessThanOrEqual(1e-5);
    expect(exported.lens).toHaveLength(config.nLayer + 1);

    // Released: no result, no captures; it runs again when asked.
    await b.release();
    expect(b.result).toBeUndefined();
    expect(compare.similarity).toBeUndefined();
    await expect(b.exportCapture()).rejects.toThrow('nothing to export yet: run a prompt first');
    await b.run(b.tokens);
    expect(b.flow?.result.tokens).toEqual([...b.tokens]);
    a.dispose();
    b.dispose();
  } finally {
    studio.dispose();
  }
});
