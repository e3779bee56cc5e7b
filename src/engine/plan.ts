// The forward plan: every step of one session's forward at its capacity, built once (pipelines,
// bind groups) and put in order per run. Per block, fused (the default on GPUs, defaultFusion):
// ln_1 + QKV matmul (the LayerNorm folded into the matmul), attention (softmax and × V in one
// kernel: writes the pattern capture and hook_z), c_proj + residual (hook_resid_mid), ln_2 + c_fc +
// GELU, c_proj + residual (hook_resid_post): 5 dispatches. Unfused (fusion 'off'): ln_1, QKV matmul,
// softmax, attention × V, c_proj + residual, ln_2, c_fc + GELU, c_proj + residual: 8. A LayerNorm
// whose output is captured also runs on its own in the fused forward, writing its capture;
// hook_attn_out, hook_mlp_out and mlp.hook_pre are stored by the matmuls beside their epilogue
// (their side output), and mlp.hook_post is c_fc's own output, so they add no dispatch; ablated
// heads and MLPs add their small steps. Then the logit lens over the stacked lens points: ln_f,
// unembedding with top-k per vocabulary chunk (which also writes logits_last, or with `logits`
// captured every position's logits, on the tiled and vec4 paths), the top-k merge.

import type { CaptureFormat } from '../gpu/kernels';
import { checkAblation, isEmptyAblation, type Ablation } from '../model/ablation';
import { residualBoundaries, residualIndex, type HookName, type HookPoint } from '../model/hooks';
import type { Gpt2Config } from '../model/types';
import { ablationFlagStride, type Allocation, type Slots } from './activations';
import type { ForwardFlopsOptions } from './cost';
import { captureSteps, type CaptureSteps } from './capture-steps';
import { ceilDiv, StepFactory, wg, type Step } from './steps';

/** Logit-lens settings shared by every session of an engine. */
export const lensTopK = 5; // at most 8 (MAX_K in unembed_topk_tiled.wgsl)
/** Vocabulary entries per thread in the lens kernel (wte parts are multiples of it). */
export const lensChunk = 1024;

/**
 * Where the logit lens reads the stream: every resid_pre and the final resid_post ('layers',
 * L+1 points); every residual boundary, i.e. also between attention and MLP ('all', 2L+1 points:
 * resid_pre 0, resid_mid 0, resid_pre 1, …, resid_mid L-1, the final resid_post, the capture CLI's
 * residual_norms order); or only the final resid_post ('final': the model's own next-token
 * prediction). The lens over all layers costs (L+1)·T·2·D·V FLOPs — more than the rest of the
 * forward for GPT-2 small; 'all' nearly twice that.
 */
export type LensPoints = 'layers' | 'all' | 'final';

/** The lens points of a LensPoints setting, in depth order. */
export function lensPointsOf(lens: LensPoints, L: number): HookPoint[] {
  const final: HookPoint = { kind: 'resid_post', layer: L - 1 };
  if (lens === 'final') return [final];
  if (lens === 'all') return residualBoundaries(L);
  return [...Array.from({ length: L }, (_, layer): HookPoint => ({ kind: 'resid_pre', layer })), final];
}

/**
 * 'on': ln_1 + c_attn, softmax + values and ln_2 + c_fc fused, 5 dispatches per block; 'attention':
 * only softmax + values, 7; 'off': the unfused 8.
 */
export type Fusion = 'on' | 'attention' | 'off';

/**
 * The default Fusion: 'on' for the tiled kernels of real GPUs, where a dispatch costs more than a
 * LayerNorm prologue; 'attention' for the barrier-free kernels of CPU fallback adapters, where each
 * thread of the folded matmul recomputes its rows' statistics (3 more operations per multiply-add
 * of 8 columns) and that costs more than the two dispatches it saves (measured on SwiftShader).
 */
export function defaultFusion(fallbackKernels: boolean): Fusion {
  return fallbackKernels ? 'attention' : 'on';
}

/** Ablation flag values (shaders/forward/ablate_*.wgsl): 0 keep, 1 zero, 2 mean. */
const flagOf = { zero: 1, mean: 2 } as const;

