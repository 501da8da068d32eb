// Instance health as an API node answers it when workers elsewhere measure it (PostgreSQL): the
// statuses the workers stored, and reboots asked of the worker holding the instance through the
// store. No ADB connection is needed here. Every second it reads the statuses measured lately
// (since SLACK_MS before the latest it has seen: a status is stamped by its worker's clock before
// it commits, and clocks differ a little); all of them when the registry changes and every
// FULL_READ_MS, so a status missed by the window, or an instance deleted, is caught up. At
// 100,000 instances a node reads the few that changed, not 100,000 rows a second.
import { InstanceStatus } from '../core/index.js';
import type { InstanceTarget, SharedHealth, Store } from '../store/index.js';
import { SILENT_LOGGER, type Logger } from './ports.js';
import type { HealthMonitor } from './types.js';

const SLACK_MS = 30_000;
const FULL_READ_MS = 60_000;

export interface StoredHealthOptions {
  store: Pick<Store, 'changes'>;
  health: SharedHealth;
  logger?: Logger;
  /** how often the statuses are read again; default one second */
  refreshMs?: number;
}

export function createStoredHealth(options: StoredHealthOptions): HealthMonitor {
  return new StoredHealthReader(options);
}

class StoredHealthReader implements HealthMonitor {
  readonly #store: Pick<Store, 'changes'>;
  readonly #health: SharedHealth;
  readonly #logger: Logger;
  readonly #refreshMs: number;
  #statuses = new Map<string, InstanceStatus>();
  #timer: NodeJS.Timeout | null = null;
  #feedOff: (() => void) | null = null;
  #reading: Promise<void> | null = null;
  #readAgain = false;
  /** the next read is a full one (start, registry changed) */
  #full = true;
  #fullReadAt = 0;
  /** the latest measurement time seen */
  #latest = 0;

  constructor({ store, health, logger = SILENT_LOGGER, refreshMs = 1_000 }: StoredHealthOptions) {
    this.#store = store;
    this.#health = health;
    this.#logger = logger;
    this.#refreshMs = refreshMs;
  }

  status(instanceId: string): InstanceStatus {
    return this.#statuses.get(instanceId) ?? InstanceStatus.Unknown;
  }

  statusCounts(): number[] {
    const counts = Object.values(InstanceStatus).map(() => 0);
    for (const s of this.#statuses.values()) counts[s]!++;
    return counts;
  }

  async reboot(target: InstanceTarget): Promise<void> {
    if (!(await this.#health.requestReboot(target.instanceKey, Date.now()))) {
      throw new Error(`instance ${target.instanceId} is no longer registered`);
    }
    // Shown starting here at once, as the store has it, until the holder says otherwise.
    this.#statuses.set(target.instanceId, InstanceStatus.Starting);
  }

  async start(): Promise<void> {
    if (this.#timer !== null) return;
    this.#feedOff = this.#store.changes.onInstancesChanged(() => {
      this.#full = true;
      this.#refresh();
    });
    this.#refresh();
    await this.#reading;
    this.#timer = setInterval(() => this.#refresh(), this.#refreshMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    this.#feedOff?.();
    this.#feedOff = null;
    await this.#reading;
  }

  /** One read at a time; a refresh asked for meanwhile reads again after it. */
  #refresh(): void {
    if (this.#reading !== null) {
      this.#readAgain = true;
      return;
    }
    this.#reading = this.#read().finally(() => {
      this.#reading = null;
      if (this.#readAgain) {
        this.#readAgain = false;
        this.#refresh();
      }
    });
  }

  async #read(): Promise<void> {
    const full = this.#full || Date.now() - this.#fullReadAt >= FULL_READ_MS;
    this.#full = false;
    try {
      const startedAt = Date.now();
      const rows = await this.#health.read(full ? undefined : this.#latest - SLACK_MS);
      const statuses = full ? new Map<string, InstanceStatus>() : this.#statuses;
      for (const r of rows) {
        statuses.set(r.instanceId, r.status);
        if (r.at !== null && r.at > this.#latest) this.#latest = r.at;
      }
      this.#statuses = statuses;
      if (full) this.#fullReadAt = startedAt;
    } catch (err) {
      if (full) this.#full = true;
      this.#logger.error({ err }, 'reading the stored health statuses failed; tried again shortly');
    }
  }
}
