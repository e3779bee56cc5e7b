// Input a model load must refuse or repair: config numbers out of bounds, an empty merges.txt, and
// a checkpoint saved without tokenizer files (GPT-2's vocabulary gets the standard GPT-2 tokenizer,
// any other is refused).

import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { filesFromDirectory, standardTokenizerFiles } from '../src/cli/node-source';
import { bytesSource } from '../src/model/byte-source';
import { countNonFinite } from '../src/model/checkpoint';
import { configLimits, gpt2ConfigJson, parseGpt2Config } from '../src/model/config';
import { ModelError } from '../src/model/errors';
import { gpt2Config } from '../src/model/fixtures';
import { openModel, standardTokenizerNote } from '../src/model/load';
import { Gpt2Tokenizer } from '../src/model/tokenizer';
import {
  checkpointOf,
  gpt2Tokenizer,
  gpt2TokenizerFiles,
  tinyWeights,
  writeModelFolder,
} from './support/tiny-models';
import { useTempDir } from './support/temp-dir';

const dir = useTempDir('strata-input-');

function refusal(fn: () => unknown): ModelError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ModelError);
    return error as ModelError;
  }
  throw new Error('not refused');
}

describe('config.json bounds', () => {
  const base = JSON.parse(
    gpt2ConfigJson(gpt2Config({ nLayer: 2, nHead: 2, nEmbd: 8, nCtx: 8, vocabSize: 300 })),
  );
  for (const [field, limit] of Object.entries(configLimits)) {
    it(`refuses ${field} above ${limit}, naming config.json and the field`, () => {
      const json = { ...base, [field]: limit + 1 };
      if (field === 'n_ctx') delete json.n_positions; // n_ctx is read only without n_positions
      const error = refusal(() => parseGpt2Config(JSON.stringify(json)));
      expect(error.kind).toBe('config');
      expect(error.message).toBe(
        `config.json: ${field}=${limit + 1} is over the limit of ${limit}: not a GPT-2 this studio can run`,
      );
    });
  }
  it('refuses an epsilon above 1', () => {
    const error = refusal(() => parseGpt2Config(JSON.stringify({ ...base, layer_norm_epsilon: 5 })));
    expect(error.message).toBe('config.json: layer_norm_epsilon must be a positive number up to 1, found 5');
  });
});

describe('merges.txt', () => {
  it('refuses an empty or header-only merges.txt', () => {
    const { vocabJson } = gpt2TokenizerFiles();
    for (const mergesTxt of ['', '#version: 0.2\n', '#version: 0.2\n\n\n']) {
      const error = refusal(() => Gpt2Tokenizer.fromFiles({ vocabJson, mergesTxt }));
      expect(error.message).toBe('merges.txt: holds no merge rules (empty, or only its #version line)');
    }
  });
});

describe('a checkpoint saved without tokenizer files', () => {
  const gpt2Vocab = gpt2Config({ nLayer: 1, nHead: 2, nEmbd: 8, nCtx: 8, vocabSize: 50257 });
  const files = (vocabSize: number) => {
    const weights = tinyWeights({ ...gpt2Vocab, vocabSize, bosTokenId: vocabSize - 1 }, 3);
    return {
      name: 'fine-tune',
      config: gpt2ConfigJson(weights.config),
      checkpoint: bytesSource('model.safetensors', checkpointOf(weights)),
      tokenizer: {},
    };
  };

  it('runs with the standard GPT-2 tokenizer when its vocab_size is 50257, and says so', async () => {
    const model = await openModel(files(50257), { standardTokenizer: standardTokenizerFiles });
    expect(model.tokenizerSource).toBe('standard-gpt2');
    const text = 'The capital of France is Paris.';
    expect(model.tokenizer.encode(text)).toEqual(gpt2Tokenizer().encode(text));
    expect(standardTokenizerNote).toContain('standard GPT-2 tokenizer');
  });

  it('refuses another vocabulary, and any without a stand-in', async () => {
    const other = await openModel(files(300), { standardTokenizer: standardTokenizerFiles }).catch((e) => e);
    expect(other).toBeInstanceOf(ModelError);
    expect((other as ModelError).message).toBe(
      "tokenizer.json: the model has no tokenizer files (tokenizer.json, or vocab.json + merges.txt), and its vocab_size=300 in config.json is not GPT-2's 50257, so the standard GPT-2 tokenizer cannot stand in",
    );
    const none = await openModel(files(50257)).catch((e) => e);
    expect((none as ModelError).kind).toBe('missing');
  });

  it('is found in a folder with the model files only', async () => {
    const folder = writeModelFolder(join(dir, 'bare'), tinyWeights(gpt2Vocab, 3));
    unlinkSync(join(folder, 'vocab.json'));
    unlinkSync(join(folder, 'merges.txt'));
    const loose = await filesFromDirectory(folder, { tokenizerOptional: true });
    expect(loose.tokenizer).toEqual({ tokenizerJson: undefined, vocabJson: undefined, mergesTxt: undefined });
    const model = await openModel(loose, { standardTokenizer: standardTokenizerFiles });
    expect(model.tokenizerSource).toBe('standard-gpt2');
    // Without the option a folder still needs its tokenizer, as before.
    const strict = await filesFromDirectory(folder).catch((e) => e);
    expect((strict as ModelError).message).toContain('tokenizer.json (or vocab.json + merges.txt)');
  });
});

describe('countNonFinite', () => {
  it('counts NaN and ±Inf by dtype, and nothing else', () => {
    const f32 = new Float32Array(10_000).map((_, i) => Math.sin(i) * 3e38);
    f32[1] = -0;
    f32[2] = 1e-45; // subnormal
    expect(countNonFinite({ dtype: 'F32', data: f32 })).toBe(0);
    f32[5000] = NaN;
    f32[9999] = -Infinity;
    f32[0] = Infinity;
    expect(countNonFinite({ dtype: 'F32', data: f32 })).toBe(3);
    // F16: 0x7c00 +Inf, 0xfc00 −Inf, 0x7e00 NaN; 0x7bff the largest finite, 0x0001 subnormal.
    expect(countNonFinite({ dtype: 'F16', data: Uint16Array.from([0x7bff, 0x0001, 0x8000, 0x3c00]) })).toBe(
      0,
    );
    expect(countNonFinite({ dtype: 'F16', data: Uint16Array.from([0x7c00, 0xfc00, 0x7e00, 0x3c00]) })).toBe(
      3,
    );
    // BF16: 0x7f80 +Inf, 0xff80 −Inf, 0x7fc0 NaN; 0x7f7f the largest finite.
    expect(countNonFinite({ dtype: 'BF16', data: Uint16Array.from([0x7f7f, 0x3f80, 0x0001]) })).toBe(0);
    expect(countNonFinite({ dtype: 'BF16', data: Uint16Array.from([0x7f80, 0xff80, 0x7fc0, 0x3f80]) })).toBe(
      3,
    );
  });
});
