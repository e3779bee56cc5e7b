// Where model files come from: the Hugging Face hub (with an optional cache), files the user picks,
// and a folder served with the app (static/models/NAME/). Every source resolves to the same
// ModelFiles; parsing them is someone else's job. Node directories are in src/cli/node-source.ts.

import { blobSource, type ByteSource } from '../model/byte-source';
import {
  download,
  exists,
  isNotFound,
  MemorySink,
  type DownloadOptions,
  type ExpectedFile,
  type Site,
} from './download';
import { headMetadata, listingMetadata } from './hub-metadata';
import { ModelError } from '../model/errors';
import { cacheKey, fetchCached, type ModelCache } from './model-cache';
import type { TokenizerFiles } from '../model/tokenizer';
import type { ModelFiles } from '../model/load';

export type { ModelFiles, TokenizerFiles };

/** Bare names of the GPT-2 family, as the hub still resolves them, and their current ids. */
export const hubAliases: Readonly<Record<string, string>> = {
  gpt2: 'openai-community/gpt2',
  'gpt2-medium': 'openai-community/gpt2-medium',
  'gpt2-large': 'openai-community/gpt2-large',
  'gpt2-xl': 'openai-community/gpt2-xl',
  distilgpt2: 'distilbert/distilgpt2',
};

export const defaultHubEndpoint = 'https://huggingface.co';

/** `gpt2` → `openai-community/gpt2`; `owner/name` as is; anything else is a 'missing' error. */
export function resolveHubId(id: string): string {
  const alias = hubAliases[id];
  if (alias) return alias;
  if (/^[\w-][\w.-]*\/[\w-][\w.-]*$/.test(id)) return id;
  throw new ModelError(
    'missing',
    id,
    `not a hub model id: use owner/name (e.g. openai-community/gpt2) or one of ${Object.keys(hubAliases).join(', ')}`,
  );
}

export interface HubLocation {
  /** The hub, or a mirror (the CLI passes $HF_ENDPOINT). Default https://huggingface.co. */
  endpoint?: string;
  /** Branch, tag or commit. Default main. */
  revision?: string;
}

export function hubUrl(id: string, file: string, { endpoint, revision }: HubLocation = {}): string {
  const base = (endpoint ?? defaultHubEndpoint).replace(/\/+$/, '');
  return `${base}/${id}/resolve/${encodeURIComponent(revision ?? 'main')}/${file}`;
}

export interface HubOptions extends HubLocation, DownloadOptions {
  /** Keeps the files for the next load; without one every load downloads. */
  cache?: ModelCache;
  /** The cache key of a file's URL. Default cacheKey; the CLI keys by file name to fill one folder. */
  keyOf?: (url: string) => string;
  /** A model without any tokenizer file loads (ModelFiles.tokenizer empty; openModel decides). */
  tokenizerOptional?: boolean;
  /**
   * Where to learn each file's size and SHA-256 before downloading it, to verify the download:
   * 'listing' (the model API; what browsers can read), 'head' (Node: a HEAD that does not follow
   * the hub's redirect), or 'listing+head' (the listing, else HEAD: Node against mirrors without
   * the API). Asked only for files to download or not yet verified. Without it, downloads trust
   * Content-Length / Content-Range.
   */
  verify?: 'head' | 'listing' | 'listing+head';
}

/** Downloads (or reads from the cache) config.json, the tokenizer files and model.safetensors. */
export async function filesFromHub(id: string, options: HubOptions = {}): Promise<ModelFiles> {
  const repo = resolveHubId(id);
  const { cache, keyOf = cacheKey } = options;
  const site: Site = 'the hub';
  const urlOf = (file: string): string => hubUrl(repo, file, options);
  const watch = { signal: options.signal, timeoutMs: options.stallTimeoutMs };
  const head = options.verify?.includes('head') ? headMetadata(urlOf, watch) : undefined;
  const listing = options.verify?.includes('listing')
    ? listingMetadata(options.endpoint ?? defaultHubEndpoint, repo, options.revision ?? 'main', watch)
    : undefined;
  const metadata =
    head || listing ? async (file: string) => (await listing?.(file)) ?? (await head?.(file)) : undefined;
  return loadFiles(repo, {
    url: urlOf,
    fetch: async (file) => {
      const url = urlOf(file);
      // The listing is asked for once config.json arrived (the repo exists): a browser logs every
      // 404, and a missing model should show one, for config.json.
      const listed = options.verify !== 'listing' || file !== 'config.json';
      const expected = metadata && listed ? () => metadata(file) : undefined;
      return cache
        ? fetchCached(url, keyOf(url), cache, { ...options, site, expected })
        : fetchToMemory(url, { ...options, expected: await expected?.() }, site);
    },
    isCached: async (file) => (await cache?.get(keyOf(urlOf(file)))) !== undefined,
    exists: (file) => exists(urlOf(file), options.signal, options.stallTimeoutMs),
    tokenizerOptional: options.tokenizerOptional ?? false,
  });
}

