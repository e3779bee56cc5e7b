// The child process of `npm run bench:peers -- --runtime node`: one PeerEngines (engines.ts) on Dawn,
// driven over IPC by driver-node.ts, as the Chromium runtime drives its page. A child of its own, so
// that a run past its budget is stopped by ending the process, as the Chromium runtime closes its
// browser, and so that the Vulkan driver (VK_ICD_FILENAMES) is chosen per run.
// Environment: STRATA_PEERS_MODELS (the checkpoints' folder), STRATA_PEERS_ORT (ORT's dist folder).

import { PeerEngines } from './engines';
import { nodePeerHost } from './node-host';
import { loadTf } from './tf-node';

export interface WorkerCall {
  id: number;
  method: 'adapter' | 'load' | 'run' | 'unload';
  args: unknown[];
}
export type WorkerReply = { id: number; value: unknown } | { id: number; error: string };

const models = process.env.STRATA_PEERS_MODELS;
const ortDist = process.env.STRATA_PEERS_ORT;
if (!models || !ortDist || !process.send) {
  throw new Error('node-worker runs as a child of bench:peers (STRATA_PEERS_MODELS, STRATA_PEERS_ORT, IPC)');
}
const engines = new PeerEngines(await nodePeerHost({ models, ortDist, tf: loadTf }));
const send = (reply: WorkerReply) => process.send!(reply);

process.on('message', (call: WorkerCall) => {
  const f = engines[call.method] as (...a: unknown[]) => Promise<unknown>;
  f.apply(engines, call.args).then(
    (value) => send({ id: call.id, value }),
    (e: unknown) => send({ id: call.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
  );
});
send({ id: 0, value: 'ready' });