/** One block's steps, in order. */
interface LayerSteps {
  /**
   * ln_1 and c_attn (fused: one step, ln_1 run besides only where its output is captured), the
   * captures that read them, softmax and values (fused: one step).
   */
  readonly attention: readonly Step[];
  readonly attnProj: Step; // c_proj + residual (and hook_attn_out beside it, where captured)
  readonly mlpIn: readonly Step[]; // ln_2 and c_fc + gelu (fused: one step, ln_2 only if captured)
  readonly mlpProj: Step; // mlp.c_proj + residual (and hook_mlp_out beside it, where captured)
  /** The MLP's hidden layer [T, F]: mlp.hook_post where captured, else the mlp.hidden scratch. */
  readonly hidden: GPUBuffer;
  /** ln2.*, mlp.hook_pre or mlp.hook_post is captured: c_fc runs even when the MLP is zeroed. */
  readonly mlpHooks: boolean;
  /** hook_mlp_out is captured. */
  readonly mlpOutCaptured: boolean;
}

/** A block's ablation steps, built the first time a run ablates something in that block. */
interface AblationSteps {
  readonly heads: Step;
  /** mlp.c_proj without the residual epilogue: hook_mlp_out (the capture, else the ln scratch). */
  readonly mlpOut: Step;
  readonly mlp: Step;
}

export class ForwardPlan {
  readonly #config: Gpt2Config;
  readonly #acts: Allocation;
  readonly #slots: Slots;
  readonly #f: StepFactory;
  readonly embed: readonly Step[];
  readonly #layers: LayerSteps[];
  /** The hooks computed for their capture alone (none unless captured). */
  readonly #only: CaptureSteps;
  readonly #ablation: (AblationSteps | undefined)[] = [];
  readonly lens: readonly Step[];
  /** The lens points' rows stacked for the lens kernels: copies, not dispatches. */
  readonly lensCopies: readonly GPUBuffer[];
  /** logits_last comes out of the lens kernel (tiled and vec4 paths), not its own pass. */
  readonly logitsLastFused: boolean;
  /**
   * `logits` is captured and the lens kernel writes it (tiled and vec4 paths): logits_last is then
   * its last row, copied after the lens (lens-stage.ts).
   */
  readonly logitsFromLens: boolean;

  /** Which kernels are fused (see Fusion). */
  readonly fusion: Fusion;

