// Keeps every registered instance's SPEC §6 status: running when adbd answers a ping (over the
// pool's connection, made if needed), offline when it does not, starting from a reboot until adbd
// answers again.
// Checks go through a bounded queue so 10,000 instances never mean 10,000 connects at once.
import { InstanceStatus, type Config } from '../core/index.js';
import type { InstanceTarget, Store } from '../store/index.js';
import { SILENT_LOGGER, unsubscribe, type Logger, type WorkerPool } from './ports.js';
import type { HealthMonitor } from './types.js';

export interface HealthMonitorOptions {
  store: Store;
  pool: WorkerPool;
  /** how often each instance is checked, and how long a check waits for adbd to answer */
  config: Pick<Config, 'healthIntervalMs' | 'healthTimeoutMs'>;
  logger?: Logger;
  /** checks in flight at most; default 64 */
  concurrency?: number;
  /** how often a rebooting instance is polled; default 250 ms */
  startingPollMs?: number;
}

/** A reboot whose connection was never seen going down is taken as done after this long. */
const REBOOT_UNSEEN_MS = 30_000;
/** Admin changes that arrive this close together share one re-read of the registry. */
const REFRESH_DEBOUNCE_MS = 25;

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
}

export function createHealthMonitor(options: HealthMonitorOptions): HealthMonitor {
  return new PoolHealthMonitor(options);
}

class PoolHealthMonitor implements HealthMonitor {
  readonly #store: Store;
  readonly #pool: WorkerPool;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #concurrency: number;
  readonly #startingPollMs: number;
  readonly #pingTimeoutMs: number;
  #entries = new Map<string, Entry>();
  #byAddress = new Map<string, Set<Entry>>();
  /** checks waiting for a slot; entries before #queueHead are done */
  #queue: Entry[] = [];
  #queueHead = 0;
  #inFlight = 0;
  #timer: NodeJS.Timeout | null = null;
  #fastTimer: NodeJS.Timeout | null = null;
  #subscription: unknown = null;
  #running = false;
  #refreshing: Promise<void> | null = null;

  constructor({ store, pool, config, logger = SILENT_LOGGER, concurrency = 64, startingPollMs = 250 }: HealthMonitorOptions) {
    this.#store = store;
    this.#pool = pool;
    this.#logger = logger;
    this.#intervalMs = config.healthIntervalMs;
    this.#concurrency = Math.max(1, concurrency);
    this.#startingPollMs = startingPollMs;
    this.#pingTimeoutMs = config.healthTimeoutMs;
  }

  status(instanceId: string): InstanceStatus {
    return this.#entries.get(instanceId)?.status ?? InstanceStatus.Unknown;
  }

  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#subscription = this.#pool.onDisconnect((address) => this.#disconnected(address));
    await this.refresh();
    this.#timer = setInterval(() => {
      for (const e of this.#entries.values()) if (e.rebootAt === null) this.#enqueue(e);
    }, this.#intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#fastTimer) clearInterval(this.#fastTimer);
    this.#timer = this.#fastTimer = null;
    unsubscribe(this.#subscription);
    this.#subscription = null;
    for (const e of this.#queue) e.queued = false;
    this.#queue = [];
    this.#queueHead = 0;
  }

  /**
   * Re-reads the registered instances. Calls within REFRESH_DEBOUNCE_MS share one read, so
   * registering 10,000 instances one request at a time is not 10,000 full listings.
   */
  refresh(): Promise<void> {
    this.#refreshing ??= new Promise<void>((resolve) => setTimeout(resolve, REFRESH_DEBOUNCE_MS)).then(() => {
      this.#refreshing = null;
      return this.#load();
    });
    return this.#refreshing;
  }

  async #load(): Promise<void> {
    const targets = await this.#store.listTargets();
    const next = new Map<string, Entry>();
    for (const target of targets) {
      const old = this.#entries.get(target.instanceId);
      if (old && old.target.adbAddress === target.adbAddress) {
        old.target = target;
        next.set(target.instanceId, old);
      } else {
        next.set(target.instanceId, {
          target,
          status: InstanceStatus.Unknown,
          rebootAt: null,
          sawDown: false,
          generation: 0,
          queued: false,
          checking: false,
        });
      }
    }
    this.#entries = next;
    this.#byAddress = new Map();
    for (const e of next.values()) {
      let set = this.#byAddress.get(e.target.adbAddress);
      if (!set) this.#byAddress.set(e.target.adbAddress, (set = new Set()));
      set.add(e);
    }
    for (const e of next.values()) if (e.status === InstanceStatus.Unknown) this.#enqueue(e);
  }

  async reboot(target: InstanceTarget): Promise<void> {
    let entry = this.#entries.get(target.instanceId);
    if (!entry || entry.target.adbAddress !== target.adbAddress) {
      await this.refresh();
      entry = this.#entries.get(target.instanceId);
    }
    const e = entry;
    if (e) {
      e.generation++;
      e.rebootAt = Date.now();
      e.sawDown = false;
      e.status = InstanceStatus.Starting;
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
        e.status = InstanceStatus.Offline;
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
      const e = this.#queue[this.#queueHead++]!;
      if (this.#queueHead === this.#queue.length) {
        this.#queue = [];
        this.#queueHead = 0;
      }
      e.queued = false;
      if (this.#entries.get(e.target.instanceId) !== e) continue; // unregistered meanwhile
      this.#inFlight++;
      e.checking = true;
      void this.#check(e).finally(() => {
        e.checking = false;
        this.#inFlight--;
        this.#drain();
      });
    }
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
    if (generation !== e.generation) return;
    if (e.rebootAt === null) {
      e.status = ok ? InstanceStatus.Running : InstanceStatus.Offline;
      return;
    }
    if (!ok) {
      e.sawDown = true;
      return;
    }
    // The old connection may still look alive right after reboot: wait until it has gone down.
    if (e.sawDown || Date.now() - e.rebootAt > REBOOT_UNSEEN_MS) {
      e.rebootAt = null;
      e.status = InstanceStatus.Running;
    }
  }
}
