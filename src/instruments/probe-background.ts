// Fitting probes without freezing the page: the work goes to a module worker (probe-worker.ts);
// progress comes back per layer, and an abort terminates the worker at once.

import type { ProbeFeatures, ProbeFitOptions, ProbeFitResult } from './probe-fit';

export interface ProbeFitRequest {
  readonly features: ProbeFeatures;
  readonly labels: Int32Array;
  readonly classes: number;
  readonly options: ProbeFitOptions;
}

export type ProbeWorkerMessage =
  | { readonly kind: 'progress'; readonly done: number; readonly total: number }
  | { readonly kind: 'result'; readonly result: ProbeFitResult }
  | { readonly kind: 'error'; readonly message: string };

export interface BackgroundOptions {
  readonly signal?: AbortSignal;
  /** After each layer: layers done, total. */
  readonly onProgress?: (done: number, total: number) => void;
}

/** The signature ProbeStudy fits with: this worker in the browser, fitProbes itself in Node tests. */
export type ProbeFitter = (request: ProbeFitRequest, options: BackgroundOptions) => Promise<ProbeFitResult>;

/**
 * Runs fitProbes in a new module worker. The features' buffer is transferred to the worker (it is
 * unusable here afterwards). Rejects with an AbortError when `signal` aborts.
 */
export const fitProbesInWorker: ProbeFitter = (request, { signal, onProgress } = {}) =>
  new Promise<ProbeFitResult>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new DOMException('probe fitting cancelled', 'AbortError'));
      return;
    }
    const worker = new Worker(new URL('./probe-worker.ts', import.meta.url), {
      type: 'module',
      name: 'probe fitting',
    });
    const finish = () => {
      worker.terminate();
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      finish();
      reject(new DOMException('probe fitting cancelled', 'AbortError'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.onmessage = (event: MessageEvent<ProbeWorkerMessage>) => {
      const m = event.data;
      if (m.kind === 'progress') onProgress?.(m.done, m.total);
      else {
        finish();
        if (m.kind === 'result') resolve(m.result);
        else reject(new Error(`probe fitting failed: ${m.message}`));
      }
    };
    worker.onerror = (event) => {
      finish();
      reject(new Error(`the probe worker failed: ${event.message || 'it could not be started'}`));
    };
    worker.postMessage(request, [request.features.data.buffer]);
  });