/** True when every file a load needs is in the cache, so the model loads offline. */
export async function isHubModelCached(
  id: string,
  cache: ModelCache,
  options: HubLocation & { keyOf?: (url: string) => string } = {},
): Promise<boolean> {
  const repo = resolveHubId(id);
  const { keyOf = cacheKey } = options;
  const has = async (file: string): Promise<boolean> =>
    (await cache.get(keyOf(hubUrl(repo, file, options)))) !== undefined;
  if (!(await has('config.json')) || !(await has('model.safetensors'))) return false;
  return (await has('tokenizer.json')) || ((await has('vocab.json')) && (await has('merges.txt')));
}

/**
 * A model folder served with the app, e.g. `/models/gpt2-brown-mini/` for static/models/gpt2-brown-mini/.
 * A relative URL is resolved against the page.
 */
export async function filesFromFolder(
  baseUrl: string,
  options: DownloadOptions & { tokenizerOptional?: boolean } = {},
): Promise<ModelFiles> {
  const withSlash = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const base = new URL(withSlash, globalThis.location?.href);
  const name = decodeURIComponent(
    base.pathname
      .split('/')
      .filter((part) => part !== '')
      .pop() ?? base.host,
  );
  const urlOf = (file: string): string => new URL(file, base).href;
  return loadFiles(name, {
    url: urlOf,
    fetch: (file) => fetchToMemory(urlOf(file), options, 'the server'),
    isCached: () => Promise.resolve(false),
    exists: (file) => exists(urlOf(file), options.signal, options.stallTimeoutMs),
    tokenizerOptional: options.tokenizerOptional ?? false,
  });
}

/** GPT-2's vocab.json and merges.txt from a folder served with the app (the bundled model's). */
export async function standardTokenizerFromFolder(
  baseUrl: string,
  options: DownloadOptions = {},
): Promise<TokenizerFiles> {
  const base = new URL(baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`, globalThis.location?.href);
  const text = async (file: string) =>
    textOf(await fetchToMemory(new URL(file, base).href, options, 'the server'));
  return { vocabJson: await text('vocab.json'), mergesTxt: await text('merges.txt') };
}

/** Files the user picked (an <input type=file multiple> or a dropped folder), found by name. */
export async function filesFromPicked(
  files: readonly File[],
  options: { tokenizerOptional?: boolean } = {},
): Promise<ModelFiles> {
  const chosen = chooseModelFiles(files, (file) => file.name, 'the picked files', options);
  return {
    name: chosen.checkpoint.name,
    config: await chosen.config.text(),
    checkpoint: blobSource(chosen.checkpoint.name, chosen.checkpoint),
    tokenizer: {
      tokenizerJson: await chosen.tokenizerJson?.text(),
      vocabJson: await chosen.vocabJson?.text(),
      mergesTxt: await chosen.mergesTxt?.text(),
    },
  };
}

export interface ModelFileChoice<T> {
  config: T;
  checkpoint: T;
  tokenizerJson?: T;
  vocabJson?: T;
  mergesTxt?: T;
}

const needs =
  'a GPT-2 model needs config.json, a .safetensors checkpoint and tokenizer.json (or vocab.json + merges.txt)';

/**
 * Finds a model's files in a listing by name: config.json; model.safetensors or the only
 * *.safetensors; tokenizer.json, else vocab.json + merges.txt. `where` names the listing in messages.
 */
export function chooseModelFiles<T>(
  entries: readonly T[],
  nameOf: (entry: T) => string,
  where: string,
  options: { tokenizerOptional?: boolean } = {},
): ModelFileChoice<T> {
  const byName = new Map(entries.map((entry) => [nameOf(entry), entry]));
  const names = [...byName.keys()];
  const listing =
    names.length === 0 ? 'nothing' : names.slice(0, 20).join(', ') + (names.length > 20 ? ', ...' : '');

  const checkpoints = names.filter((name) => name.endsWith('.safetensors'));
  if (checkpoints.length > 1 && !byName.has('model.safetensors')) {
    throw new ModelError(
      'unsupported',
      checkpoints.join(', '),
      `several checkpoints among ${where}: choose one (sharded checkpoints are not supported)`,
    );
  }
  const checkpointName = byName.has('model.safetensors') ? 'model.safetensors' : checkpoints[0];
  const pytorch = names.find((name) => /^pytorch_model.*\.bin$|\.(pt|pth|ckpt)$/.test(name));
  if (checkpointName === undefined && pytorch !== undefined) throw safetensorsOnly(pytorch, 'the model');

  const tokenizerJson = byName.get('tokenizer.json');
  const vocabJson = byName.get('vocab.json');
  const mergesTxt = byName.get('merges.txt');
  const config = byName.get('config.json');
  const checkpoint = checkpointName === undefined ? undefined : byName.get(checkpointName);
  // No tokenizer file at all may be allowed (openModel decides); half a pair never is.
  const noTokenizer = options.tokenizerOptional && !tokenizerJson && !vocabJson && !mergesTxt;
  const missing = [
    ...(config ? [] : ['config.json']),
    ...(checkpoint ? [] : ['model.safetensors']),
    ...(tokenizerJson || (vocabJson && mergesTxt) || noTokenizer
      ? []
      : ['tokenizer.json (or vocab.json + merges.txt)']),
  ];
  if (!config || !checkpoint || missing.length > 0) {
    throw new ModelError('missing', missing.join(', '), `not among ${where} (${listing}); ${needs}`);
  }
  if (noTokenizer) return { config, checkpoint };
  return tokenizerJson ? { config, checkpoint, tokenizerJson } : { config, checkpoint, vocabJson, mergesTxt };
}

function safetensorsOnly(file: string, model: string): ModelError {
  return new ModelError(
    'unsupported',
    file,
    `${model} has a PyTorch checkpoint only; Strata reads safetensors checkpoints only. Convert it with ` +
      `transformers: AutoModelForCausalLM.from_pretrained(path).save_pretrained(out, safe_serialization=True), ` +
      `or with the hub's converter at https://huggingface.co/spaces/safetensors/convert`,
  );
}

