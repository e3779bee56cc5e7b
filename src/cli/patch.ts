// npm run patch -- --model M (--clean "TEXT" --corrupt "TEXT" | --clean-ids 1,2 --corrupt-ids 3,4)
//                  --answer " Mary" --foil " John" [--bos] [--out FILE]
//
// The causal instruments for scripts: activation patching from the clean prompt into the corrupted
// one (resid_pre, attn_out, mlp_out per layer and position; hook_z per layer and head), normalised
// (m_patched − m_B) / (m_A − m_B) with m = logit[answer] − logit[foil] at the last position, and the
// direct logit attribution of the clean prompt, on the same engine as the studio (WebGPU through
// Dawn), written as JSON. Definitions: src/model/reference-causal.ts.

import { Engine } from '../engine/engine';
import { patchOnGpu } from '../engine/patching';
import type { OpenedModel } from '../model/load';
import {
  checkAnswerFoil,
  checkPromptPair,
  type Attribution,
  type PatchMaps,
} from '../model/reference-causal';
import {
  commandLine,
  resolveModel,
  runCommand,
  writeResult,
  scriptOptions,
  textOptions,
  flagOption,
} from './command';
import { nodeGpu } from './node-gpu';
import { nodeShaders } from './node-shaders';

const usage = `usage: npm run patch -- --model <folder or hub id>
                         (--clean "TEXT" --corrupt "TEXT" | --clean-ids 1,2,… --corrupt-ids 3,4,…)
                         --answer " Mary" --foil " John" [--bos] [--out FILE]

  --model        a model folder (config.json, model.safetensors, tokenizer files) or a hub id
  --clean        the clean prompt (A), tokenized with the model's tokenizer
  --corrupt      the corrupted prompt (B): the same number of tokens
  --clean-ids, --corrupt-ids   token ids, comma-separated, instead of the texts
  --answer, --foil  one token each (mind the leading space): the metric is
                 logit[answer] − logit[foil] at the last position
  --bos          prepend <|endoftext|> to both prompts
  --out          write the JSON here (default: stdout)`;

export interface PatchJson {
  readonly model: string;
  readonly tokens_clean: { id: number; text: string }[];
  readonly tokens_corrupt: { id: number; text: string }[];
  readonly answer_id: number;
  readonly foil_id: number;
  readonly clean_logit_diff: number;
  readonly corrupt_logit_diff: number;
  readonly patch: PatchMaps;
  readonly dla: Attribution;
  readonly work: { dispatches: number; submissions: number; readbacks: number; seconds: number };
}

interface PatchArgs {
  clean?: string;
  corrupt?: string;
  'clean-ids'?: string;
  'corrupt-ids'?: string;
  answer?: string;
  foil?: string;
  bos?: boolean;
}

function ids(flag: string, text: string): number[] {
  return text.split(',').map((s) => {
    const id = Number(s.trim());
    if (s.trim() === '' || !Number.isInteger(id)) throw new Error(`${flag}: "${s}" is not a token id`);
    return id;
  });
}

/** One token of the model's vocabulary for --answer / --foil, or a clear error. */
export function singleToken(model: OpenedModel, flag: string, text: string | undefined): number {
  if (text === undefined || text === '') throw new Error(`${flag} is required: one token, e.g. " Mary"`);
  const t = model.tokenizer.encode(text);
  if (t.length !== 1) {
    const pieces = t.map((id) => JSON.stringify(model.tokenizer.tokenLabel(id))).join(' + ');
    throw new Error(`${flag} ${JSON.stringify(text)} is ${t.length} tokens (${pieces}), not one token`);
  }
  return t[0]!;
}

/** The two prompts' tokens (with <|endoftext|> first under --bos), checked as a patching pair. */
export function promptPair(model: OpenedModel, a: PatchArgs): { clean: number[]; corrupt: number[] } {
  const texts = a.clean !== undefined || a.corrupt !== undefined;
  const idLists = a['clean-ids'] !== undefined || a['corrupt-ids'] !== undefined;
  if (texts === idLists)
    throw new Error('give either --clean and --corrupt, or --clean-ids and --corrupt-ids');
  let clean: number[];
  let corrupt: number[];
  if (texts) {
    if (a.clean === undefined || a.corrupt === undefined) throw new Error('give both --clean and --corrupt');
    clean = model.tokenizer.encode(a.clean);
    corrupt = model.tokenizer.encode(a.corrupt);
  } else {
    if (a['clean-ids'] === undefined || a['corrupt-ids'] === undefined)
      throw new Error('give both --clean-ids and --corrupt-ids');
    clean = ids('--clean-ids', a['clean-ids']);
    corrupt = ids('--corrupt-ids', a['corrupt-ids']);
  }
  if (a.bos) {
    const bos = model.tokenizer.endOfTextId;
    clean = [bos, ...clean];
    corrupt = [bos, ...corrupt];
  }
  checkPromptPair(model.config, clean, corrupt);
  return { clean, corrupt };
}

export async function patch(model: OpenedModel, a: PatchArgs): Promise<PatchJson> {
  const { clean, corrupt } = promptPair(model, a);
  const answer = singleToken(model, '--answer', a.answer);
  const foil = singleToken(model, '--foil', a.foil);
  checkAnswerFoil(model.config, answer, foil);
  const gpu = await nodeGpu();
  const engine = await Engine.load(gpu, nodeShaders(), model.checkpoint, { weightFormat: 'f32' });
  try {
    const start = performance.now();
    const r = await patchOnGpu(engine, clean, corrupt, answer, foil);
    const seconds = (performance.now() - start) / 1000;
    const label = (t: number[]) => t.map((id) => ({ id, text: model.tokenizer.tokenLabel(id) }));
    const { dispatches, submissions, readbacks, dla } = r;
    return {
      model: model.name,
      tokens_clean: label(clean),
      tokens_corrupt: label(corrupt),
      answer_id: answer,
      foil_id: foil,
      clean_logit_diff: r.clean_logit_diff,
      corrupt_logit_diff: r.corrupt_logit_diff,
      patch: { resid_pre: r.resid_pre, attn_out: r.attn_out, mlp_out: r.mlp_out, z: r.z },
      dla: {
        position: dla.position,
        heads: dla.heads,
        attn_bias: dla.attn_bias,
        mlp: dla.mlp,
        embed: dla.embed,
        ln_final_bias: dla.ln_final_bias,
        total: dla.total,
        sum_error: dla.sum_error,
      },
      work: { dispatches, submissions, readbacks, seconds },
    };
  } finally {
    engine.dispose();
    gpu.device.destroy();
  }
}

async function main(args: string[]): Promise<number> {
  const values = commandLine(
    args,
    {
      ...scriptOptions,
      ...textOptions('clean', 'corrupt', 'clean-ids', 'corrupt-ids', 'answer', 'foil'),
      bos: flagOption,
    },
    usage,
    ['model'],
  );
  if (typeof values === 'number') return values;
  return runCommand('patch', async () => {
    const model = await resolveModel(values.model!, process.env);
    const json = await patch(model, values);
    await writeResult(
      values.out,
      JSON.stringify(json),
      () =>
        `${json.tokens_clean.length} tokens, ${model.config.nLayer} layers, ` +
        `logit difference ${json.clean_logit_diff.toFixed(3)} clean, ${json.corrupt_logit_diff.toFixed(3)} corrupted`,
    );
    return 0;
  });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
}