  constructor(
    f: StepFactory,
    acts: Allocation,
    slots: Slots,
    lensPoints: readonly HookPoint[],
    fusion: Fusion = 'on',
  ) {
    this.fusion = fusion;
    const fused = fusion !== 'off'; // the attention kernel
    const foldLn = fusion === 'on';
    const { weights, fallback } = f.parts;
    const config = weights.config;
    this.#config = config;
    this.#acts = acts;
    this.#slots = slots;
    this.#f = f;
    const { nEmbd: D, nInner: F, vocabSize: V, layerNormEpsilon } = config;
    const wf = f.weightVariant;
    const buf = (name: string) => acts.buffer(name);
    const resid = (i: number) => buf(slots.boundary[i]!);
    const [ln, qkv, att] = ['ln', 'qkv', 'att'].map(buf) as [GPUBuffer, GPUBuffer, GPUBuffer];
    const captureFormat = acts.texture(slots.pattern[0]!).format as CaptureFormat;
    // The vec4 kernels (fallback adapters only) read rows of D floats as D/4 vec4s.
    const vec4D = fallback && D % 4 === 0;
    // The tiled and vec4 lens kernels write logits rows whole (lens_logits.wgsl): logits_last, or
    // with `logits` captured the final stream's every row, copied to logits_last after the lens.
    this.logitsLastFused = !fallback || vec4D;
    this.logitsFromLens = this.logitsLastFused && slots.only.has('logits');
    const only = captureSteps(f, acts, slots, this.logitsFromLens, foldLn);
    this.#only = only;
    this.embed = weights.wteParts.map((part) =>
      f.step(
        'embed',
        'embed',
        { ...wf, overrides: { D, VOCAB_START: part.start, VOCAB_COUNT: part.count, WG_X: wg } },
        [
          f.uniform(0),
          { buffer: buf('tokens') },
          { buffer: part.buffer },
          { buffer: weights.wpe },
          { buffer: resid(0) },
        ],
        (T) => [ceilDiv(D, wg), T, 1],
      ),
    );
    const captured = (l: number, hook: string) => slots.only.has(`blocks.${l}.${hook}` as HookName);
    this.#layers = weights.blocks.map((b, l): LayerSteps => {
      const [pre, mid, post] = [resid(2 * l), resid(2 * l + 1), resid(2 * l + 2)];
      const z = buf(slots.z[l]!);
      const attnOut = slots.attnOut[l];
      const mlpOut = slots.mlpOut[l];
      const hookPre = captured(l, 'mlp.hook_pre') ? buf(`blocks.${l}.mlp.hook_pre`) : undefined;
      const hidden = buf(captured(l, 'mlp.hook_post') ? `blocks.${l}.mlp.hook_post` : 'mlp.hidden');
      const pattern = acts.texture(slots.pattern[l]!).createView({ dimension: '2d-array' });
      // Fused, a LayerNorm still runs on its own where its output is captured (ln*.hook_normalized),
      // for the capture alone: the forward itself stays the same whatever is captured.
      // ln*.hook_scale reads the stream itself.
      const ln1Out = !foldLn || captured(l, 'ln1.hook_normalized');
      const ln2Out = !foldLn || captured(l, 'ln2.hook_normalized');
      // A captured LayerNorm output is written to its capture, which the unfused matmul then reads.
      const lnBuf = (hook: 'ln1' | 'ln2') =>
        captured(l, `${hook}.hook_normalized`) ? buf(`blocks.${l}.${hook}.hook_normalized`) : ln;
      const [ln1, ln2] = [lnBuf('ln1'), lnBuf('ln2')];
      // Where the LayerNorm runs, it writes a captured ln*.hook_scale too (captureSteps then has no
      // step of its own for it).
      const scaleOf = (hook: 'ln1' | 'ln2') =>
        captured(l, `${hook}.hook_scale`) ? buf(`blocks.${l}.${hook}.hook_scale`) : undefined;
      const lnLayer = (
        x: GPUBuffer,
        normalized: GPUBuffer,
        p: { weight: GPUBuffer; bias: GPUBuffer },
        w: GPUBuffer,
        bias: GPUBuffer,
        out: GPUBuffer,
        N: number,
        epilogue: 0 | 1,
        name: string,
        side?: GPUBuffer,
      ) =>
        foldLn
          ? f.matmulLn(`blocks.${l}.${name}`, x, p, w, bias, out, D, N, epilogue, layerNormEpsilon, side)
          : f.matmul(`blocks.${l}.${name}`, normalized, w, bias, out, D, N, epilogue, undefined, side);
      const attention = f.attention(`blocks.${l}.attn`, qkv, att, pattern, z, fused, captureFormat);
      return {
        attention: [
          ...(ln1Out ? [f.layerNorm(`blocks.${l}.ln_1`, 0, pre, b.ln1, ln1, scaleOf('ln1'))] : []),
          ...only.ln1[l]!,
          lnLayer(pre, ln1, b.ln1, b.cAttn.weight, b.cAttn.bias, qkv, 3 * D, 0, 'attn.c_attn'),
          ...only.qkv[l]!,
          ...attention,
        ],
        attnProj: f.matmul(
          `blocks.${l}.attn.c_proj`,
          z,
          b.attnProj.weight,
          b.attnProj.bias,
          mid,
          D,
          D,
          2,
          pre,
          attnOut === undefined ? undefined : buf(attnOut),
        ),
        mlpIn: [
          ...(ln2Out ? [f.layerNorm(`blocks.${l}.ln_2`, 0, mid, b.ln2, ln2, scaleOf('ln2'))] : []),
          lnLayer(mid, ln2, b.ln2, b.fc.weight, b.fc.bias, hidden, F, 1, 'mlp.c_fc', hookPre),
        ],
        mlpProj: f.matmul(
          `blocks.${l}.mlp.c_proj`,
          hidden,
          b.mlpProj.weight,
          b.mlpProj.bias,
          post,
          F,
          D,
          2,
          mid,
          mlpOut === undefined ? undefined : buf(mlpOut),
        ),
        hidden,
        mlpHooks: ['ln2.hook_scale', 'ln2.hook_normalized', 'mlp.hook_pre', 'mlp.hook_post'].some((h) =>
          captured(l, h),
        ),
        mlpOutCaptured: mlpOut !== undefined,
      };
    });

    // The logit lens over (lens points · T) stacked rows.
    const nChunks = ceilDiv(V, lensChunk);
    const [stack, lensX, partial, topk, logits] = [
      'lens.stack',
      'lens.ln_f',
      'lens.partial',
      'lens.topk',
      'logits_last',
    ].map(buf) as GPUBuffer[] as [GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer, GPUBuffer];
    this.lensCopies = lensPoints.map((p) => resid(residualIndex(p)));
    const lens = [f.layerNorm('lens.ln_f', 1, stack, weights.lnF, lensX)];
    for (const part of weights.wteParts) {
      const overrides = {
        D,
        CHUNK: lensChunk,
        N_CHUNKS: nChunks,
        VOCAB_START: part.start,
        VOCAB_COUNT: part.count,
        TOPK: lensTopK,
      };
      lens.push(
        f.vocabScan(
          'lens.unembed_topk',
          { tiled: 'unembedTopkTiled', vec4: 'unembedTopkVec4', scalar: 'unembedTopk' },
          overrides,
          [f.uniform(1), { buffer: lensX }, { buffer: part.buffer }, { buffer: partial }],
          ceilDiv(part.count, lensChunk),
          D,
          [{ buffer: this.logitsFromLens ? buf('logits') : logits }],
          { LOGITS_POINTS: this.logitsFromLens ? lensPoints.length : 0, LOGITS_V: V },
        ),
      );
    }
    lens.push(
      f.step(
        'lens.topk_merge',
        'topkMerge',
        { overrides: { N_CHUNKS: nChunks, TOPK: lensTopK, WG_X: wg } },
        [f.uniform(1), { buffer: partial }, { buffer: topk }],
        (rows) => [ceilDiv(rows, wg), 1, 1],
      ),
    );
    for (const part of this.logitsLastFused ? [] : weights.wteParts) {
      lens.push(
        f.step(
          'logits_last',
          'unembedLogits',
          { ...wf, overrides: { D, VOCAB_START: part.start, VOCAB_COUNT: part.count, WG_X: wg } },
          [f.uniform(2), { buffer: lensX }, { buffer: part.buffer }, { buffer: logits }],
          () => [ceilDiv(part.count, wg), 1, 1],
        ),
      );
    }
    this.lens = lens;
  }

  /**
   * Ablation flags per layer (heads 0..H-1, then the MLP at H; 0 keep, 1 zero, 2 mean), laid out as
   * the ablation.flags buffer: ablationFlagStride bytes per layer.
   */
  flags(ablation: Ablation | undefined): Uint32Array<ArrayBuffer> {
    const { nLayer: L, nHead: H } = this.#config;
    const stride = ablationFlagStride(this.#config) / 4;
    const flags = new Uint32Array(L * stride);
    if (ablation) {
      const flag = flagOf[ablation.mode];
      for (const { layer, head } of ablation.heads) flags[layer * stride + head] = flag;
      for (const layer of ablation.mlps ?? []) flags[layer * stride + H] = flag;
    }
    return flags;
  }

  /** The blocks' steps of one run, in order, for the given ablation flags (see flags()). */
  blockSteps(flags: Uint32Array): Step[] {
    const { nLayer: L, nHead: H } = this.#config;
    const stride = ablationFlagStride(this.#config) / 4;
    const steps = [...this.embed, ...this.#only.embed];
    for (let l = 0; l < L; l++) {
      const extra = this.#only.mlp[l]!; // ln2.*: after c_fc
      const layer = this.#layers[l]!;
      const headsAblated = flags.subarray(l * stride, l * stride + H).some((f) => f !== 0);
      const mlpFlag = flags[l * stride + H]!;
      const ablate = headsAblated || mlpFlag !== 0 ? this.#ablationOf(l) : undefined;
      steps.push(...layer.attention);
      if (headsAblated) steps.push(ablate!.heads);
      steps.push(layer.attnProj);
      if (mlpFlag === 0) {
        steps.push(...layer.mlpIn, ...extra, layer.mlpProj);
      } else if (mlpFlag === flagOf.mean || layer.mlpOutCaptured) {
        // hook_mlp_out (captured: before ablation replaces it), then resid_post from resid_mid.
        steps.push(...layer.mlpIn, ...extra, ablate!.mlpOut, ablate!.mlp);
      } else if (layer.mlpHooks) {
        // zero, with the MLP's inputs or hidden layer captured: run up to them, then ablate.
        steps.push(...layer.mlpIn, ...extra, ablate!.mlp);
      } else steps.push(ablate!.mlp); // zero: resid_post = resid_mid, the MLP need not run
    }
    steps.push(...this.#only.final);
    return steps;
  }

  /** forwardFlops's options for a run with these flags (see blockSteps). */
  flopsOptions(flags: Uint32Array): ForwardFlopsOptions {
    const stride = ablationFlagStride(this.#config) / 4;
    let skippedMlps = 0;
    let mlpInputsOnly = 0;
    this.#layers.forEach((layer, l) => {
      const flag = flags[l * stride + this.#config.nHead];
      if (flag === flagOf.zero && !layer.mlpOutCaptured) {
        // …but with ln2.* or mlp.hook_pre/post captured, its c_fc still runs.
        if (layer.mlpHooks) mlpInputsOnly++;
        else skippedMlps++;
      }
    });
    return {
      logitsLastFused: this.logitsLastFused,
      skippedMlps,
      mlpInputsOnly,
      captureOnly: { attnScores: this.#only.attnScores, allLogits: this.#only.allLogits },
    };
  }

  /**
   * Layer l's ablation steps, built (pipelines compiled, bind groups made) the first time a run
   * ablates something there, so that sessions that never ablate pay nothing for it.
   */
  #ablationOf(l: number): AblationSteps {
    const cached = this.#ablation[l];
    if (cached) return cached;
    const f = this.#f;
    const { nEmbd: D, nHead: H, headDim: HD, nInner: F } = this.#config;
    const b = this.#f.parts.weights.blocks[l]!;
    const buf = (name: string) => this.#acts.buffer(name);
    const flagBytes = ablationFlagStride(this.#config);
    const flags: GPUBindingResource = {
      buffer: buf('ablation.flags'),
      offset: l * flagBytes,
      size: (H + 1) * 4,
    };
    const columns = (): readonly [number, number, number] => [ceilDiv(D, wg), 1, 1];
    const layer = this.#layers[l]!;
    // hook_mlp_out not captured goes to the ln scratch, free once c_fc has read ln_2's output.
    const captured = this.#slots.mlpOut[l];
    const mlpOut = buf(captured ?? 'ln');
    const steps: AblationSteps = {
      mlpOut: f.matmul(
        `blocks.${l}.mlp.c_proj`,
        layer.hidden,
        b.mlpProj.weight,
        b.mlpProj.bias,
        mlpOut,
        F,
        D,
        0,
      ),
      heads: f.step(
        `blocks.${l}.attn.hook_z.ablate`,
        'ablateHeads',
        { overrides: { D, HD, WG_X: wg } },
        [f.uniform(0), flags, { buffer: buf(this.#slots.z[l]!) }],
        columns,
      ),
      mlp: f.step(
        `blocks.${l}.hook_mlp_out.ablate`,
        'ablateMlp',
        { overrides: { D, H, WG_X: wg } },
        [
          f.uniform(0),
          flags,
          { buffer: mlpOut },
          { buffer: buf(this.#slots.boundary[2 * l + 1]!) },
          { buffer: buf(this.#slots.boundary[2 * l + 2]!) },
        ],
        columns,
      ),
    };
    this.#ablation[l] = steps;
    return steps;
  }
}

/**
 * The ablation checked against the model, with heads and MLP layers sorted and deduplicated;
 * undefined when it removes nothing (the run is then the clean forward).
 */
export function normalizeAblation(config: Gpt2Config, ablation: Ablation | undefined): Ablation | undefined {
  if (!ablation) return undefined;
  checkAblation(config, ablation);
  if (isEmptyAblation(ablation)) return undefined;
  const heads = [...new Map(ablation.heads.map((h) => [h.layer * config.nHead + h.head, h])).entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([, { layer, head }]) => ({ layer, head }));
  const mlps = [...new Set(ablation.mlps ?? [])].sort((a, b) => a - b);
  return { heads, mlps, mode: ablation.mode };
}
