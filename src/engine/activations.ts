// The activation table (llm.c's act_sizes): every buffer and texture of one prompt session at a
// capacity of T tokens, one row each — its TransformerLens hook name (captures) or an internal
// label (scratch), its shape, element type and GPU usage. The cost formulas (cost.ts) sum it; the
// session allocates exactly its rows. Which hooks are captures is the session's names filter
// (as run_with_cache's names_filter): a hook not asked for gets no buffer of its own — the forward
// runs through shared scratch instead (two ping-pong buffers for the residual stream, one for
// hook_z, one pattern texture), or, for hook_attn_out and hook_mlp_out, is not computed at all.

import { captureBytesPerValue, type CaptureFormat } from '../gpu/kernels';
import {
  hookName,
  hookPoints,
  residualBoundaries,
  type HookKind,
  type HookName,
  type HookPoint,
} from '../model/hooks';
import type { Gpt2Config } from '../model/types';

export type Usage = 'storage' | 'copy-src' | 'copy-dst' | 'map-read' | 'uniform';
export type ElementType = 'f32' | 'u32' | CaptureFormat;

export interface ActivationRow {
  /** The hook name of a capture (e.g. blocks.3.hook_resid_pre), or scratch's label. */
  readonly name: string;
  /** Set for captures: the hook point the row holds (session.capture(hook) returns it). */
  readonly hook?: HookPoint;
  /** Elements per dimension, T being the capacity: [T, D], [H, T, T], … */
  readonly shape: readonly number[];
  /** f32/u32 buffers; a capture format: a texture_2d_array of H layers, 4 keys per texel. */
  readonly type: ElementType;
  readonly usage: readonly Usage[];
}

/** Which hooks a session captures: canonical hook names (see canonicalHook). */
export type CaptureSet = ReadonlySet<HookName>;

/**
 * A names filter, as TransformerLens's run_with_cache(names_filter=…): one hook name, a list of
 * hook names or points, or a predicate on names. A session's logit-lens points are captured
 * whatever the filter says (the lens reads them).
 */
export type NamesFilter = HookName | readonly (HookName | HookPoint)[] | ((name: HookName) => boolean);

export interface TableOptions {
  /** Logit-lens points (rows of the lens stack per position). */
  readonly lensPoints: number;
  /** Vocabulary entries per lens thread, and the lens's top-k. */
  readonly lensChunk: number;
  readonly topK: number;
  readonly captureFormat: CaptureFormat;
  readonly captures: CaptureSet;
}

/** Where the forward finds each slot's buffer in a table: row names. */
export interface Slots {
  /** The 2L+1 residual boundaries (residualBoundaries order): a capture or a ping-pong scratch. */
  readonly boundary: readonly string[];
  readonly pattern: readonly string[];
  readonly z: readonly string[];
  /** Only where captured (hook_attn_out and hook_mlp_out are computed for the capture alone). */
  readonly attnOut: readonly (string | undefined)[];
  readonly mlpOut: readonly (string | undefined)[];
  /**
   * The hooks computed for their capture alone (each by a small kernel or matmul that runs only
   * when captured; its row is named after the hook): hook_embed, hook_pos_embed, ln*.hook_scale,
   * ln*.hook_normalized, attn.hook_q/k/v, attn.hook_attn_scores, mlp.hook_pre, mlp.hook_post,
   * ln_final.hook_scale, ln_final.hook_normalized, logits.
   */
  readonly only: ReadonlySet<HookName>;
}

export interface ActivationTable {
  readonly rows: readonly ActivationRow[];
  readonly slots: Slots;
}

/** Bytes per uniform slot (minUniformBufferOffsetAlignment); four slots (see session.ts). */
export const uniformStride = 256;

/** Bytes per layer of the ablation flags: H + 1 u32 (heads, then the MLP), each layer's slot
 * aligned to 256 bytes so that it can be bound at an offset on any device. */
