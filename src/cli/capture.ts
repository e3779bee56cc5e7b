// npm run capture -- --model <folder or hub id> (--prompt "TEXT" | --ids 1,2,3) [--bos] [--out FILE]
//                    [--ablate 5.5,6.9] [--ablate-mlp 3] [--ablate-mode zero|mean]
//
// Strata's `run_with_cache` for scripts and notebooks: one forward pass on the same engine as the
// studio (WebGPU through Dawn), written as JSON — every attention pattern, the residual stream's
// norm at every boundary, the last position's logits, and the logit lens's top-5 per layer —
// optionally with heads and MLPs ablated (zero, or the mean over the prompt's positions).

import { captureJson, type CaptureJson } from '../engine/capture-json';
import { Engine } from '../engine/engine';
import { nonFiniteCapture } from '../instruments/non-finite';
import { checkAblation, parseHeadList, parseLayerList, type Ablation } from '../model/ablation';
import type { OpenedModel } from '../model/load';
import type { Gpt2Tokenizer } from '../model/tokenizer';
import { parseTokenIds, UsageError } from './args';
import {
  commandLine,
  resolveModel,
  runCommand,
  usageFailure,
  writeResult,
  scriptOptions,
  textOptions,
  flagOption,
} from './command';
import { nodeGpu } from './node-gpu';
import { nodeShaders } from './node-shaders';
import { exportArgOptions, exportCapture, exportUsage, parseExportArgs } from './capture-export';

const usage = `usage: npm run capture -- --model <folder or hub id> (--prompt "TEXT" | --ids 1,2,3) [--bos] [--out FILE]
                           [--ablate L.H,…] [--ablate-mlp L,…] [--ablate-mode zero|mean]

  --model     a model folder (config.json, model.safetensors, tokenizer files) or a hub id
              (gpt2, distilgpt2, owner/name; downloads once into the cache, $HF_ENDPOINT honoured)
  --prompt    text to tokenize with the model's tokenizer
  --ids       token ids, comma-separated, instead of --prompt
  --bos       prepend <|endoftext|> as TransformerLens does by default
  --out       write the JSON here (default: stdout)
  --ablate    heads to ablate, layer.head comma-separated (e.g. 5.5,6.9): their output (hook_z) is
              replaced before attn.c_proj, whose bias stays
  --ablate-mlp  layers whose MLP output (hook_mlp_out) is ablated, comma-separated (e.g. 3)
  --ablate-mode zero (default) or mean: the mean over the prompt's positions
${exportUsage}`;

export type { CaptureJson } from '../engine/capture-json';

export async function capture(
  model: OpenedModel,
  tokens: number[],
  options: { ablate?: Ablation } = {},
): Promise<CaptureJson> {
  // A bad head or layer is refused before anything is uploaded.
  if (options.ablate) checkAblation(model.config, options.ablate);
  const gpu = await nodeGpu();
  const engine = await Engine.load(gpu, nodeShaders(), model.checkpoint, { weightFormat: 'f32' });
  try {
    const session = engine.createSession({ capacity: tokens.length });
    const run = await session.run(tokens, { ablate: options.ablate });
    return await captureJson({
      device: gpu.device,
      config: model.config,
      name: model.name,
      adapter: gpu.summary,
      session,
      run,
      tokenLabel: (id) => model.tokenizer.tokenLabel(id),
    });
  } finally {
    engine.dispose();
    gpu.device.destroy();
  }
}

/**
 * The ablation that --ablate, --ablate-mlp and --ablate-mode ask for (undefined for none); checks
 * syntax only (the ranges are checked against the model in capture()).
 */
export function ablationOption(opts: {
  ablate?: string;
  'ablate-mlp'?: string;
  'ablate-mode'?: string;
}): Ablation | undefined {
  const mode = opts['ablate-mode'] ?? 'zero';
  if (mode !== 'zero' && mode !== 'mean')
    throw new Error(`--ablate-mode must be zero or mean, got "${mode}"`);
  if (opts.ablate === undefined && opts['ablate-mlp'] === undefined) {
    if (opts['ablate-mode'] !== undefined) throw new Error('--ablate-mode needs --ablate or --ablate-mlp');
    return undefined;
  }
  const tag = (flag: string, parse: () => unknown) => {
    try {
      return parse();
    } catch (e) {
      throw new Error(`${flag}: ${(e as Error).message}`);
    }
  };
  const heads =
    opts.ablate === undefined
      ? []
      : (tag('--ablate', () => parseHeadList(opts.ablate!)) as Ablation['heads']);
  const mlps =
    opts['ablate-mlp'] === undefined
      ? []
      : (tag('--ablate-mlp', () => parseLayerList(opts['ablate-mlp']!)) as number[]);
  return { heads, mlps, mode };
}

/**
 * Tokens from --prompt or --ids, with <|endoftext|> first when --bos is given. Ids are strict
 * decimal (cli/args.ts) and below `vocabSize` when it is given.
 */
export function promptTokens(
  tokenizer: Gpt2Tokenizer,
  opts: { prompt?: string; ids?: string; bos?: boolean },
  vocabSize?: number,
): number[] {
  if ((opts.prompt === undefined) === (opts.ids === undefined))
    throw new Error('give exactly one of --prompt and --ids');
  let tokens: number[];
  if (opts.ids !== undefined) {
    tokens = parseTokenIds(opts.ids);
    const outside = vocabSize === undefined ? undefined : tokens.find((id) => id >= vocabSize);
    if (outside !== undefined) {
      throw new UsageError(`--ids: ${outside} is not a token id of this model (vocab_size ${vocabSize})`);
    }
  } else {
    tokens = tokenizer.encode(opts.prompt!);
  }
  return opts.bos ? [tokenizer.endOfTextId, ...tokens] : tokens;
}

async function main(args: string[]): Promise<number> {
  const values = commandLine(
    args,
    {
      ...scriptOptions,
      ...textOptions('prompt', 'ids', 'ablate', 'ablate-mlp', 'ablate-mode'),
      bos: flagOption,
      ...exportArgOptions,
    },
    usage,
    ['model'],
  );
  if (typeof values === 'number') return values;
  let ablate: Ablation | undefined;
  let exportReq;
  try {
    ablate = ablationOption(values);
    // Bad ids are refused before a model is read or downloaded.
    if (values.ids !== undefined) parseTokenIds(values.ids);
    exportReq = parseExportArgs(values); // undefined: the JSON capture
  } catch (e) {
    return usageFailure(e, usage);
  }
  return runCommand('capture', async () => {
    const model = await resolveModel(values.model!, process.env);
    const tokens = promptTokens(model.tokenizer, values, model.config.vocabSize);
    if (exportReq) {
      const r = await exportCapture(model, tokens, exportReq, { ablate, prompt: values.prompt });
      console.error(
        `wrote ${exportReq.out}: ${r.names.length} hooks, ${tokens.length} tokens, ${r.bytes} bytes`,
      );
      return 0;
    }
    const result = await capture(model, tokens, { ablate });
    await writeResult(
      values.out,
      JSON.stringify(result),
      () => `${tokens.length} tokens, ${model.config.nLayer} layers`,
    );
    // Written anyway (non-finite numbers are null in JSON), but not a success.
    const problem = nonFiniteCapture(result);
    if (problem) {
      console.error(`capture: ${problem}: the model overflows on this input`);
      return 3;
    }
    return 0;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
}
