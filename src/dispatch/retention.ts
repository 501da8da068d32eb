// Deletes finished tasks and audit entries older than the retention period, in batches small
// enough that the store's single writer is never held for long, yielding to the event loop
// between them. With several nodes on one database, the one leading 'retention' does it.
import type { Config } from '../core/index.js';
import type { Store } from '../store/index.js';
import { SILENT_LOGGER, type Logger } from './ports.js';

export interface RetentionPurgerOptions {
  store: Store;
  config: Pick<Config, 'retentionMs'>;
  logger?: Logger;
  /** how often to purge; default one minute */
  intervalMs?: number;
  /** tasks per store.purgeTasks call, and audit entries per store.purgeAudit call; default 500 */
  batchSize?: number;
}

export interface RetentionPurger {
  start(): void;
  /** Stops the timer and waits for a purge under way. */
  stop(): Promise<void>;
  /** One purge now (what the timer runs); resolves with how many tasks and audit entries were deleted. */
  runOnce(): Promise<Purged>;
}

export interface Purged {
  tasks: number;
  auditEntries: number;
}

export function createRetentionPurger({
  store,
  config,
  logger = SILENT_LOGGER,
  intervalMs = 60_000,
  batchSize = 500,
}: RetentionPurgerOptions): RetentionPurger {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<Purged> | null = null;
  let stopped = false;

  /** Batches of `purgeBatch` until one comes back short (or the purger stops); how many in all. */
  async function drain(purgeBatch: (before: number, batchSize: number) => Promise<number>, before: number): Promise<number> {
    let total = 0;
    while (!stopped) {
      const n = await purgeBatch(before, batchSize);
      total += n;
      if (n < batchSize) break;
      await new Promise((r) => setImmediate(r));
    }
    return total;
  }

  async function purge(): Promise<Purged> {
    const before = Date.now() - config.retentionMs;
    const tasks = await drain((b, n) => store.purgeTasks(b, n), before);
    const auditEntries = await drain((b, n) => store.purgeAudit(b, n), before);
    if (tasks > 0 || auditEntries > 0) logger.info({ tasks, auditEntries }, 'purged tasks and audit entries past retention');
    return { tasks, auditEntries };
  }

  function runOnce(): Promise<Purged> {
    running ??= purge().finally(() => {
      running = null;
    });
    return running;
  }

  return {
    start() {
      if (timer) return;
      stopped = false;
      // One node at a time purges (the others would find the same rows, and skip them).
      timer = setInterval(() => {
        store
          .tryLead('retention')
          .then((leads) => (leads ? runOnce() : null))
          .catch((err: unknown) => logger.error({ err }, 'purging old tasks and audit entries failed'));
      }, intervalMs);
      timer.unref();
    },
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      timer = null;
      await running?.catch(() => {});
    },
    runOnce,
  };
}
