// Final results are written in batches: one store.finishJobs (one transaction) per flush, so a
// thousand jobs finishing in a second cost a few dozen commits, not a thousand.
//
// A result is never given up while the process lives: the job ran, and the only honest record of
// it is in this memory until the store takes it. When the store refuses writes (a full disk, a
// locked or broken file), the batch is retried with a capped backoff for as long as it takes, and
// what keeps arriving is held behind it. Held results are bounded by back-pressure, not by
// dropping: past the bound the writer tells the scheduler to start nothing new until the store
// takes results again, so at most the bound plus the jobs already running are ever held.
import { StoreErrorCode, type JobResult, type Store } from '../store/index.js';
import type { Logger } from './ports.js';

/** Flush at once when this many results are pending. */
const FLUSH_BATCH = 256;
/** Otherwise flush this soon after the first pending result (well under the ~10 ms bound). */
const FLUSH_DELAY_MS = 2;
/** Retry delays double from the first up to the cap, then stay there. */
const RETRY_FIRST_MS = 50;
const RETRY_CAP_MS = 2_000;
/** Held output past this starts back-pressure even below the result bound (outputs go up to 1 MiB each). */
const MAX_HELD_BYTES = 64 * 1024 * 1024;
/** A stop logs at most this many job keys of the results it could not write. */
const LOGGED_KEYS = 100;

export interface ResultWriterOptions {
  store: Store;
  logger: Logger;
  /** held results at which back-pressure starts */
  maxHeldResults: number;
  /** true: start no new job (the store is not taking results and the bound is reached); false: go on */
  backPressure(on: boolean): void;
}

export class ResultWriter {
  readonly #o: ResultWriterOptions;
  #pending: JobResult[] = [];
  /** the batch being written (retried until the store takes it) */
  #batch: JobResult[] = [];
  #timer: NodeJS.Timeout | null = null;
  #flushing: Promise<void> | null = null;
  /** failed attempts on the current batch; 0 on the fast path */
  #failures = 0;
  /** output bytes held, counted only while writes fail (the fast path adds nothing per job) */
  #heldBytes = 0;
  #pressure = false;
  /** set by stop(): the retry loop ends at its next turn */
  #closed = false;
  #wakeRetry: (() => void) | null = null;
  /** room() callers, each waiting for fewer than n held results */
  #roomWaiters: { n: number; resolve: () => void }[] = [];

  constructor(options: ResultWriterOptions) {
    this.#o = options;
  }

  /** results not yet in the store */
  get held(): number {
    return this.#pending.length + this.#batch.length;
  }

