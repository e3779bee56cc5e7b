// The probe fitting off the main thread: a module worker that runs fitProbes on the features it is
// sent (transferred, not copied) and posts progress after each layer. Started by
// fitProbesInWorker (probe-background.ts); cancelling terminates it.

import { fitProbes } from './probe-fit';
import type { ProbeFitRequest, ProbeWorkerMessage } from './probe-background';

const post = (message: ProbeWorkerMessage) => self.postMessage(message);

self.onmessage = (event: MessageEvent<ProbeFitRequest>) => {
  const { features, labels, classes, options } = event.data;
  try {
    const result = fitProbes(features, labels, classes, options, (done, total) =>
      post({ kind: 'progress', done, total }),
    );
    post({ kind: 'result', result });
  } catch (e) {
    post({ kind: 'error', message: (e as Error).message ?? String(e) });
  }
};