/** How loadFiles reaches one model's files, by file name. */
interface FileAccess {
  url(file: string): string;
  /** The file's bytes; rejects with an HttpStatusError 404 when there is no such file. */
  fetch(file: string): Promise<ByteSource>;
  /** True when fetch would not touch the network: prefer what is cached when offline. */
  isCached(file: string): Promise<boolean>;
  exists(file: string): Promise<boolean>;
  /** No tokenizer file at all gives an empty TokenizerFiles instead of an error. */
  tokenizerOptional: boolean;
}

// Small files first: a missing tokenizer shows before a 500 MB checkpoint has been downloaded.
async function loadFiles(name: string, access: FileAccess): Promise<ModelFiles> {
  const config = await textOf(await access.fetch('config.json'));
  const tokenizer = await loadTokenizer(access);
  const checkpoint = await access.fetch('model.safetensors').catch(async (error: unknown) => {
    if (isNotFound(error) && (await access.exists('pytorch_model.bin'))) {
      throw safetensorsOnly(access.url('pytorch_model.bin'), name);
    }
    throw error;
  });
  return { name, config, checkpoint, tokenizer };
}

async function loadTokenizer(access: FileAccess): Promise<TokenizerFiles> {
  const pair = async (): Promise<TokenizerFiles> => ({
    vocabJson: await textOf(await access.fetch('vocab.json')),
    mergesTxt: await textOf(await access.fetch('merges.txt')),
  });
  const pairCached = (await access.isCached('vocab.json')) && (await access.isCached('merges.txt'));
  if (pairCached && !(await access.isCached('tokenizer.json'))) return pair();
  try {
    return { tokenizerJson: await textOf(await access.fetch('tokenizer.json')) };
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  try {
    return await pair();
  } catch (error) {
    if (!isNotFound(error)) throw error;
    const none =
      access.tokenizerOptional &&
      !(await access.exists('vocab.json')) &&
      !(await access.exists('merges.txt'));
    if (none) return {};
    throw new ModelError(
      'missing',
      access.url('tokenizer.json'),
      'no tokenizer: neither tokenizer.json nor vocab.json + merges.txt exists',
      { cause: error },
    );
  }
}

async function fetchToMemory(
  url: string,
  options: DownloadOptions & { expected?: ExpectedFile },
  site: Site,
): Promise<ByteSource> {
  const sink = new MemorySink();
  await download(url, sink, { ...options, site });
  return blobSource(url, sink.blob());
}

async function textOf(source: ByteSource): Promise<string> {
  return new TextDecoder().decode(await source.read(0, source.size));
}
