// Deletes finished tasks older than the retention period, in batches small enough that the
// store's single writer is never held for long, yielding to the event loop between them.
import type { Config } from '../core/index.js';
import type { Store } from '../store/index.js';
import { SILENT_LOGGER, type Logger } from './ports.js';

export interface RetentionPurgerOptions {
  store: Store;
  config: Pick<Config, 'retentionMs'>;
  logger?: Logger;
  /** how often to purge; default one minute */
  intervalMs?: number;
  /** tasks per store.purgeTasks call; default 500 */
  batchSize?: number;
}

export interface RetentionPurger {
  start(): void;
  /** Stops the timer and waits for a purge under way. */
  stop(): Promise<void>;
  /** One purge now (what the timer runs); resolves with how many tasks were deleted. */
  runOnce(): Promise<number>;
}

export function createRetentionPurger({
  store,
  config,
  logger = SILENT_LOGGER,
  intervalMs = 60_000,
  batchSize = 500,
}: RetentionPurgerOptions): RetentionPurger {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<number> | null = null;
  let stopped = false;

  async function purge(): Promise<number> {
    const before = Date.now() - config.retentionMs;
    let total = 0;
    while (!stopped) {
      const n = await store.purgeTasks(before, batchSize);
      total += n;
      if (n < batchSize) break;
      await new Promise((r) => setImmediate(r));
    }
    if (total > 0) logger.info({ tasks: total }, 'purged tasks past retention');
    return total;
  }

  function runOnce(): Promise<number> {
    running ??= purge().finally(() => {
      running = null;
    });
    return running;
  }

  return {
    start() {
      if (timer) return;
      stopped = false;
      timer = setInterval(() => {
        runOnce().catch((err: unknown) => logger.error({ err }, 'purging old tasks failed'));
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
