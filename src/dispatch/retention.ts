// Deletes finished tasks, audit entries and uploaded artifacts older than the retention period,
// in batches small enough that the store's single writer is never held for long, yielding to the
// event loop between them; then, at most hourly, sweeps the artifact directory of files no row
// names (artifacts/sweep.ts). With several nodes on one database, the one leading 'retention'
// does it.
import { sweepBlobs, type BlobStore } from '../artifacts/index.js';
import type { Config } from '../core/index.js';
import type { Store } from '../store/index.js';
import { SILENT_LOGGER, type Logger } from './ports.js';

export interface RetentionPurgerOptions {
  store: Store;
  config: Pick<Config, 'retentionMs'>;
  /** the artifact directory to sweep; absent: only the store's rows are purged */
  blobs?: BlobStore;
  logger?: Logger;
  /** how often to purge; default one minute */
  intervalMs?: number;
  /** tasks per store.purgeTasks call, and audit entries per store.purgeAudit call; default 500 */
  batchSize?: number;
  /** how often the artifact directory is swept (a purge runs it when this long has passed since
   * the last sweep); default one hour: it lists every file, and a file is only removed an hour
   * after it was written anyway */
  sweepIntervalMs?: number;
}

export interface RetentionPurger {
  start(): void;
  /** Stops the timer and waits for a purge under way. */
  stop(): Promise<void>;
  /** One purge now (what the timer runs); resolves with how many rows and files were deleted. */
  runOnce(): Promise<Purged>;
}

export interface Purged {
  tasks: number;
  auditEntries: number;
  /** uploaded artifacts (rows) past retention that no task named */
  artifacts: number;
  /** files of the artifact directory no row named; 0 when this purge did not sweep */
  files: number;
  /** temporary files a writer left behind */
  tempFiles: number;
}

export function createRetentionPurger({
  store,
  config,
  blobs,
  logger = SILENT_LOGGER,
  intervalMs = 60_000,
  batchSize = 500,
  sweepIntervalMs = 3_600_000,
}: RetentionPurgerOptions): RetentionPurger {
  let timer: NodeJS.Timeout | null = null;
  let sweptAt = Number.NEGATIVE_INFINITY;
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
    const now = Date.now();
    const before = now - config.retentionMs;
    const tasks = await drain((b, n) => store.purgeTasks(b, n), before);
    const auditEntries = await drain((b, n) => store.purgeAudit(b, n), before);
    // After the tasks: an upload is kept while a task names it.
    const artifacts = await drain((b, n) => store.purgeArtifacts(b, n), before);
    if (tasks > 0 || auditEntries > 0 || artifacts > 0) {
      logger.info({ tasks, auditEntries, artifacts }, 'purged tasks, audit entries and artifacts past retention');
    }
    let swept = { files: 0, tempFiles: 0 };
    if (blobs !== undefined && !stopped && now - sweptAt >= sweepIntervalMs) {
      sweptAt = now;
      swept = await sweepBlobs(blobs, { referenced: (shas) => store.referencedBlobs(shas), now, batchSize, stopped: () => stopped });
      if (swept.files > 0 || swept.tempFiles > 0) logger.info(swept, 'removed artifact files no row names');
    }
    return { tasks, auditEntries, artifacts, ...swept };
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
          .catch((err: unknown) => logger.error({ err }, 'purging old tasks, audit entries and artifacts failed'));
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
