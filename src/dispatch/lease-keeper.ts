// Keeps a worker's instance leases (store.joinAsWorker, PostgreSQL): a round at start, then one
// every third of the lease, so two rounds may fail before a lease lapses. A round's news goes to
// the dispatcher: instances acquired (their queued jobs are read) and lost (their lanes stop).
// Rounds never overlap; a failed round is logged and the next tick tries again.
// The fence: a worker that has not renewed for FENCE_SHARE of a lease (cut off from the database,
// or the database down) gives up its instances itself, aborting their running jobs, before any
// other worker can see the lease lapse and start the next job on the same device. A process
// frozen whole (SIGSTOP, a VM paused) cannot fence itself: its commands may still end after the
// rescue, recorded 1006.
import type { LeaseRound, WorkerLeases } from '../store/index.js';
import type { Logger } from './ports.js';

/** Share of a lease after the start of its last renewal at which the worker fences itself: the
 * rest is the margin for clock skew between nodes and for the abort to reach the devices. */
const FENCE_SHARE = 0.8;

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
  #fence: NodeJS.Timeout | null = null;
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
    const at = Date.now();
    const first = await this.#leases.round(at);
    this.#renewed(at);
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
    if (this.#fence !== null) clearTimeout(this.#fence);
    this.#fence = null;
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
    const at = Date.now();
    try {
      r = await this.#leases.round(at);
    } catch (err) {
      if (this.#failures++ % 10 === 0) this.#logger.error({ err, failures: this.#failures }, 'lease round failed; tried again shortly');
      return;
    }
    this.#failures = 0;
    this.#renewed(at);
    this.#tell(r);
    if (r.acquired.length > 0 && !this.#stopped) await this.#hooks.acquired(r.acquired);
  }

  /** A round that started at `at` succeeded: every lease lasts until at + lease (by this clock). */
  #renewed(at: number): void {
    if (this.#fence !== null) clearTimeout(this.#fence);
    this.#fence = setTimeout(() => this.#fenceOff(), Math.max(0, at + this.#leases.identity.leaseMs * FENCE_SHARE - Date.now()));
    this.#fence.unref();
  }

  #fenceOff(): void {
    this.#fence = null;
    if (this.#stopped) return;
    const held = this.#leases.forfeit();
    if (held.length === 0) return;
    this.#logger.error(
      { instances: held.length, leaseMs: this.#leases.identity.leaseMs },
      'leases not renewed in time: this worker stops its instances before another worker may take them',
    );
    this.#hooks.lost(held);
  }

  #tell(r: LeaseRound): void {
    if (r.lost.length > 0) this.#hooks.lost(r.lost);
    if (r.interrupted > 0) this.#hooks.interrupted(r.interrupted);
    if (r.acquired.length > 0 || r.lost.length > 0) {
      this.#logger.info({ held: r.held.length, acquired: r.acquired.length, lost: r.lost.length, interrupted: r.interrupted }, 'leases changed');
    }
  }
}
