// A bound on concurrent work with a FIFO queue whose callers may give up (cancel, deadline):
// AdbPool's stream slots per connection, the adb server path's sockets per server. A freed slot
// passes straight to the next in line.
import type { CancelSignal } from './exec.js';

interface Waiter {
  grant(): void;
  fail(err: Error): void;
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

  /** Takes a slot if one is free with nobody in line (the caller then releases it once). */
  tryAcquire(): boolean {
    if (this.#used >= this.max || this.#queue.length > 0) return false;
    this.#used++;
    return true;
  }

  /**
   * Resolves once a slot is held (release it exactly once). Rejects with cancelled() when the
   * signal fires, with timedOut() at the deadline (epoch ms; Infinity: none), still in line.
   */
  acquire(signal: CancelSignal | undefined, deadline: number, cancelled: () => Error, timedOut: () => Error): Promise<void> {
    if (signal?.aborted === true) return Promise.reject(cancelled());
    if (this.tryAcquire()) return Promise.resolve();
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
        fail: (err) => {
          cleanup();
          reject(err);
        },
      };
      const leave = (err: Error): void => {
        const i = this.#queue.indexOf(waiter);
        if (i < 0) return; // granted or failed meanwhile
        this.#queue.splice(i, 1);
        waiter.fail(err);
      };
      const onAbort = (): void => leave(cancelled());
      signal?.addEventListener('abort', onAbort, { once: true });
      if (deadline !== Infinity) timer = setTimeout(() => leave(timedOut()), Math.max(0, deadline - Date.now()));
      this.#queue.push(waiter);
    });
  }

  /** Everyone in line gives up with err() (the owner is closing); held slots stay held. */
  failWaiting(err: () => Error): void {
    for (const w of this.#queue.splice(0)) w.fail(err());
  }

  release(): void {
    // The common case first: nobody waits (shift() on an empty array is not free per command).
    if (this.#queue.length === 0) {
      this.#used--;
      return;
    }
    this.#queue.shift()!.grant();
  }
}
