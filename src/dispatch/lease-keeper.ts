// Keeps a worker's instance leases (store.joinAsWorker, PostgreSQL): a round at start, then one
// every third of the lease, so two rounds may fail before a lease lapses. A round's news goes to
// the dispatcher: instances acquired (their queued jobs are read) and lost (their lanes stop).
// Rounds never overlap; a failed round is logged and the next tick tries again (the store refuses
// to start jobs of an instance whose lease lapsed meanwhile, so nothing runs on a stale lease).
import type { LeaseRound, WorkerLeases } from '../store/index.js';
import type { Logger } from './ports.js';

export interface LeaseKeeperHooks {
  /** Instances this round claimed; the next round waits for this to settle. */
  acquired(instanceKeys: number[]): Promise<void>;
  /** Instances held before and no longer. */
  lost(instanceKeys: number[]): void;
  /** Running jobs the round failed 1006 (lapsed leases, orphans). */
  interrupted(jobs: number): void;
}

export class LeaseKeeper {
  readonly #leases: WorkerLeases;
  readonly #logger: Logger;
  readonly #hooks: LeaseKeeperHooks;
  #timer: NodeJS.Timeout | null = null;
  #round: Promise<void> | null = null;
  #stopped = false;
  #failures = 0;

  constructor(leases: WorkerLeases, logger: Logger, hooks: LeaseKeeperHooks) {
    this.#leases = leases;
    this.#logger = logger;
    this.#hooks = hooks;
  }

  /** The first round (it throws if the store cannot be reached), then one per third of the lease. */
  async start(): Promise<LeaseRound> {
    const first = await this.#leases.round(Date.now());
    this.#tell(first);
    const every = Math.max(50, Math.floor(this.#leases.identity.leaseMs / 3));
    this.#timer = setInterval(() => this.#tick(), every);
    this.#timer.unref();
    return first;
  }

  /** No more rounds; the one in flight ends first. Then every lease is given up (leave). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    await this.#round;
    try {
      await this.#leases.leave();
    } catch (err) {
      this.#logger.error({ err }, 'releasing the leases failed: they lapse by themselves');
    }
  }

  #tick(): void {
    if (this.#round !== null || this.#stopped) return;
    this.#round = this.#run().finally(() => {
      this.#round = null;
    });
  }

  async #run(): Promise<void> {
    let r: LeaseRound;
    try {
      r = await this.#leases.round(Date.now());
    } catch (err) {
      if (this.#failures++ % 10 === 0) this.#logger.error({ err, failures: this.#failures }, 'lease round failed; tried again shortly');
      return;
    }
    this.#failures = 0;
    this.#tell(r);
    if (r.acquired.length > 0 && !this.#stopped) await this.#hooks.acquired(r.acquired);
  }

  #tell(r: LeaseRound): void {
    if (r.lost.length > 0) this.#hooks.lost(r.lost);
    if (r.interrupted > 0) this.#hooks.interrupted(r.interrupted);
    if (r.acquired.length > 0 || r.lost.length > 0) {
      this.#logger.info({ held: r.held.length, acquired: r.acquired.length, lost: r.lost.length, interrupted: r.interrupted }, 'leases changed');
    }
  }
}
