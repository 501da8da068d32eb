// Starts N simulated instances in this process, one TCP port each, sharing one journal.
import { SimInstanceImpl } from './instance.js';
import { Journal } from './journal.js';
import { DEFAULT_STORAGE_BYTES } from './device-state.js';
import type { Fleet, FleetOptions, JournalEntry, SimInstance } from './types.js';

const DEFAULT_FEATURES: readonly string[] = ['shell_v2', 'cmd', 'delayed_ack'];
export const DEFAULT_REBOOT_DELAY_MS = 1000;

class FleetImpl implements Fleet {
  readonly instances: SimInstanceImpl[];
  readonly #journal: Journal;
  readonly #bySerial: Map<string, SimInstanceImpl>;

  constructor(instances: SimInstanceImpl[], journal: Journal) {
    this.instances = instances;
    this.#journal = journal;
    this.#bySerial = new Map(instances.map((i) => [i.serial, i]));
  }

  instance(serial: string): SimInstance | undefined {
    return this.#bySerial.get(serial);
  }

  journal(): JournalEntry[] {
    return this.#journal.entries();
  }

  clearJournal(): void {
    this.#journal.clear();
  }

  async close(): Promise<void> {
    await Promise.all(this.instances.map((i) => i.close()));
  }
}

export async function startFleet(opts: FleetOptions): Promise<Fleet> {
  const count = opts.count;
  if (!Number.isInteger(count) || count < 1) throw new RangeError('count must be a positive integer');
  const basePort = opts.basePort ?? 0;
  if (!Number.isInteger(basePort) || basePort < 0 || basePort + (basePort === 0 ? 0 : count - 1) > 65535) {
    throw new RangeError('basePort + count must stay within 1-65535 (0 for ephemeral ports)');
  }
  const storage = opts.storageBytes ?? DEFAULT_STORAGE_BYTES;
  if (!Number.isSafeInteger(storage) || storage < 0) throw new RangeError('storageBytes must be a non-negative integer');
  const journal = new Journal();
  const started: SimInstanceImpl[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const inst = new SimInstanceImpl({
        index: i,
        host: opts.host ?? '127.0.0.1',
        auth: opts.auth ?? 'none',
        rebootDelayMs: opts.rebootDelayMs ?? DEFAULT_REBOOT_DELAY_MS,
        trustedKeys: opts.trustedKeys ?? [],
        features: [...(opts.features ?? DEFAULT_FEATURES)],
        journal,
        storageBytes: opts.storageBytes ?? DEFAULT_STORAGE_BYTES,
      });
      await inst.listen(basePort === 0 ? 0 : basePort + i);
      started.push(inst);
    }
  } catch (e) {
    await Promise.all(started.map((i) => i.close()));
    throw e;
  }
  return new FleetImpl(started, journal);
}
