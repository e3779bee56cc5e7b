// npm run capture -- --model <folder or hub id> (--prompt "TEXT" | --ids 1,2,3) [--bos] [--out FILE]
//
// Strata's `run_with_cache` for scripts and notebooks: one forward pass on the same engine as the
// studio (WebGPU through Dawn), written as JSON — every attention pattern, the residual stream's
// norm at every boundary, the last position's logits, and the logit lens's top-5 per layer.

import { stat, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Engine } from '../engine/engine';
import type { PromptSession } from '../engine/session';
import { readBuffer, readTextureLayer } from '../gpu/readback';
import { residualBoundaries } from '../model/hooks';
import { openModel, type OpenedModel } from '../model/load';
import { filesFromHub } from '../model/sources';
import type { Gpt2Tokenizer } from '../model/tokenizer';
import { nodeGpu } from './node-gpu';
import { NodeModelCache } from './node-cache';
import { nodeShaders } from './node-shaders';
import { filesFromDirectory } from './node-source';

const usage = `usage: npm run capture -- --model <folder or hub id> (--prompt "TEXT" | --ids 1,2,3) [--bos] [--out FILE]

  --model     a model folder (config.json, model.safetensors, tokenizer files) or a hub id
              (gpt2, distilgpt2, owner/name; downloads once into the cache, $HF_ENDPOINT honoured)
  --prompt    text to tokenize with the model's tokenizer
  --ids       token ids, comma-separated, instead of --prompt
  --bos       prepend <|endoftext|> as TransformerLens does by default
  --out       write the JSON here (default: stdout)`;

/** The capture file's schema (README documents it). */
export interface CaptureJson {
  model: { name: string; n_layer: number; n_head: number; n_embd: number; n_ctx: number; vocab_size: number };
  adapter: { vendor: string; architecture: string; fallback: boolean };
  tokens: { id: number; text: string }[];
  /** [layer][head][query][key] */
  attention: number[][][][];
  /** [2·n_layer+1][T]: resid_pre 0, resid_mid 0, resid_pre 1, …, resid_post. */
  residual_norms: number[][];
  /** [vocab_size]: the last position's next-token logits. */
  logits_last: number[];
  /** [n_layer+1][T]: top-5 of ln_f + unembedding at each resid_pre and the final resid_post. */
  lens: { id: number; text: string; p: number }[][][];
}

/** f32 values as the shortest decimal that reads back as the same f32. */
const f32 = (x: number) => Number(Math.fround(x).toPrecision(9));

export async function capture(model: OpenedModel, tokens: number[]): Promise<CaptureJson> {
  const gpu = await nodeGpu();
  const engine = await Engine.load(gpu, nodeShaders(), model.checkpoint, { weightFormat: 'f32' });
  try {
    const session = engine.createSession({ capacity: tokens.length });
    const run = await session.run(tokens);
    const { config } = model;
    const T = tokens.length;
    const label = (id: number) => model.tokenizer.tokenLabel(id);
    const lens = run.lens.points.map((_, p) =>
      Array.from({ length: T }, (_, t) =>
        Array.from({ length: run.lens.k }, (_, i) => {
          const at = (p * T + t) * run.lens.k + i;
          const id = run.lens.ids[at]!;
          return { id, text: label(id), p: f32(run.lens.probs[at]!) };
        }),
      ),
    );
    return {
      model: {
        name: model.name,
        n_layer: config.nLayer,
        n_head: config.nHead,
        n_embd: config.nEmbd,
        n_ctx: config.nCtx,
        vocab_size: config.vocabSize,
      },
      adapter: {
        vendor: gpu.summary.vendor,
        architecture: gpu.summary.architecture,
        fallback: gpu.summary.fallback,
      },
      tokens: tokens.map((id) => ({ id, text: label(id) })),
      attention: await readAttention(engine, session, T),
      residual_norms: await readResidualNorms(engine, session, T),
      logits_last: [...new Float32Array(await readBuffer(gpu.device, session.logitsLast))].map(f32),
      lens,
    };
  } finally {
    engine.dispose();
    gpu.device.destroy();
  }
}

async function readAttention(engine: Engine, session: PromptSession, T: number): Promise<number[][][][]> {
  const out: number[][][][] = [];
  for (let l = 0; l < engine.config.nLayer; l++) {
    const texture = session.patternTexture(l);
    const width = texture.width * 4;
    const heads: number[][][] = [];
    for (let h = 0; h < engine.config.nHead; h++) {
      const values = await readTextureLayer(engine.gpu.device, texture, h);
      heads.push(
        Array.from({ length: T }, (_, q) => [...values.subarray(q * width, q * width + T)].map(f32)),
      );
    }
    out.push(heads);
  }
  return out;
}

async function readResidualNorms(engine: Engine, session: PromptSession, T: number): Promise<number[][]> {
  const D = engine.config.nEmbd;
  const out: number[][] = [];
  for (const point of residualBoundaries(engine.config.nLayer)) {
    const x = new Float32Array(await readBuffer(engine.gpu.device, session.residual(point), T * D * 4));
    out.push(
      Array.from({ length: T }, (_, t) => {
        let s = 0;
        for (let d = 0; d < D; d++) s += x[t * D + d]! ** 2;
        return f32(Math.sqrt(s));
      }),
    );
  }
  return out;
}

/** Tokens from --prompt or --ids, with <|endoftext|> first when --bos is given. */
export function promptTokens(
  tokenizer: Gpt2Tokenizer,
  opts: { prompt?: string; ids?: string; bos?: boolean },
): number[] {
  if ((opts.prompt === undefined) === (opts.ids === undefined))
    throw new Error('give exactly one of --prompt and --ids');
  let tokens: number[];
  if (opts.ids !== undefined) {
    tokens = opts.ids.split(',').map((s) => {
      const id = Number(s.trim());
      if (!Number.isInteger(id)) throw new Error(`--ids: "${s}" is not a token id`);
      return id;
    });
  } else {
    tokens = tokenizer.encode(opts.prompt!);
  }
  return opts.bos ? [tokenizer.endOfTextId, ...tokens] : tokens;
}

async function resolveModel(spec: string, env: NodeJS.ProcessEnv): Promise<OpenedModel> {
  const isDir = await stat(spec).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (isDir) return openModel(await filesFromDirectory(spec));
  const files = await filesFromHub(spec, {
    endpoint: env.HF_ENDPOINT,
    cache: new NodeModelCache(),
    onProgress: (p) => {
      if (!p.cached && p.percent !== undefined)
        process.stderr.write(`\r${p.file}: ${p.percent.toFixed(0)}%   `);
    },
  });
  return openModel(files);
}

async function main(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        model: { type: 'string' },
        prompt: { type: 'string' },
        ids: { type: 'string' },
        bos: { type: 'boolean', default: false },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${usage}`);
    return 2;
  }
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (!values.model) {
    console.error(`--model is required\n\n${usage}`);
    return 2;
  }
  try {
    const model = await resolveModel(values.model, process.env);
    const tokens = promptTokens(model.tokenizer, values);
    const json = JSON.stringify(await capture(model, tokens));
    if (values.out) {
      await writeFile(values.out, json);
      console.error(`wrote ${values.out}: ${tokens.length} tokens, ${model.config.nLayer} layers`);
    } else {
      process.stdout.write(json + '\n');
    }
    return 0;
  } catch (e) {
    console.error(`capture failed: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
}
