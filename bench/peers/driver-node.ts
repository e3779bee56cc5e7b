// bench:peers in Node on Dawn: the engines in a child process (node-worker.ts), called over IPC.
// The Vulkan driver is the child's: `vk` picks SwiftShader or Mesa's lavapipe on a machine without
// a GPU (docs/webgpu-on-cpu.md); with none given, Dawn takes what the machine has (the GPU).

import { fork, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { PeerDriver, PeerLog } from './driver';
import { isPeerLogLine } from './driver';
import type { WorkerCall, WorkerReply } from './node-worker';

export const vulkanDrivers: Record<string, string> = {
  swiftshader: '/usr/lib/chromium/vk_swiftshader_icd.json',
  lavapipe: '/usr/share/vulkan/icd.d/lvp_icd.json',
};

// ORT's log colours (ESC [ … m).
const ansiColour = new RegExp(String.fromCharCode(27) + '\\[[0-9;]*m', 'g');

export interface NodeDriverOptions {
  models: string;
  ortDist: string;
  /** The worker's module and the Node flags it needs (`--import tsx` for the .ts source). */
  worker: string;
  execArgv: string[];
  /** 'swiftshader', 'lavapipe', or undefined for the machine's own driver. */
  vk?: string;
}

export async function nodeDriver(o: NodeDriverOptions, log: PeerLog): Promise<PeerDriver> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    STRATA_PEERS_MODELS: o.models,
    STRATA_PEERS_ORT: o.ortDist,
  };
  if (o.vk !== undefined) {
    const icd = vulkanDrivers[o.vk];
    if (!icd) throw new Error(`--vk: ${o.vk} is not one of ${Object.keys(vulkanDrivers).join(', ')}`);
    env.VK_ICD_FILENAMES = icd;
  }
  let child: ChildProcess | undefined;
  let nextId = 1;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  const stderrTail: string[] = [];

  const start = () =>
    new Promise<void>((resolve, reject) => {
      const c = fork(o.worker, [], { env, execArgv: o.execArgv, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
      child = c;
      const lines = (stream: NodeJS.ReadableStream, keep: boolean) =>
        createInterface({ input: stream }).on('line', (raw) => {
          const line = raw.replace(ansiColour, ''); // ORT colours its log
          if (isPeerLogLine(line)) log(line);
          else if (keep) stderrTail.splice(0, Math.max(0, stderrTail.push(line) - 40));
        });
      lines(c.stdout!, false);
      lines(c.stderr!, true);
      c.on('message', (m: WorkerReply) => {
        if (m.id === 0) return resolve();
        const p = pending.get(m.id);
        pending.delete(m.id);
        if ('error' in m) p?.reject(new Error(m.error));
        else p?.resolve(m.value);
      });
      c.on('exit', (code, signal) => {
        if (child !== c) return;
        const why = new Error(
          `the Node host exited (${signal ?? `code ${code}`})` +
            (stderrTail.length ? `:\n${stderrTail.join('\n')}` : ''),
        );
        for (const p of pending.values()) p.reject(why);
        pending.clear();
        reject(why);
      });
    });
  const call = <T>(method: WorkerCall['method'], ...args: unknown[]) =>
    new Promise<T>((resolve, reject) => {
      if (!child || child.exitCode !== null) return reject(new Error('the Node host is not running'));
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, method, args } satisfies WorkerCall);
    });
  const stop = () => {
    const c = child;
    child = undefined;
    if (c && c.exitCode === null) c.kill('SIGKILL');
  };
  await start();
  return {
    runtime: 'Node (Dawn)',
    adapter: () => call('adapter'),
    load: (e, s) => call('load', e, s),
    run: (i, m, w) => call('run', i, m, w),
    unload: () => call('unload'),
    async restart() {
      stop();
      await start();
    },
    async close() {
      stop();
    },
  };
}
