// The latest of a stream of small GPU reads (the heatmap tooltip's cell, the text view's token):
// one in flight at a time, at most one per interval, and a request made while one waits replaces it.

export class LatestRequest<R> {
  #wanted: R | undefined;
  #busy = false;
  readonly #intervalMs: number;
  readonly #serve: (request: R) => Promise<void>;
  readonly #stopped: () => boolean;

  /** `serve` handles one request; nothing more is served once `stopped()`. */
  constructor(intervalMs: number, serve: (request: R) => Promise<void>, stopped: () => boolean) {
    this.#intervalMs = intervalMs;
    this.#serve = serve;
    this.#stopped = stopped;
  }

  /** Asks for `request`, in place of any waiting; undefined withdraws the waiting one. */
  want(request: R | undefined): void {
    this.#wanted = request;
    if (request !== undefined && !this.#busy) void this.#loop();
  }

  async #loop(): Promise<void> {
    this.#busy = true;
    try {
      for (let r = this.#wanted; r !== undefined && !this.#stopped(); r = this.#wanted) {
        this.#wanted = undefined;
        const started = performance.now();
        await this.#serve(r);
        if (this.#stopped()) return;
        const wait = this.#intervalMs - (performance.now() - started);
        if (this.#wanted !== undefined && wait > 0) await new Promise((resume) => setTimeout(resume, wait));
      }
    } finally {
      this.#busy = false;
    }
  }
}
