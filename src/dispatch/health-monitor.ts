// Keeps every registered instance's SPEC §6 status: running when adbd answers a ping (over the
// pool's connection, made if needed), offline when it does not, starting from a reboot until adbd
// answers again.
// Checks go through a bounded queue so 10,000 instances never mean 10,000 connects at once, and
// a ping budget (healthPingsPerSecond) so a large fleet's idle cost stays flat: past
// interval x budget instances the cycle stretches instead. A connection that carried traffic
// within the interval counts as answering and is not pinged. The registry is followed through
// the store's instances-changed notices, reading only the instances each one names.
// A leased worker's monitor (several workers on PostgreSQL) checks only the instances it holds,
// stores what it measures for the API nodes (health-publisher.ts), and reboots its instances when
// an API node asks through the store.
import { InstanceStatus, type Config } from '../core/index.js';
import type { InstanceTarget, Store, WorkerLeases } from '../store/index.js';
import { HealthPublisher } from './health-publisher.js';
import { SILENT_LOGGER, unsubscribe, type Logger, type ConnectionPool } from './ports.js';
import type { HealthMonitor } from './types.js';

export interface HealthMonitorOptions {
  store: Store;
  pool: ConnectionPool;
  /** how often each instance is checked, how long a check waits for adbd, and the pings per second at most */
  config: Pick<Config, 'healthIntervalMs' | 'healthTimeoutMs' | 'healthPingsPerSecond'>;
  logger?: Logger;
  /** checks in flight at most; default 64 */
  concurrency?: number;
  /** how often a rebooting instance is polled; default 250 ms */
  startingPollMs?: number;
  /** this worker's leases: only the instances held are checked, and their statuses stored */
  leases?: WorkerLeases | null;
}

/** A reboot whose connection was never seen going down is taken as done after this long. */
const REBOOT_UNSEEN_MS = 30_000;
/** The ping budget may gather this much time's worth, so pacing costs a timer per burst, not per ping. */
const PACE_BURST_MS = 50;

interface Entry {
  target: InstanceTarget;
  status: InstanceStatus;
  /** set from reboot() until a connect succeeds after the device went down */
  rebootAt: number | null;
  sawDown: boolean;
  /** bumped by reboot(): a check begun before it must not decide the status after it */
  generation: number;
  queued: boolean;
  checking: boolean;
  /** when the last check's ping settled: what arrived before it may be that ping's own answer */
  checkedAt: number;
}

export function createHealthMonitor(options: HealthMonitorOptions): HealthMonitor {
  return new PoolHealthMonitor(options);
}

class PoolHealthMonitor implements HealthMonitor {
  readonly #store: Store;
  readonly #pool: ConnectionPool;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #concurrency: number;
  readonly #startingPollMs: number;
  readonly #pingTimeoutMs: number;
  /** the ping budget: a token bucket refilled at healthPingsPerSecond, PACE_BURST_MS deep */
  readonly #pingsPerMs: number;
  readonly #burst: number;
  #tokens: number;
  #refilledAt = Date.now();
  #paceTimer: NodeJS.Timeout | null = null;
  readonly #entries = new Map<string, Entry>();
  readonly #byAddress = new Map<string, Set<Entry>>();
  /** checks waiting for a slot; entries before #queueHead are done */
  #queue: Entry[] = [];
  #queueHead = 0;
  #inFlight = 0;
  #timer: NodeJS.Timeout | null = null;
  #fastTimer: NodeJS.Timeout | null = null;
  #subscription: unknown = null;
  #feedOff: (() => void) | null = null;
  /** registry changes are applied one after another, in the order the store told them */
  #applying: Promise<void> = Promise.resolve();
  #running = false;
  readonly #leases: WorkerLeases | null;
  readonly #publisher: HealthPublisher | null;
  /** the held set the entries were loaded for (leased) */
  #scope: ReadonlySet<number> | null = null;

  constructor({ store, pool, config, logger = SILENT_LOGGER, concurrency = 64, startingPollMs = 250, leases = null }: HealthMonitorOptions) {
    this.#store = store;
    this.#leases = leases;
    this.#publisher = leases === null ? null : new HealthPublisher(leases, logger);
    this.#pool = pool;
    this.#logger = logger;
    this.#intervalMs = config.healthIntervalMs;
    this.#concurrency = Math.max(1, concurrency);
    this.#startingPollMs = startingPollMs;
    this.#pingTimeoutMs = config.healthTimeoutMs;
    this.#pingsPerMs = config.healthPingsPerSecond / 1000;
    this.#burst = Math.max(1, Math.ceil(this.#pingsPerMs * PACE_BURST_MS));
    this.#tokens = this.#burst;
  }

