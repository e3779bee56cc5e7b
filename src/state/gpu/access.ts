// The GPU objects behind the studio's state — the engine, its device, a prompt's session — for
// state-layer modules only (heatmaps, flow, compare, export, instruments). Components cannot
// import this file: eslint refuses any `**/gpu/*` import in src/components and App.svelte, so a
// component that holds a Studio or a PromptRun still cannot reach a GPU object through it.
//
// Studio and PromptRun register accessors to their private fields here when they are made.

import type { Engine } from '../../engine/engine';
import type { ForwardResult, PromptSession, RunResult, SessionOptions } from '../../engine/session';

export interface StudioGpu {
  /** The current model's engine (undefined while none is loaded or the device is lost). */
  engine(): Engine | undefined;
  /** The current device (undefined before start() and while recovering from a loss). */
  device(): GPUDevice | undefined;
  /** A prompt slot on the current model: its own captures, the model's shared weights. */
  createSession(options?: Partial<SessionOptions>): PromptSession | undefined;
  /** Bumped when the model (and so every session) changes. */
  modelVersion(): number;
}

/** A prompt's latest run and the session whose captures hold it. */
export interface RunCaptures {
  readonly session: PromptSession;
  /** The run whose forward the captures hold. */
  readonly result: ForwardResult;
  /** Its whole result, once its logit lens is back (the session's lens stack holds it then). */
  readonly lens?: RunResult;
  /**
   * Before that, while its lens is still to run: runs it now and gives the whole result — for
   * work under the prompt's lock (withRunCaptures) that needs the lens, e.g. an export.
   */
  readonly finishLens?: () => Promise<RunResult | undefined>;
  /** Counts the prompt's results: tells one run's captures from the next. */
  readonly seq: number;
}

const studios = new WeakMap<object, StudioGpu>();
const runs = new WeakMap<object, () => RunCaptures | undefined>();

export function registerStudioGpu(studio: object, access: StudioGpu): void {
  studios.set(studio, access);
}

export function studioGpu(studio: object): StudioGpu {
  const access = studios.get(studio);
  if (!access) throw new Error('this object is not a Studio');
  return access;
}

export function registerRunCaptures(run: object, captures: () => RunCaptures | undefined): void {
  runs.set(run, captures);
}

/** The run's current captures: undefined before its first run, after a model change, or when disposed. */
export function runCaptures(run: object): RunCaptures | undefined {
  return runs.get(run)?.();
}

/** A prompt's lock: work on its session (runs, exports) one at a time, in order. */
export type RunLock = <T>(work: () => Promise<T>) => Promise<T>;

const locks = new WeakMap<object, RunLock>();

export function registerRunLock(run: object, lock: RunLock): void {
  locks.set(run, lock);
}

/**
 * Runs `work` on the run's captures under the prompt's lock: no run of that prompt can overwrite
 * the captures (or grow the session and free them) until `work` settles, and work queued after a
 * run sees that run's captures. `work` gets undefined when there are none (see runCaptures).
 */
export function withRunCaptures<T>(
  run: object,
  work: (captures: RunCaptures | undefined) => Promise<T>,
): Promise<T> {
  const lock = locks.get(run);
  if (!lock) throw new Error('this object is not a PromptRun (no lock registered)');
  return lock(() => work(runCaptures(run)));
}
