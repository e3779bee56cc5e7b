// How bench.ts drives the engines of engines.ts on a host it does not share a process with: a
// Chromium page (driver-chromium.ts) or a Node child process on Dawn (driver-node.ts).

import type { AdapterSummary } from '../../src/gpu/device';
import type { EngineName, LoadReport, Mode, RunReport } from './engines';

export interface PeerDriver {
  /** Where the runs happen, for the report ('Chromium', 'Node (Dawn)'). */
  readonly runtime: string;
  adapter(): Promise<AdapterSummary>;
  load(engine: EngineName, shape: string): Promise<LoadReport>;
  run(ids: number[], mode: Mode, wantLogits: boolean): Promise<RunReport>;
  unload(): Promise<void>;
  /** A fresh host, after a run was given up on (the old one may still be busy on the GPU). */
  restart(): Promise<void>;
  close(): Promise<void>;
}

/** What the host logged: ORT's node placements and the engines' `[peers]` lines, for the report. */
export type PeerLog = (text: string) => void;

export const isPeerLogLine = (text: string) => /VerifyEachNodeIsAssignedToAnEp|\[peers\]/.test(text);
