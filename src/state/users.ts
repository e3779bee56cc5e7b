// The users of something that runs while anyone uses it (the instruments, the logit lens following
// a prompt): the first attach starts it, the last detach stops it.

export class Users {
  #count = 0;
  #stop: (() => void) | undefined;
  readonly #start: () => () => void;
  readonly #idle: (() => void) | undefined;

  /** `start` starts the work and returns its stop; `idle` runs after the last user's stop. */
  constructor(start: () => () => void, idle?: () => void) {
    this.#start = start;
    this.#idle = idle;
  }

  /** One more user; starts the work for the first. Returns the user's detach (once only). */
  attach(): () => void {
    this.#count++;
    if (this.#count === 1) this.#stop = this.#start();
    let attached = true;
    return () => {
      if (!attached) return;
      attached = false;
      if (--this.#count === 0) {
        this.#stop?.();
        this.#stop = undefined;
        this.#idle?.();
      }
    };
  }

  /** Stops the work now and forgets the users (for dispose; their detaches then do nothing). */
  reset(): void {
    this.#stop?.();
    this.#stop = undefined;
    this.#count = 0;
  }
}