  status(instanceId: string): InstanceStatus {
    return this.#entries.get(instanceId)?.status ?? InstanceStatus.Unknown;
  }

  statusCounts(): number[] {
    const counts = Object.values(InstanceStatus).map(() => 0);
    for (const e of this.#entries.values()) counts[e.status]!++;
    return counts;
  }

  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#subscription = this.#pool.onDisconnect((address) => this.#disconnected(address));
    // Subscribed before the first read: a change committed meanwhile is applied after it.
    this.#feedOff = this.#store.changes.onInstancesChanged((change) => {
      void this.#follow(() => this.#changed(change.instanceIds));
      // A reboot asked by an API node comes with a notice naming the instance.
      if (this.#leases !== null) void this.#follow(() => this.#takeReboots());
    });
    await this.#follow(() => this.#loadAll());
    // With more instances than the ping budget covers in one interval, entries are still queued
    // from the last round and are not queued twice: the cycle stretches to instances / budget.
    this.#timer = setInterval(() => {
      if (this.#leases !== null) {
        // Leases changed: the held instances are checked from now on. Reboots missed by a notice.
        if (this.#scope !== this.#leases.held()) void this.#follow(() => this.#loadAll());
        void this.#follow(() => this.#takeReboots());
      }
      for (const e of this.#entries.values()) if (e.rebootAt === null) this.#enqueue(e);
    }, this.#intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#fastTimer) clearInterval(this.#fastTimer);
    if (this.#paceTimer) clearTimeout(this.#paceTimer);
    this.#timer = this.#fastTimer = this.#paceTimer = null;
    unsubscribe(this.#subscription);
    this.#subscription = null;
    this.#feedOff?.();
    this.#feedOff = null;
    for (const e of this.#queue) e.queued = false;
    this.#queue = [];
    this.#queueHead = 0;
    await this.#publisher?.stop();
  }

  #follow(step: () => Promise<void>): Promise<void> {
    this.#applying = this.#applying.then(step).catch((err: unknown) => {
      this.#logger.error({ err }, 'health monitor could not read the changed instances');
    });
    return this.#applying;
  }

  async #loadAll(): Promise<void> {
    const scope = this.#leases?.held() ?? null;
    const targets = await this.#store.listTargets();
    this.#scope = scope;
    const listed = new Set<string>();
    for (const target of targets) {
      if (scope !== null && !scope.has(target.instanceKey)) continue;
      listed.add(target.instanceId);
      this.#upsert(target);
    }
    for (const id of [...this.#entries.keys()]) if (!listed.has(id)) this.#remove(id);
  }

  /** Only the instances a change named are read: registering 10,000 is one read of 10,000, not a
   * re-read of the whole registry per registration. */
  async #changed(instanceIds: readonly string[]): Promise<void> {
    const found = new Map<string, InstanceTarget>();
    for (const t of await this.#store.instanceTargets(instanceIds)) found.set(t.instanceId, t);
    const scope = this.#leases?.held() ?? null;
    for (const id of instanceIds) {
      const target = found.get(id);
      if (target === undefined || (scope !== null && !scope.has(target.instanceKey))) this.#remove(id);
      else this.#upsert(target);
    }
  }

  /** Reboots an API node asked for, of the instances this worker holds (leased). */
  async #takeReboots(): Promise<void> {
    const keys = new Set(await this.#leases!.takeReboots());
    if (keys.size === 0) return;
    for (const e of this.#entries.values()) {
      if (!keys.has(e.target.instanceKey)) continue;
      this.reboot(e.target).catch((err: unknown) => this.#logger.warn({ err, instanceId: e.target.instanceId }, 'reboot asked by the API failed'));
    }
  }

  /** Every status change goes through here: a leased worker stores it for the API nodes. */
  #setStatus(e: Entry, status: InstanceStatus): void {
    if (e.status === status) return;
    e.status = status;
    this.#publisher?.set(e.target.instanceKey, status);
  }

  /** A new instance, or one whose address changed, starts unknown and is checked. */
  #upsert(target: InstanceTarget): void {
    const old = this.#entries.get(target.instanceId);
    if (old !== undefined && old.target.adbAddress === target.adbAddress) {
      old.target = target;
      return;
    }
    if (old !== undefined) this.#remove(target.instanceId);
    const e: Entry = { target, status: InstanceStatus.Unknown, rebootAt: null, sawDown: false, generation: 0, queued: false, checking: false, checkedAt: 0 };
    this.#entries.set(target.instanceId, e);
    let set = this.#byAddress.get(target.adbAddress);
    if (!set) this.#byAddress.set(target.adbAddress, (set = new Set()));
    set.add(e);
    this.#enqueue(e);
  }