export function ablationFlagStride(config: Gpt2Config): number {
  return Math.ceil(((config.nHead + 1) * 4) / 256) * 256;
}

/** Bytes a row takes on the GPU (buffers: rounded up to 4, at least 4). */
export function rowBytes(row: ActivationRow): number {
  const n = row.shape.reduce((a, b) => a * b, 1);
  if (isTexture(row)) return n * captureBytesPerValue[row.type as CaptureFormat];
  return Math.max(4, n * 4);
}

export const isTexture = (row: ActivationRow): boolean => row.type !== 'f32' && row.type !== 'u32';

/** The name a hook is captured under: resid_post of block l < L-1 is resid_pre of block l+1. */
export function canonicalHook(p: HookPoint, nLayer: number): HookName {
  return p.kind === 'resid_post' && p.layer < nLayer - 1
    ? hookName({ kind: 'resid_pre', layer: p.layer + 1 })
    : hookName(p);
}

/** What sessions capture unless told: every pattern, every residual boundary, the last logits. */
export function defaultCaptures(nLayer: number): Set<HookName> {
  const kinds = new Set<HookKind>(['pattern', 'resid_pre', 'resid_mid', 'resid_post', 'logits_last']);
  return new Set(hookPoints(nLayer).flatMap((p) => (kinds.has(p.kind) ? [canonicalHook(p, nLayer)] : [])));
}

/** The hooks a names filter asks for (canonical names), checked against the model. */
export function resolveCaptures(nLayer: number, filter: NamesFilter): Set<HookName> {
  const capturable = hookPoints(nLayer);
  const out = new Set<HookName>();
  if (typeof filter === 'function') {
    for (const p of capturable) if (filter(hookName(p))) out.add(canonicalHook(p, nLayer));
    return out;
  }
  for (const h of typeof filter === 'string' ? [filter] : filter) {
    const name = typeof h === 'string' ? h : hookName(h);
    const p = capturable.find((q) => hookName(q) === name);
    if (!p) {
      throw new RangeError(
        `${name} is not a hook this engine captures for a model of ${nLayer} layers; hooks: ` +
          `hook_embed, hook_pos_embed, blocks.0…${nLayer - 1}.{hook_resid_pre, ln1.hook_scale, ` +
          `ln1.hook_normalized, attn.hook_q, attn.hook_k, attn.hook_v, attn.hook_attn_scores, ` +
          `attn.hook_pattern, attn.hook_z, hook_attn_out, hook_resid_mid, ln2.hook_scale, ` +
          `ln2.hook_normalized, mlp.hook_pre, mlp.hook_post, hook_mlp_out, hook_resid_post}, ` +
          `ln_final.hook_scale, ln_final.hook_normalized, logits, logits_last`,
      );
    }
    out.add(canonicalHook(p, nLayer));
  }
  return out;
}

