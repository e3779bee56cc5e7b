// From model files (any source) to a model ready to run: config checked against the checkpoint,
// the tokenizer built and checked against the config. Nothing is uploaded here; the engine streams
// the weights from `checkpoint` one tensor at a time.

import { openGpt2Checkpoint, type Gpt2Checkpoint } from './checkpoint';
import { parseGpt2Config } from './config';
import { ModelError } from './errors';
import { openSafetensors } from './safetensors';
import type { ByteSource } from './byte-source';
import type { TokenizerFiles } from './tokenizer';
import { Gpt2Tokenizer } from './tokenizer';
import type { Gpt2Config } from './types';

export interface OpenedModel {
  readonly name: string;
  readonly config: Gpt2Config;
  readonly checkpoint: Gpt2Checkpoint;
  readonly tokenizer: Gpt2Tokenizer;
  /**
   * 'model': the model's own tokenizer files; 'standard-gpt2': it came without any and has GPT-2's
   * vocabulary size, so the standard GPT-2 tokenizer shipped with Strata stands in (say so).
   */
  readonly tokenizerSource: 'model' | 'standard-gpt2';
}

/** GPT-2's vocabulary size: a checkpoint without tokenizer files and this size gets GPT-2's tokenizer. */
export const gpt2VocabSize = 50257;

/** What the studio and the CLI say when the standard tokenizer stands in. */
export const standardTokenizerNote =
  'the model has no tokenizer files: using the standard GPT-2 tokenizer (its vocab_size is 50257)';

export interface OpenOptions {
  /**
   * GPT-2's own tokenizer files (the studio fetches the bundled model's, the CLI reads them from
   * static/): used only for a model without tokenizer files whose config says vocab_size 50257.
   */
  standardTokenizer?: () => Promise<TokenizerFiles>;
}

/** True when `files` holds any tokenizer file (an empty TokenizerFiles: the model came without). */
export function hasTokenizerFiles(files: TokenizerFiles): boolean {
  return files.tokenizerJson !== undefined || files.vocabJson !== undefined || files.mergesTxt !== undefined;
}

/** A model's files, wherever they came from (src/io/sources.ts makes them). */
export interface ModelFiles {
  /** What the user would call the model: a hub id, a folder name, or the picked checkpoint's name. */
  name: string;
  /** config.json text. */
  config: string;
  /** model.safetensors, read in ranges: it may be larger than one ArrayBuffer. */
  checkpoint: ByteSource;
  /** tokenizer.json, or vocab.json + merges.txt; none of them for a model saved without any. */
  tokenizer: TokenizerFiles;
}

export async function openModel(files: ModelFiles, options: OpenOptions = {}): Promise<OpenedModel> {
  const config = parseGpt2Config(files.config);
  const safetensors = await openSafetensors(files.checkpoint);
  const checkpoint = openGpt2Checkpoint(config, safetensors);
  const own = hasTokenizerFiles(files.tokenizer);
  if (!own) {
    if (config.vocabSize !== gpt2VocabSize || !options.standardTokenizer) {
      throw new ModelError(
        'missing',
        'tokenizer.json',
        `the model has no tokenizer files (tokenizer.json, or vocab.json + merges.txt)` +
          (config.vocabSize === gpt2VocabSize
            ? ''
            : `, and its vocab_size=${config.vocabSize} in config.json is not GPT-2's ${gpt2VocabSize}, ` +
              'so the standard GPT-2 tokenizer cannot stand in'),
      );
    }
  }
  const tokenizer = Gpt2Tokenizer.fromFiles(own ? files.tokenizer : await options.standardTokenizer!());
  if (tokenizer.vocabSize > config.vocabSize) {
    const file = files.tokenizer.tokenizerJson !== undefined ? 'tokenizer.json' : 'vocab.json';
    throw new ModelError(
      'shape',
      file,
      `the tokenizer has ${tokenizer.vocabSize} tokens but config.json's vocab_size is ${config.vocabSize}: ` +
        'they belong to different models',
    );
  }
  return {
    name: files.name,
    config,
    checkpoint,
    tokenizer,
    tokenizerSource: own ? 'model' : 'standard-gpt2',
  };
}
