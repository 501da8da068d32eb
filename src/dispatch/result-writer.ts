// Final results are written in batches: one store.finishJobs (one transaction) per flush, so a
// thousand jobs finishing in a second cost a few dozen commits, not a thousand.
import type { JobResult, Store } from '../store/index.js';
import type { Logger } from './ports.js';

/** Flush at once when this many results are pending. */
const FLUSH_BATCH = 256;
/** Otherwise flush this soon after the first pending result (well under the ~10 ms bound). */
const FLUSH_DELAY_MS = 2;
const RETRY_DELAYS_MS = [50, 200, 1000];

export class ResultWriter {
  readonly #store: Store;
  readonly #logger: Logger;
  #pending: JobResult[] = [];
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> | null = null;

  constructor(store: Store, logger: Logger) {
    this.#store = store;
    this.#logger = logger;
  }

  add(r: JobResult): void {
    this.#pending.push(r);
    if (this.#flushing) return; // the running flush picks these up when it ends
    if (this.#pending.length >= FLUSH_BATCH) this.#kick();
    else this.#timer ??= setTimeout(() => this.#kick(), FLUSH_DELAY_MS);
  }

  /** Writes everything pending (and waits for a flush already under way). */
  async flush(): Promise<void> {
    while (this.#flushing || this.#pending.length > 0) {
      if (!this.#flushing) this.#kick();
      await this.#flushing;
    }
  }

  #kick(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#flushing || this.#pending.length === 0) return;
    this.#flushing = this.#drain()
      .catch((err: unknown) => this.#logger.error({ err }, 'result flush failed'))
      .finally(() => {
        this.#flushing = null;
        // Results added between the drain's last check and here would otherwise wait for the next add.
        if (this.#pending.length > 0) this.#kick();
      });
  }

  async #drain(): Promise<void> {
    // One flush at a time keeps results in order; what arrives meanwhile goes in the next batch.
    while (this.#pending.length > 0) {
      await this.#write(this.#pending.splice(0, FLUSH_BATCH));
    }
  }

  async #write(batch: JobResult[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#store.finishJobs(batch);
        return;
      } catch (err) {
        const delay = RETRY_DELAYS_MS[attempt];
        if (delay === undefined) {
          // The jobs stay running in the store; the next start marks them 1006. Never re-run.
          this.#logger.error({ err, jobs: batch.length }, 'writing job results failed; giving up on this batch');
          return;
        }
        this.#logger.warn({ err, jobs: batch.length, attempt }, 'writing job results failed; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
}
