// Instance health as an API node answers it when workers elsewhere measure it (PostgreSQL): the
// statuses the workers stored, read every second and when the registry changes, and reboots asked
// of the worker holding the instance through the store. No ADB connection is needed here.
import { InstanceStatus } from '../core/index.js';
import type { InstanceTarget, SharedHealth, Store } from '../store/index.js';
import { SILENT_LOGGER, type Logger } from './ports.js';
import type { HealthMonitor } from './types.js';

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
    this.#feedOff = this.#store.changes.onInstancesChanged(() => this.#refresh());
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
    try {
      this.#statuses = new Map((await this.#health.read()).map((r) => [r.instanceId, r.status]));
    } catch (err) {
      this.#logger.error({ err }, 'reading the stored health statuses failed; tried again shortly');
    }
  }
}