  #remove(instanceId: string): void {
    const e = this.#entries.get(instanceId);
    if (e === undefined) return;
    this.#entries.delete(instanceId);
    const set = this.#byAddress.get(e.target.adbAddress);
    set?.delete(e);
    if (set?.size === 0) this.#byAddress.delete(e.target.adbAddress);
  }

  async reboot(target: InstanceTarget): Promise<void> {
    let entry = this.#entries.get(target.instanceId);
    if (!entry || entry.target.adbAddress !== target.adbAddress) {
      await this.#applying; // registered a moment ago: its notice may still be on its way
      entry = this.#entries.get(target.instanceId);
    }
    const e = entry;
    if (e) {
      e.generation++;
      e.rebootAt = Date.now();
      e.sawDown = false;
      this.#setStatus(e, InstanceStatus.Starting);
      this.#pollStarting();
    }
    try {
      await this.#pool.reboot(target.adbAddress);
    } catch (err) {
      // Not rebooted after all (or we cannot tell): back to ordinary checks.
      if (e) {
        e.generation++;
        e.rebootAt = null;
        this.#enqueue(e);
      }
      throw err;
    }
  }

  #disconnected(address: string): void {
    for (const e of this.#byAddress.get(address) ?? []) {
      if (e.rebootAt !== null) e.sawDown = true;
      else {
        this.#setStatus(e, InstanceStatus.Offline);
        // Only a check tells a dead device from a connection that was merely closed.
        this.#enqueue(e);
      }
    }
  }

  #pollStarting(): void {
    if (this.#fastTimer || !this.#running) return;
    this.#fastTimer = setInterval(() => {
      let any = false;
      for (const e of this.#entries.values()) {
        if (e.rebootAt === null) continue;
        any = true;
        this.#enqueue(e);
      }
      if (!any && this.#fastTimer) {
        clearInterval(this.#fastTimer);
        this.#fastTimer = null;
      }
    }, this.#startingPollMs);
    this.#fastTimer.unref();
  }

  #enqueue(e: Entry): void {
    if (e.queued || e.checking || !this.#running) return;
    e.queued = true;
    this.#queue.push(e);
    this.#drain();
  }

  #drain(): void {
    while (this.#inFlight < this.#concurrency && this.#queueHead < this.#queue.length) {
      const e = this.#queue[this.#queueHead]!;
      const current = this.#entries.get(e.target.instanceId) === e; // else unregistered meanwhile
      if (current && e.rebootAt === null && this.#answeredRecently(e)) {
        this.#setStatus(e, InstanceStatus.Running);
      } else if (current) {
        if (!this.#takePing()) return this.#waitForPings();
        this.#inFlight++;
        e.checking = true;
        void this.#check(e).finally(() => {
          e.checking = false;
          this.#inFlight--;
          this.#drain();
        });
      }
      e.queued = false;
      if (++this.#queueHead === this.#queue.length) {
        this.#queue = [];
        this.#queueHead = 0;
      }
    }
  }

  /** A connection that received something within the interval, other than our last ping's answer,
   * is answering: no ping needed. */
  #answeredRecently(e: Entry): boolean {
    const received = this.#pool.lastReceivedAt(e.target.adbAddress);
    return received > e.checkedAt && Date.now() - received < this.#intervalMs;
  }

  #takePing(): boolean {
    const now = Date.now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#refilledAt) * this.#pingsPerMs);
    this.#refilledAt = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }

  /** Resumes draining once the budget has refilled a burst's worth. */
  #waitForPings(): void {
    if (this.#paceTimer !== null || !this.#running) return;
    const ms = Math.max(1, Math.ceil((this.#burst - this.#tokens) / this.#pingsPerMs));
    this.#paceTimer = setTimeout(() => {
      this.#paceTimer = null;
      this.#drain();
    }, ms);
    this.#paceTimer.unref();
  }

  async #check(e: Entry): Promise<void> {
    const generation = e.generation;
    let ok: boolean;
    try {
      // "Running" is connected and answering (SPEC §6): a device whose adbd hangs is offline.
      await this.#pool.ping(e.target.adbAddress, this.#pingTimeoutMs);
      ok = true;
    } catch (err) {
      ok = false;
      this.#logger.debug({ err, instanceId: e.target.instanceId }, 'health check failed');
    }
    e.checkedAt = Date.now();
    if (generation !== e.generation) return;
    if (e.rebootAt === null) {
      this.#setStatus(e, ok ? InstanceStatus.Running : InstanceStatus.Offline);
      return;
    }
    if (!ok) {
      e.sawDown = true;
      return;
    }
    // The old connection may still look alive right after reboot: wait until it has gone down.
    if (e.sawDown || Date.now() - e.rebootAt > REBOOT_UNSEEN_MS) {
      e.rebootAt = null;
      this.#setStatus(e, InstanceStatus.Running);
    }
  }
}
