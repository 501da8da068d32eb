// A bound on concurrent work with a FIFO queue whose callers may give up (cancel, deadline): the
// adb server path's cap on sockets per server. A freed slot passes straight to the next in line.
import type { CancelSignal } from './exec.js';

interface Waiter {
  grant(): void;
}

export class Slots {
  readonly max: number;
  #used = 0;
  readonly #queue: Waiter[] = [];

  constructor(max: number) {
    this.max = Math.max(1, max);
  }

  get used(): number {
    return this.#used;
  }

  get waiting(): number {
    return this.#queue.length;
  }

  /**
   * Resolves once a slot is held (release it exactly once). Rejects with cancelled() when the
   * signal fires, with timedOut() at the deadline (epoch ms; Infinity: none), still in line.
   */
  acquire(signal: CancelSignal | undefined, deadline: number, cancelled: () => Error, timedOut: () => Error): Promise<void> {
    if (signal?.aborted === true) return Promise.reject(cancelled());
    if (this.#used < this.max && this.#queue.length === 0) {
      this.#used++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      let timer: NodeJS.Timeout | null = null;
      const cleanup = (): void => {
        if (timer !== null) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: Waiter = {
        grant: () => {
          cleanup();
          resolve();
        },
      };
      const leave = (err: Error): void => {
        const i = this.#queue.indexOf(waiter);
        if (i < 0) return; // granted meanwhile
        this.#queue.splice(i, 1);
        cleanup();
        reject(err);
      };
      const onAbort = (): void => leave(cancelled());
      signal?.addEventListener('abort', onAbort, { once: true });
      if (deadline !== Infinity) timer = setTimeout(() => leave(timedOut()), Math.max(0, deadline - Date.now()));
      this.#queue.push(waiter);
    });
  }

  release(): void {
    const next = this.#queue.shift();
    if (next !== undefined) return next.grant();
    this.#used--;
  }
}
