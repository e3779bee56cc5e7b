// TransformerLens hook names: the full list, shapes, `--names` patterns and their errors.
import { describe, expect, it } from 'vitest';
import {
  allHookNames,
  blockHooks,
  checkHookNames,
  hookParts,
  hookShape,
  selectHooks,
} from '../src/model/hook-names';
import { gpt2Config } from '../src/model/fixtures';

const config = gpt2Config({ nLayer: 3, nHead: 4, nEmbd: 32, nCtx: 16, vocabSize: 97, nInner: 80 });

describe('hook names', () => {
  it('lists every hook in forward order: embeddings, 17 per block, ln_final and the logits', () => {
    const names = allHookNames(2);
    expect(names.length).toBe(2 + 17 * 2 + 3);
    expect(names.slice(0, 5)).toEqual([
      'hook_embed',
      'hook_pos_embed',
      'blocks.0.hook_resid_pre',
      'blocks.0.ln1.hook_scale',
      'blocks.0.ln1.hook_normalized',
    ]);
    expect(names.slice(-4)).toEqual([
      'blocks.1.hook_resid_post',
      'ln_final.hook_scale',
      'ln_final.hook_normalized',
      'logits',
    ]);
    expect(new Set(names).size).toBe(names.length);
  });

  it('takes names apart, and refuses what the model lacks', () => {
    expect(hookParts('blocks.2.attn.hook_z', 3)).toEqual({ layer: 2, hook: 'attn.hook_z' });
    expect(hookParts('ln_final.hook_scale', 3)).toEqual({ layer: null, hook: 'ln_final.hook_scale' });
    expect(hookParts('blocks.3.attn.hook_z', 3)).toBeUndefined();
    expect(hookParts('blocks.01.attn.hook_z', 3)).toBeUndefined();
    expect(hookParts('blocks.0.attn.hook_result', 3)).toBeUndefined();
    expect(hookParts('blocks.0.hook_z', 3)).toBeUndefined();
  });

  it("gives TransformerLens's shapes without the batch dimension", () => {
    const T = 5;
    const shape = (n: string, logits?: 'last' | 'all') =>
      hookShape(checkHookNames([n], 3)[0]!, config, T, logits);
    expect(shape('hook_embed')).toEqual([5, 32]);
    expect(shape('blocks.1.ln1.hook_scale')).toEqual([5, 1]);
    expect(shape('blocks.1.ln2.hook_normalized')).toEqual([5, 32]);
    expect(shape('blocks.0.attn.hook_q')).toEqual([5, 4, 8]);
    expect(shape('blocks.0.attn.hook_z')).toEqual([5, 4, 8]);
    expect(shape('blocks.0.attn.hook_attn_scores')).toEqual([4, 5, 5]);
    expect(shape('blocks.0.attn.hook_pattern')).toEqual([4, 5, 5]);
    expect(shape('blocks.2.mlp.hook_pre')).toEqual([5, 80]);
    expect(shape('blocks.2.hook_mlp_out')).toEqual([5, 32]);
    expect(shape('ln_final.hook_scale')).toEqual([5, 1]);
    expect(shape('logits')).toEqual([1, 97]);
    expect(shape('logits', 'all')).toEqual([5, 97]);
    expect(blockHooks.length).toBe(17);
  });
});

/** Each `--names` value is refused with its message (on a model of `layers` layers, 3 unless given). */
function expectRefusals(cases: readonly [names: string, message: string, layers?: number][]): void {
  for (const [names, message, layers = 3] of cases) expect(() => selectHooks(names, layers)).toThrow(message);
}

describe('--names patterns', () => {
  it('selects by name and by glob, in forward order, without duplicates', () => {
    expect(selectHooks('blocks.*.attn.hook_pattern,*hook_resid_pre', 3)).toEqual([
      'blocks.0.hook_resid_pre',
      'blocks.0.attn.hook_pattern',
      'blocks.1.hook_resid_pre',
      'blocks.1.attn.hook_pattern',
      'blocks.2.hook_resid_pre',
      'blocks.2.attn.hook_pattern',
    ]);
    expect(selectHooks(' logits , hook_embed,logits', 3)).toEqual(['hook_embed', 'logits']);
    expect(selectHooks('blocks.1.*', 3)).toEqual(allHookNames(3).filter((n) => n.startsWith('blocks.1.')));
    expect(selectHooks('*', 3)).toEqual(allHookNames(3));
    expect(selectHooks('blocks.?.ln?.hook_scale', 3).length).toBe(6);
    // `.` in a glob is a dot, not "any character".
    expect(() => selectHooks('blocks.0*attn.hook.z*', 3)).toThrow('matches no hook');
  });

  it('names an unknown hook and says which names exist', () => {
    expectRefusals([
      [
        'blocks.0.attn.hook_result',
        'unknown hook "blocks.0.attn.hook_result": the hook names are hook_embed, hook_pos_embed; ' +
          'blocks.L.{hook_resid_pre, ln1.hook_scale, ln1.hook_normalized, attn.hook_q, attn.hook_k, ' +
          'attn.hook_v, attn.hook_attn_scores, attn.hook_pattern, attn.hook_z, hook_attn_out, ' +
          'hook_resid_mid, ln2.hook_scale, ln2.hook_normalized, mlp.hook_pre, mlp.hook_post, ' +
          'hook_mlp_out, hook_resid_post} for L in 0–2; ln_final.hook_scale, ln_final.hook_normalized, logits',
      ],
      [
        'blocks.3.hook_resid_pre',
        'unknown hook "blocks.3.hook_resid_pre": the model has 3 layers (layers are 0–2)',
      ],
      ['blocks.1.hook_resid_pre', 'the model has 1 layer (the only layer is 0)', 1],
    ]);
  });

  it('suggests the name meant when one is a typo away', () => {
    expectRefusals([
      [
        'blocks.1.attn.hook_patern',
        'unknown hook "blocks.1.attn.hook_patern" (did you mean "blocks.1.attn.hook_pattern"?): the hook names are',
      ],
      ['blocks.0.hook_resid_pr', '(did you mean "blocks.0.hook_resid_pre"?)'],
      ['ln_f.hook_scale', 'unknown hook "ln_f.hook_scale": the hook names are'],
    ]);
  });

  it('names a pattern that matches nothing', () => {
    expectRefusals([
      [
        'logits,blocks.*.attn.hook_patern',
        'pattern "blocks.*.attn.hook_patern" matches no hook: the hook names are hook_embed',
      ],
      ['blocks.9*', 'pattern "blocks.9*" matches no hook'],
    ]);
  });

  it('refuses an empty list or an empty item', () => {
    expectRefusals([
      ['', 'no hook names given'],
      [' , ', 'no hook names given'],
      ['logits,,hook_embed', 'empty name in "logits,,hook_embed"'],
    ]);
  });

  it('checks names given in code', () => {
    expect(() => checkHookNames(['logits', 'blocks.0.hook_z'], 3)).toThrow('unknown hook "blocks.0.hook_z"');
  });
});