/** The table of one session at a capacity of C tokens. */
export function activationTable(config: Gpt2Config, C: number, o: TableOptions): ActivationTable {
  const { nLayer: L, nHead: H, nEmbd: D, nInner: F, headDim: HD, vocabSize: V } = config;
  const nChunks = Math.ceil(V / o.lensChunk);
  const P = o.lensPoints;
  const rows: ActivationRow[] = [];
  const row = (name: string, shape: number[], type: ElementType, ...usage: Usage[]): string => {
    rows.push({ name, shape, type, usage });
    return name;
  };
  const captured = (p: HookPoint) => o.captures.has(hookName(p));
  const capture = (hook: HookPoint, shape: number[], type: ElementType = 'f32', ...more: Usage[]): string => {
    const name = hookName(hook);
    rows.push({
      name,
      hook,
      shape,
      type,
      usage: isTextureType(type) ? [] : ['storage', 'copy-src', ...more],
    });
    return name;
  };
  const layers = <X>(f: (l: number) => X): X[] => Array.from({ length: L }, (_, l) => f(l));

  row('tokens', [C], 'u32', 'storage', 'copy-dst');
  // Uniform slots: 0 the blocks (T), 1 the lens (rows), 2 logits_last (row), 3 tracking.
  row('params', [4, uniformStride / 4], 'u32', 'uniform', 'copy-dst');
  // The residual stream [T, D] at each boundary; boundaries not captured alternate between two
  // scratch buffers (each step reads one boundary and writes the next).
  const scratchResid = ['resid.scratch.0', 'resid.scratch.1'];
  const boundary = residualBoundaries(L).map((p, i) =>
    captured(p) ? capture(p, [C, D]) : scratchResid[i % 2]!,
  );
  for (const name of scratchResid) if (boundary.includes(name)) row(name, [C, D], 'f32', 'storage');
  row('ln', [C, D], 'f32', 'storage'); // ln_1 / ln_2 output; hook_mlp_out when ablated, not captured
  row('qkv', [C, 3 * D], 'f32', 'storage');
  row('att', [H, C, C], 'f32', 'storage'); // the patterns of the layer being run
  const z = layers((l) =>
    captured({ kind: 'z', layer: l }) ? capture({ kind: 'z', layer: l }, [C, H, HD]) : 'z',
  );
  if (z.includes('z')) row('z', [C, D], 'f32', 'storage');
  const attnOut = layers((l) =>
    captured({ kind: 'attn_out', layer: l }) ? capture({ kind: 'attn_out', layer: l }, [C, D]) : undefined,
  );
  // The MLP's hidden layer after gelu, for the blocks whose mlp.hook_post (c_fc's output) is not
  // captured.
  if (layers((l) => !captured({ kind: 'mlp_post', layer: l })).some(Boolean)) {
    row('mlp.hidden', [C, F], 'f32', 'storage');
  }
  const mlpOut = layers((l) =>
    captured({ kind: 'mlp_out', layer: l }) ? capture({ kind: 'mlp_out', layer: l }, [C, D]) : undefined,
  );
  row('ablation.flags', [L, ablationFlagStride(config) / 4], 'u32', 'storage', 'copy-dst'); // [L, H+1…]
  row('lens.stack', [P * C, D], 'f32', 'storage', 'copy-dst'); // the lens points' rows, stacked
  row('lens.ln_f', [P * C, D], 'f32', 'storage');
  row('lens.partial', [P * C, nChunks, 2 + 2 * o.topK], 'f32', 'storage'); // softmax partials
  row('lens.topk', [P * C, o.topK, 2], 'u32', 'storage', 'copy-src'); // [id, bitcast(prob)]
  // Always captured: the lens kernels write it (or, with `logits` captured, its last row is copied).
  capture({ kind: 'logits_last' }, [V], 'f32', 'copy-dst');
  row('lens.readback', [P * C, o.topK, 2], 'u32', 'map-read', 'copy-dst');
  // Patterns [H, T, T] as texture_2d_array (ceil(T/4), T) × H: texel (s/4, t) of layer h holds
  // keys s…s+3 of query t; one shared texture for the layers not captured.
  const texShape = [H, C, 4 * Math.ceil(C / 4)];
  const pattern = layers((l) =>
    captured({ kind: 'pattern', layer: l })
      ? capture({ kind: 'pattern', layer: l }, texShape, o.captureFormat)
      : 'attn.hook_pattern.scratch',
  );
  if (pattern.includes('attn.hook_pattern.scratch'))
    row('attn.hook_pattern.scratch', texShape, o.captureFormat);
  // The hooks computed for their capture alone, in forward order.
  const only = new Set<HookName>();
  const shapes: Partial<Record<HookKind, number[]>> = {
    embed: [C, D],
    pos_embed: [C, D],
    ln1_scale: [C, 1],
    ln1_normalized: [C, D],
    q: [C, H, HD],
    k: [C, H, HD],
    v: [C, H, HD],
    attn_scores: [H, C, C], // packed for the run's T: [H, T, T]
    ln2_scale: [C, 1],
    ln2_normalized: [C, D],
    mlp_pre: [C, F],
    mlp_post: [C, F],
    ln_final_scale: [C, 1],
    ln_final: [C, D],
    logits: [C, V],
  };
  for (const p of hookPoints(L)) {
    const shape = shapes[p.kind];
    if (!shape || !captured(p)) continue;
    capture(p, shape);
    only.add(hookName(p));
  }
  return { rows, slots: { boundary, pattern, z, attnOut, mlpOut, only } };
}