  /** Resolves once fewer than n results are held (at once if they are; also when stopped). */
  room(n: number): Promise<void> {
    if (this.held < n || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#roomWaiters.push({ n, resolve }));
  }

  add(r: JobResult): void {
    this.#pending.push(r);
    if (this.#failures > 0) this.#holdMore(r);
    if (this.#flushing) return; // the running flush picks these up when it ends
    if (this.#pending.length >= FLUSH_BATCH) this.#kick();
    else this.#timer ??= setTimeout(() => this.#kick(), FLUSH_DELAY_MS);
  }

  /** Writes everything pending (and waits for a flush already under way); retries until the store
   * takes it or `deadline` (epoch ms) passes, then stops retrying for good and logs what it could
   * not write (those jobs stay running in the store: the next start marks them 1006). */
  async stop(deadline: number): Promise<void> {
    const timer = setTimeout(() => this.#close(), Math.max(0, deadline - Date.now()));
    try {
      while (!this.#closed && (this.#flushing || this.#pending.length > 0)) {
        if (!this.#flushing) this.#kick();
        await this.#flushing;
      }
    } finally {
      clearTimeout(timer);
      this.#close();
    }
    const lost = [...this.#batch, ...this.#pending];
    if (lost.length === 0) return;
    this.#o.logger.error(
      { jobs: lost.length, jobKeys: lost.slice(0, LOGGED_KEYS).map((r) => r.jobKey) },
      'stopping with job results the store did not take: those jobs stay running in the store and the next start marks them interrupted (1006)',
    );
  }

  #close(): void {
    this.#closed = true;
    this.#wakeRetry?.();
    this.#wakeRoom();
  }

  #wakeRoom(): void {
    if (this.#roomWaiters.length === 0) return;
    const held = this.held;
    this.#roomWaiters = this.#roomWaiters.filter((w) => {
      if (held >= w.n && !this.#closed) return true;
      w.resolve();
      return false;
    });
  }

  #kick(): void {
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#flushing || this.#pending.length === 0 || this.#closed) return;
    this.#flushing = this.#drain()
      .catch((err: unknown) => this.#o.logger.error({ err }, 'result flush failed'))
      .finally(() => {
        this.#flushing = null;
        // Results added between the drain's last check and here would otherwise wait for the next add.
        if (this.#pending.length > 0) this.#kick();
      });
  }

  async #drain(): Promise<void> {
    // One flush at a time keeps results in order; what arrives meanwhile goes in the next batch.
    while (this.#pending.length > 0 && !this.#closed) {
      this.#batch = this.#pending.splice(0, FLUSH_BATCH);
      await this.#write();
      this.#wakeRoom();
    }
  }

  /** Writes #batch, retrying until the store takes it (or the writer is stopped). */
  async #write(): Promise<void> {
    while (!this.#closed && this.#batch.length > 0) {
      try {
        await this.#o.store.finishJobs(this.#batch);
        this.#batch = [];
      } catch (err) {
        if (isInvalid(err)) {
          this.#batch = await this.#withoutInvalid(this.#batch);
          continue;
        }
        this.#failed(err);
        await this.#sleep(Math.min(RETRY_CAP_MS, RETRY_FIRST_MS * 2 ** (this.#failures - 1)));
      }
    }
    if (this.#batch.length === 0 && this.#failures > 0) this.#recovered();
  }

  /** A result the store rejects as invalid is a bug here, and retrying it would hold every result
   * behind it: the batch is written one by one, the invalid ones are logged and left (their jobs
   * stay running until the next start: 1006); returns those that failed for another reason. */
  async #withoutInvalid(batch: JobResult[]): Promise<JobResult[]> {
    const rest: JobResult[] = [];
    for (const r of batch) {
      try {
        await this.#o.store.finishJobs([r]);
      } catch (err) {
        if (isInvalid(err)) this.#o.logger.error({ err, jobKey: r.jobKey }, 'the store rejected a job result as invalid; left for the next start (1006)');
        else rest.push(r);
      }
    }
    return rest;
  }

  #failed(err: unknown): void {
    this.#failures++;
    if (this.#failures === 1) {
      // From here on every added result is counted; what is already held is counted once now.
      this.#heldBytes = 0;
      for (const r of this.#batch) this.#heldBytes += r.outputBytes;
      for (const r of this.#pending) this.#heldBytes += r.outputBytes;
      this.#o.logger.warn({ err, held: this.held }, 'writing job results failed; holding them and retrying until the store takes them');
      this.#checkPressure();
    } else if (this.#failures % 30 === 0) {
      this.#o.logger.error({ err, held: this.held, attempts: this.#failures }, 'writing job results still fails; holding them and retrying');
    }
  }

  #recovered(): void {
    this.#o.logger.info({ attempts: this.#failures, held: this.held }, 'the store takes job results again');
    this.#failures = 0;
    this.#heldBytes = 0;
    if (this.#pressure) {
      this.#pressure = false;
      this.#o.backPressure(false);
    }
  }

  #holdMore(r: JobResult): void {
    this.#heldBytes += r.outputBytes;
    if (!this.#pressure) this.#checkPressure();
  }

  #checkPressure(): void {
    if (this.#pressure || (this.held < this.#o.maxHeldResults && this.#heldBytes < MAX_HELD_BYTES)) return;
    this.#pressure = true;
    this.#o.logger.warn({ held: this.held, bytes: this.#heldBytes }, 'job results held up to the bound: starting no new job until the store takes them');
    this.#o.backPressure(true);
  }

  /** Waits ms, or until stop() gives up. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#wakeRetry?.(), ms);
      this.#wakeRetry = () => {
        clearTimeout(timer);
        this.#wakeRetry = null;
        resolve();
      };
    });
  }
}

function isInvalid(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === StoreErrorCode.InvalidArgument;
}
