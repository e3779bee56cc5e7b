// The studio's root state: owns the GPU device (never handed to components) and exposes what the
// UI shows as plain reactive values. Created once in App.svelte and shared through context.

import { getContext, setContext } from 'svelte';
import { acquireGpu, WebGpuUnavailableError, type AdapterSummary, type GpuContext } from '../gpu/device';

export type GpuStatus =
  | { readonly state: 'pending' }
  | { readonly state: 'ready'; readonly adapter: AdapterSummary }
  | { readonly state: 'unavailable'; readonly message: string; readonly help: string }
  | { readonly state: 'lost'; readonly message: string };

export class Studio {
  gpu = $state.raw<GpuStatus>({ state: 'pending' });
  #context: GpuContext | undefined;

  async start(): Promise<void> {
    try {
      this.#context = await acquireGpu(navigator.gpu, { environment: browserName() });
      this.gpu = { state: 'ready', adapter: this.#context.summary };
      void this.#context.device.lost.then((info) => {
        if (info.reason !== 'destroyed')
          this.gpu = { state: 'lost', message: info.message || 'The GPU device was lost.' };
      });
    } catch (e) {
      if (e instanceof WebGpuUnavailableError)
        this.gpu = { state: 'unavailable', message: e.message, help: e.help };
      else
        this.gpu = {
          state: 'unavailable',
          message: String(e),
          help: 'Reload the page; if it persists, update the browser.',
        };
    }
  }

  dispose(): void {
    this.#context?.device.destroy();
    this.#context = undefined;
  }
}

const key = Symbol('studio');
export const setStudio = (studio: Studio): Studio => setContext(key, studio);
export const getStudio = (): Studio => getContext<Studio>(key);

/** A short browser name for messages ("Chrome 131", "Firefox 128", …). */
function browserName(): string {
  const ua = navigator.userAgent;
  const match = /(Edg|Chrome|Chromium|Firefox|Version)\/(\d+)/.exec(ua) ?? ([] as unknown as RegExpExecArray);
  const [, name, version] = match;
  if (!name) return 'This browser';
  const label = name === 'Edg' ? 'Edge' : name === 'Version' ? 'Safari' : name;
  return `${label} ${version ?? ''}`.trim();
}
