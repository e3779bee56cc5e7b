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
}

/** A model's files, wherever they came from (src/io/sources.ts makes them). */
export interface ModelFiles {
  /** What the user would call the model: a hub id, a folder name, or the picked checkpoint's name. */
  name: string;
  /** config.json text. */
  config: string;
  /** model.safetensors, read in ranges: it may be larger than one ArrayBuffer. */
  checkpoint: ByteSource;
  /** tokenizer.json, or vocab.json + merges.txt. */
  tokenizer: TokenizerFiles;
}

export async function openModel(files: ModelFiles): Promise<OpenedModel> {
  const config = parseGpt2Config(files.config);
  const safetensors = await openSafetensors(files.checkpoint);
  const checkpoint = openGpt2Checkpoint(config, safetensors);
  const tokenizer = Gpt2Tokenizer.fromFiles(files.tokenizer);
  if (tokenizer.vocabSize > config.vocabSize) {
    const file = files.tokenizer.tokenizerJson !== undefined ? 'tokenizer.json' : 'vocab.json';
    throw new ModelError(
      'shape',
      file,
      `the tokenizer has ${tokenizer.vocabSize} tokens but config.json's vocab_size is ${config.vocabSize}: ` +
        'they belong to different models',
    );
  }
  return { name: files.name, config, checkpoint, tokenizer };
}
