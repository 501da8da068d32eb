// A leased worker's health monitor tells the store the statuses it measures (SPEC §6), for the API
// nodes to read: only changes, gathered for a moment and written in one statement. A write that
// fails is kept and tried again with the next (the latest status per instance wins).
import type { InstanceStatus } from '../core/index.js';
import type { WorkerLeases } from '../store/index.js';
import type { Logger } from './ports.js';

/** Changes gathered this long before they are written. */
const FLUSH_MS = 100;
/** After a failed write, the next attempt waits this long. */
const RETRY_MS = 1_000;

export class HealthPublisher {
  readonly #leases: WorkerLeases;
  readonly #logger: Logger;
  readonly #pending = new Map<number, InstanceStatus>();
  #timer: NodeJS.Timeout | null = null;
  #writing: Promise<void> | null = null;
  #stopped = false;

  constructor(leases: WorkerLeases, logger: Logger) {
    this.#leases = leases;
    this.#logger = logger;
  }

  set(instanceKey: number, status: InstanceStatus): void {
    if (this.#stopped) return;
    this.#pending.set(instanceKey, status);
    this.#schedule(FLUSH_MS);
  }

  /** Writes what is pending (once), then takes no more. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#writing;
    await this.#flush();
  }

  #schedule(ms: number): void {
    if (this.#timer !== null || this.#writing !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#writing = this.#flush().then((ok) => {
        this.#writing = null;
        if (this.#pending.size > 0 && !this.#stopped) this.#schedule(ok ? FLUSH_MS : RETRY_MS);
      });
    }, ms);
    this.#timer.unref();
  }

  /** False when the write failed (the statuses are pending again). */
  async #flush(): Promise<boolean> {
    if (this.#pending.size === 0) return true;
    const statuses = [...this.#pending].map(([instanceKey, status]) => ({ instanceKey, status }));
    this.#pending.clear();
    try {
      await this.#leases.recordHealth(statuses, Date.now());
      return true;
    } catch (err) {
      this.#logger.error({ err, instances: statuses.length }, 'storing health statuses failed; tried again shortly');
      for (const s of statuses) if (!this.#pending.has(s.instanceKey)) this.#pending.set(s.instanceKey, s.status);
      return false;
    }
  }
}
