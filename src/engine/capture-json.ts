// The capture file (`npm run capture`, and the studio's "Export captures"): one run's captures read
// back from the GPU and written in one schema (README: Capture CLI). Shared by the CLI and the
// studio, so both write the same JSON. Reading every pattern back is an export the user asked
// for, never part of drawing.

import type { AdapterSummary } from '../gpu/device';
import { readBuffer, readTextureLayer } from '../gpu/readback';
import { hookName, residualBoundaries, type HookPoint } from '../model/hooks';
import type { Gpt2Config } from '../model/types';
import type { PromptSession, RunResult } from './session';

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
  /** What the run ablated: [layer, head] pairs, MLP layers, mode; null for the clean model. */
  ablation: { heads: [number, number][]; mlps: number[]; mode: 'zero' | 'mean' } | null;
}

export interface CaptureSource {
  readonly device: GPUDevice;
  readonly config: Gpt2Config;
  /** The model's name as the file records it. */
  readonly name: string;
  readonly adapter: Pick<AdapterSummary, 'vendor' | 'architecture' | 'fallback'>;
  /** The session whose captures hold `run` (no other run may have started on it since). */
  readonly session: PromptSession;
  readonly run: RunResult;
  readonly tokenLabel: (id: number) => string;
}

/** f32 values as the shortest decimal that reads back as the same f32. */
const f32 = (x: number) => Number(Math.fround(x).toPrecision(9));

const samePoint = (a: HookPoint, b: HookPoint) => hookName(a) === hookName(b);

/** The lens depths the file holds: every resid_pre and the final resid_post. */
function lensDepths(L: number): HookPoint[] {
  return [
    ...Array.from({ length: L }, (_, layer): HookPoint => ({ kind: 'resid_pre', layer })),
    { kind: 'resid_post', layer: L - 1 },
  ];
}

/** Reads the run's captures back and builds the capture file. */
export async function captureJson(source: CaptureSource): Promise<CaptureJson> {
  const { config, run, tokenLabel: label } = source;
  const T = run.tokens.length;
  const { lens } = run;
  const lensJson = lensDepths(config.nLayer).map((depth) => {
    const p = lens.points.findIndex((q) => samePoint(q, depth));
    if (p < 0) throw new Error('the run has no logit lens at every layer: it cannot be exported');
    return Array.from({ length: T }, (_, t) =>
      Array.from({ length: lens.k }, (_, i) => {
        const at = (p * T + t) * lens.k + i;
        const id = lens.ids[at]!;
        return { id, text: label(id), p: f32(lens.probs[at]!) };
      }),
    );
  });
  return {
    model: {
      name: source.name,
      n_layer: config.nLayer,
      n_head: config.nHead,
      n_embd: config.nEmbd,
      n_ctx: config.nCtx,
      vocab_size: config.vocabSize,
    },
    adapter: {
      vendor: source.adapter.vendor,
      architecture: source.adapter.architecture,
      fallback: source.adapter.fallback,
    },
    tokens: run.tokens.map((id) => ({ id, text: label(id) })),
    attention: await readAttention(source, T),
    residual_norms: await readResidualNorms(source, T),
    logits_last: [
      ...new Float32Array(await readBuffer(source.device, source.session.capture('logits_last'))),
    ].map(f32),
    lens: lensJson,
    ablation: run.ablation
      ? {
          heads: run.ablation.heads.map((h): [number, number] => [h.layer, h.head]),
          mlps: [...(run.ablation.mlps ?? [])],
          mode: run.ablation.mode,
        }
      : null,
  };
}

async function readAttention({ device, config, session }: CaptureSource, T: number): Promise<number[][][][]> {
  const out: number[][][][] = [];
  for (let l = 0; l < config.nLayer; l++) {
    const texture = session.capture({ kind: 'pattern', layer: l });
    const width = texture.width * 4;
    const heads: number[][][] = [];
    for (let h = 0; h < config.nHead; h++) {
      const values = await readTextureLayer(device, texture, h);
      heads.push(
        Array.from({ length: T }, (_, q) => [...values.subarray(q * width, q * width + T)].map(f32)),
      );
    }
    out.push(heads);
  }
  return out;
}

async function readResidualNorms({ device, config, session }: CaptureSource, T: number): Promise<number[][]> {
  const D = config.nEmbd;
  const out: number[][] = [];
  for (const point of residualBoundaries(config.nLayer)) {
    const x = new Float32Array(await readBuffer(device, session.capture(point), T * D * 4));
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
