// The GPT-2 tokenizer's files read into what Gpt2Tokenizer (tokenizer.ts) is built from:
// vocab.json + merges.txt, or Hugging Face's tokenizer.json when it is GPT-2-style byte-level BPE.
// Each problem names the file and where in it (a ModelError).

import { ModelError } from './errors';

// Ids are kept below 2^24 so that `left * 2^24 + right` (a merge's key) stays an exact integer.
export const MAX_ID = 2 ** 24 - 1;

/** One merge rule as read from a file; `where` locates it in messages ("line 7", "model.merges[5]"). */
export interface MergeRule {
  left: string;
  right: string;
  where: string;
}

export interface AddedToken {
  id: number;
  content: string;
  special: boolean;
}

/** Everything the tokenizer is built from, with the names to use in error messages. */
export interface TokenizerSpec {
  vocab: Map<string, number>;
  vocabFile: string; // 'vocab.json' or 'tokenizer.json'
  vocabName: string; // the vocab in messages: 'vocab.json' or 'model.vocab'
  vocabWhere: string; // message prefix locating the vocab inside its file: '' or 'model.vocab: '
  merges: MergeRule[];
  mergesFile: string;
  added: AddedToken[];
}

export function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ModelError('corrupt', file, `is not valid JSON (${(e as Error).message})`, { cause: e });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isId(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_ID;
}

/** `{token: id}` → Map, checking that ids are integers in range and not shared. */
export function parseVocab(value: unknown, file: string, where: string): Map<string, number> {
  if (!isObject(value)) {
    throw new ModelError('corrupt', file, `${where}must be an object of token → id, got ${describe(value)}`);
  }
  const vocab = new Map<string, number>();
  const tokenOfId: string[] = [];
  for (const [token, id] of Object.entries(value)) {
    if (!isId(id)) {
      throw new ModelError(
        'corrupt',
        file,
        `${where}token ${JSON.stringify(token)} has id ${JSON.stringify(id)}; ids must be integers from 0 to ${MAX_ID}`,
      );
    }
    const other = tokenOfId[id];
    if (other !== undefined) {
      throw new ModelError(
        'corrupt',
        file,
        `${where}tokens ${JSON.stringify(other)} and ${JSON.stringify(token)} both have id ${id}`,
      );
    }
    tokenOfId[id] = token;
    vocab.set(token, id);
  }
  return vocab;
}

/** merges.txt: an optional `#version` line, then one `left right` rule per line, highest priority first. */
export function parseMergesTxt(text: string): MergeRule[] {
  const merges: MergeRule[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '' || (index === 0 && line.startsWith('#version'))) return;
    const parts = line.split(' ');
    const [left, right] = parts;
    if (parts.length !== 2 || !left || !right) {
      throw new ModelError(
        'corrupt',
        'merges.txt',
        `line ${index + 1} is not a merge "left right": ${JSON.stringify(line.slice(0, 80))}`,
      );
    }
    merges.push({ left, right, where: `line ${index + 1}` });
  });
  // Without merges every token would be a single byte: a file cut off or saved empty.
  if (merges.length === 0) {
    throw new ModelError('corrupt', 'merges.txt', 'holds no merge rules (empty, or only its #version line)');
  }
  return merges;
}

/** Hugging Face's tokenizer.json, accepted only when it is GPT-2-style byte-level BPE. */
export function parseTokenizerJson(text: string): TokenizerSpec {
  const file = 'tokenizer.json';
  const root = parseJson(text, file);
  if (!isObject(root)) throw new ModelError('corrupt', file, `must be a JSON object, got ${describe(root)}`);
  const model = root['model'];
  if (!isObject(model)) throw new ModelError('corrupt', file, `has no "model" object`);
  if (model['type'] !== undefined && model['type'] !== 'BPE') {
    throw new ModelError(
      'unsupported',
      file,
      `model.type is ${JSON.stringify(model['type'])}; only byte-level BPE (GPT-2's) is supported`,
    );
  }
  // Features GPT-2's tokenizer does not use; ignoring them would silently give other ids.
  if (model['continuing_subword_prefix'] || model['end_of_word_suffix']) {
    throw new ModelError(
      'unsupported',
      file,
      'model uses subword prefixes/suffixes, which GPT-2 BPE does not',
    );
  }
  if (root['normalizer'] !== undefined && root['normalizer'] !== null) {
    throw new ModelError(
      'unsupported',
      file,
      `has a normalizer (${describe(root['normalizer'])}); GPT-2's tokenizer has none`,
    );
  }
  const pre = root['pre_tokenizer'];
  if (!isObject(pre) || pre['type'] !== 'ByteLevel') {
    throw new ModelError(
      'unsupported',
      file,
      `pre_tokenizer is ${describe(pre)}, not ByteLevel: this is not a GPT-2 byte-level BPE tokenizer`,
    );
  }
  if (pre['add_prefix_space'] === true) {
    throw new ModelError(
      'unsupported',
      file,
      'pre_tokenizer.add_prefix_space is true; GPT-2 adds no prefix space',
    );
  }
  if (pre['use_regex'] === false) {
    throw new ModelError(
      'unsupported',
      file,
      'pre_tokenizer.use_regex is false; GPT-2 pre-splits with its regex',
    );
  }

  const vocab = parseVocab(model['vocab'], file, 'model.vocab: ');
  const rawMerges = model['merges'];
  if (!Array.isArray(rawMerges)) {
    throw new ModelError('corrupt', file, `model.merges must be an array, got ${describe(rawMerges)}`);
  }
  // Two formats exist: "left right" strings (older files) and ["left", "right"] pairs (newer ones).
  const merges = rawMerges.map((entry: unknown, i): MergeRule => {
    const where = `model.merges[${i}]`;
    const parts = typeof entry === 'string' ? entry.split(' ') : entry;
    if (Array.isArray(parts) && parts.length === 2) {
      const [left, right] = parts as unknown[];
      if (typeof left === 'string' && typeof right === 'string' && left !== '' && right !== '') {
        return { left, right, where };
      }
    }
    throw new ModelError(
      'corrupt',
      file,
      `${where} is ${JSON.stringify(entry)}; expected "left right" or ["left", "right"]`,
    );
  });

  const rawAdded = root['added_tokens'] ?? [];
  if (!Array.isArray(rawAdded)) {
    throw new ModelError('corrupt', file, `added_tokens must be an array, got ${describe(rawAdded)}`);
  }
  const added = rawAdded.map((entry: unknown, i): AddedToken => {
    if (
      isObject(entry) &&
      isId(entry['id']) &&
      typeof entry['content'] === 'string' &&
      entry['content'] !== ''
    ) {
      return { id: entry['id'], content: entry['content'], special: entry['special'] === true };
    }
    throw new ModelError(
      'corrupt',
      file,
      `added_tokens[${i}] needs an integer "id" and a non-empty "content", got ${describe(entry)}`,
    );
  });

  return {
    vocab,
    vocabFile: file,
    vocabName: 'model.vocab',
    vocabWhere: 'model.vocab: ',
    merges,
    mergesFile: file,
    added,
  };
}

/** A short description of a JSON value for messages. */
function describe(value: unknown): string {
  if (isObject(value) && typeof value['type'] === 'string') return JSON.stringify(value['type']);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