const isTextureType = (type: ElementType) => type !== 'f32' && type !== 'u32';

/** Tokens one trackTokens call can follow at once (MAX_IDS in shaders/lens/track_count*.wgsl). */
export const maxTrackedTokens = 16;

/**
 * Token tracking's rows, allocated by a session's first trackTokens call: the ids, the lens
 * points, and per (token, lens row) its logit, rank and [prob, rank] result.
 */
export function trackingTable(capacity: number, lensPoints: number): ActivationRow[] {
  const rows = lensPoints * capacity;
  const n = maxTrackedTokens;
  return [
    { name: 'track.ids', shape: [n], type: 'u32', usage: ['storage', 'copy-dst'] },
    { name: 'track.points', shape: [lensPoints], type: 'u32', usage: ['storage', 'copy-dst'] },
    { name: 'track.logit', shape: [n, rows], type: 'f32', usage: ['storage'] },
    { name: 'track.rank', shape: [n, rows], type: 'u32', usage: ['storage', 'copy-dst'] },
    { name: 'track.out', shape: [n, rows, 2], type: 'u32', usage: ['storage', 'copy-src'] },
  ];
}

const usageBits: Record<Usage, () => number> = {
  storage: () => GPUBufferUsage.STORAGE,
  'copy-src': () => GPUBufferUsage.COPY_SRC,
  'copy-dst': () => GPUBufferUsage.COPY_DST,
  'map-read': () => GPUBufferUsage.MAP_READ,
  uniform: () => GPUBufferUsage.UNIFORM,
};

/** A table's rows on the GPU, by row name (labels are the names). */
export class Allocation {
  readonly #buffers = new Map<string, GPUBuffer>();
  readonly #textures = new Map<string, GPUTexture>();

  add(device: GPUDevice, rows: readonly ActivationRow[]): void {
    for (const row of rows) {
      if (isTexture(row)) {
        const [H, C, W] = row.shape as [number, number, number];
        const usage =
          GPUTextureUsage.STORAGE_BINDING | GPUTextureUsage.TEXTURE_BINDING | GPUTextureUsage.COPY_SRC;
        const size = [W / 4, C, H];
        const format = row.type as CaptureFormat;
        this.#textures.set(row.name, device.createTexture({ label: row.name, size, format, usage }));
      } else {
        const usage = row.usage.reduce((u, f) => u | usageBits[f](), 0);
        this.#buffers.set(row.name, device.createBuffer({ label: row.name, size: rowBytes(row), usage }));
      }
    }
  }

  buffer(name: string): GPUBuffer {
    const b = this.#buffers.get(name);
    if (!b) throw new Error(`no buffer ${name} in this session's activations`);
    return b;
  }

  texture(name: string): GPUTexture {
    const t = this.#textures.get(name);
    if (!t) throw new Error(`no texture ${name} in this session's activations`);
    return t;
  }

  has(name: string): boolean {
    return this.#buffers.has(name) || this.#textures.has(name);
  }

  /** Bytes of what is allocated. */
  get bytes(): number {
    let n = 0;
    for (const b of this.#buffers.values()) n += b.size;
    for (const t of this.#textures.values())
      n += t.width * t.height * t.depthOrArrayLayers * 4 * captureBytesPerValue[t.format as CaptureFormat];
    return n;
  }

  destroy(): void {
    for (const b of this.#buffers.values()) b.destroy();
    for (const t of this.#textures.values()) t.destroy();
    this.#buffers.clear();
    this.#textures.clear();
  }
}
