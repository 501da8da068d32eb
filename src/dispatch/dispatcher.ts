// The worker: the jobs table is the queue and this is its consumer. It takes its work from the
// store alone: it reads queued jobs in key order from where it left off, when the store's change
// feed says jobs were committed (and on a slow poll, which covers a read that failed). It commits
// queued -> running before any command is sent and writes results in batches. It tells nobody
// anything: those waiting on a task hear from the store.
// It holds a bounded window of each instance's queued jobs (backlog.ts); of the rest it notes the
// keys, and reads them from the store as the lanes drain.
// With leases (several workers on PostgreSQL, lease-keeper.ts) it runs only the instances it
// holds: the store reads and starts only their jobs; an instance acquired has the jobs the read
// cursor already passed read first (catch-up), one lost stops its lane.
import type { BlobStore } from '../artifacts/index.js';
import type { Config } from '../core/index.js';
import type { QueuedJob, Store, WorkerLeases } from '../store/index.js';
import { LeaseKeeper } from './lease-keeper.js';
import { NO_OBSERVER, SILENT_LOGGER, type Logger, type WorkerObserver, type WorkerPool } from './ports.js';
import { ResultWriter } from './result-writer.js';
import { Scheduler } from './scheduler.js';
import type { Dispatcher } from './types.js';

export interface DispatcherOptions {
  store: Store;
  pool: WorkerPool;
  config: Pick<Config, 'perInstanceConcurrency' | 'globalConcurrency' | 'retryWindowMs' | 'maxOutputBytes' | 'artifactMaxBytes'>;
  /** the artifact directory device operations push from and pull into (SPEC §10); absent or
   * null: those operations fail 9999 (logged), commands and uninstalls run */
  blobs?: BlobStore | null;
  logger?: Logger;
  /** told of each job's start and result (metrics) */
  observer?: WorkerObserver;
  /** queued jobs one instance's lane holds at most (default 64) */
  laneWindow?: number;
  /** queued jobs all lanes hold together at most (default 50,000) */
  maxHeldQueued?: number;
  /** this worker's leases (store.joinAsWorker); absent or null: it runs every instance, and
   * fails at start the jobs a previous worker left running */
  leases?: WorkerLeases | null;
}

/** ~400 B each held: 50,000 is ~20 MiB whatever the backlog (src/dispatch/README.md). */
const DEFAULT_LANE_WINDOW = 64;
const DEFAULT_MAX_HELD_QUEUED = 50_000;
/** A refill waits while the result writer holds this many results (four of its batches). */
const RESULT_ROOM = 1024;

/** Jobs read per store.queuedJobs call. */
const READ_PAGE = 1000;
/** The queue is read this often even when nothing was said: a failed read is retried by it. */
const POLL_MS = 1_000;
/** A catch-up read that failed is tried again after this long. */
const CATCH_UP_RETRY_MS = 500;
/** After the grace period, aborted execs get this long to settle before results are flushed. */
const ABORT_SETTLE_MS = 5_000;
/** Results the store refuses are retried at least this long at stop, even past the grace period. */
const FINAL_FLUSH_MS = 1_000;

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  return new QueueDispatcher(options);
}

class QueueDispatcher implements Dispatcher {
  readonly #store: Store;
  readonly #logger: Logger;
  readonly #observer: WorkerObserver;
  readonly #scheduler: Scheduler;
  readonly #writer: ResultWriter;
  #state: 'new' | 'starting' | 'running' | 'stopped' = 'new';
  /** every queued job up to this key has been read (job keys only grow) */
  #after = 0;
  #reading: Promise<void> | null = null;
  /** the feed spoke while a read was under way: read again when it ends */
  #readAgain = false;
  #poll: NodeJS.Timeout | null = null;
  #unsubscribe: (() => void)[] = [];
  readonly #leases: WorkerLeases | null;
  readonly #keeper: LeaseKeeper | null;
  #pollingCancels = false;
  /** a catch-up read is under way: the queue reader waits (#readAgain) */
  #catchingUp = false;
  /** leased: the instances held and caught up. A read may bring jobs of an instance acquired by a
   * round it raced with: they are left to that instance's catch-up, which reads them in order. */
  readonly #held = new Set<number>();

  constructor({ store, pool, config, blobs, logger = SILENT_LOGGER, observer = NO_OBSERVER, laneWindow, maxHeldQueued, leases }: DispatcherOptions) {
    this.#store = store;
    this.#leases = leases ?? null;
    this.#keeper =
      this.#leases === null
        ? null
        : new LeaseKeeper(this.#leases, logger, {
            acquired: (keys) => this.#catchUp(keys),
            lost: (keys) => {
              for (const key of keys) {
                this.#held.delete(key);
                this.#scheduler.dropInstance(key);
              }
            },
            interrupted: (jobs) => this.#interrupted(jobs),
          });
    this.#logger = logger;
    this.#observer = observer;
    const globalConcurrency = Math.max(1, config.globalConcurrency);
    this.#writer = new ResultWriter({
      store,
      logger,
      // Held results are bounded like running ones: as many as may run at once.
      maxHeldResults: globalConcurrency,
      backPressure: (on) => this.#scheduler.setBackPressure(on),
    });
    this.#scheduler = new Scheduler(
      {
        pool,
        logger,
        perInstanceConcurrency: Math.max(1, config.perInstanceConcurrency),
        globalConcurrency,
        retryWindowMs: config.retryWindowMs,
        maxOutputBytes: config.maxOutputBytes,
        blobs: blobs ?? null,
        artifactMaxBytes: config.artifactMaxBytes,
        laneWindow: laneWindow ?? DEFAULT_LANE_WINDOW,
        maxHeldQueued: maxHeldQueued ?? DEFAULT_MAX_HELD_QUEUED,
      },
      {
        markRunning: (keys, now) => this.#store.markRunning(keys, now),
        started: (job) => this.#observer.started(job, job.startedAt ?? Date.now()),
        finished: (job, result) => {
          this.#observer.finished(job, result, job.startedAt);
          this.#writer.add(result);
        },
        queuedIn: (jobKeys) => this.#store.queuedJobsIn(jobKeys),
        resultRoom: () => this.#writer.room(RESULT_ROOM),
      },
    );
  }

  get held(): number {
    return this.#scheduler.backlog.held;
  }

  get active(): number {
    return this.#scheduler.active;
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') return;
    this.#state = 'starting';
    // Leased: the first round claims instances (nothing is read yet, so no catch-up) and rescues
    // lapsed leases; unleased: this is the only worker, and whatever runs is a dead one's.
    let interrupted: number;
    if (this.#keeper !== null) {
      const first = await this.#keeper.start();
      for (const key of first.held) this.#held.add(key);
      interrupted = first.interrupted;
    } else {
      interrupted = await this.#store.interruptRunning(Date.now());
    }
    if (this.#state !== 'starting') return; // stopped meanwhile
    if (this.#keeper === null) this.#interrupted(interrupted);
    // Listening before the first read: a job committed from here on is either read now or told.
    const changes = this.#store.changes;
    this.#unsubscribe.push(
      changes.onQueued((lastJobKey) => {
        if (lastJobKey > this.#after) this.#wake();
      }),
      changes.onCancelled((jobs) => {
        this.#scheduler.removeQueued(jobs.queued);
        this.#scheduler.cancelRunning(jobs.running);
      }),
    );
    this.#state = 'running';
    this.#wake();
    await this.#reading;
    this.#poll = setInterval(() => {
      this.#wake();
      this.#scheduler.backlog.retry();
      this.#pollCancels();
    }, POLL_MS);
    this.#poll.unref();
    this.#logger.info({ interrupted, readUpTo: this.#after }, 'dispatcher started');
  }

  /** Leased (other processes cancel): a cancel whose notice was lost still reaches the running job
   * within a poll. One query per second while jobs run. */
  #pollCancels(): void {
    if (this.#leases === null || this.#pollingCancels) return;
    const running = this.#scheduler.runningKeys();
    if (running.length === 0) return;
    this.#pollingCancels = true;
    this.#leases
      .cancelRequested(running)
      .then((keys) => this.#scheduler.cancelRunning(keys))
      .catch((err: unknown) => this.#logger.error({ err }, 'reading cancels of running jobs failed; tried again shortly'))
      .finally(() => {
        this.#pollingCancels = false;
      });
  }

  #interrupted(jobs: number): void {
    if (jobs === 0) return;
    this.#logger.warn({ jobs }, 'jobs left running by a worker that is gone marked interrupted (1006)');
    this.#observer.interrupted(jobs);
  }

  /**
   * Instances just leased: their queued jobs up to the read cursor, which the reader passed while
   * another worker held them, join the lanes first (key order); the reader waits meanwhile and
   * goes on past the cursor after. A failed read is tried again: those jobs are nowhere else.
   */
  async #catchUp(instanceKeys: number[]): Promise<void> {
    if (this.#state !== 'running' || this.#leases === null) return;
    this.#catchingUp = true;
    try {
      await this.#reading;
      const upTo = this.#after;
      let from = 0;
      while (this.#state === 'running') {
        let page: QueuedJob[];
        try {
          page = await this.#leases.queuedJobsOf(instanceKeys, from, upTo, READ_PAGE);
        } catch (err) {
          this.#logger.error({ err, instances: instanceKeys.length }, 'reading the queued jobs of instances just leased failed; tried again shortly');
          await new Promise((r) => setTimeout(r, CATCH_UP_RETRY_MS));
          continue;
        }
        if (this.#state !== 'running') return;
        this.#scheduler.enqueue(page);
        const last = page.at(-1);
        if (last === undefined || page.length < READ_PAGE) return;
        from = last.jobKey;
      }
    } finally {
      // Caught up (or stopping): the reader takes their jobs past the cursor from now on.
      for (const key of instanceKeys) this.#held.add(key);
      this.#catchingUp = false;
      if (this.#readAgain) {
        this.#readAgain = false;
        this.#wake();
      }
    }
  }

  /** Reads the queue past #after, once at a time; a wake during a read makes it read again. */
  #wake(): void {
    if (this.#state !== 'running') return;
    if (this.#reading || this.#catchingUp) {
      this.#readAgain = true;
      return;
    }
    this.#reading = this.#read().finally(() => {
      this.#reading = null;
      if (this.#readAgain) {
        this.#readAgain = false;
        this.#wake();
      }
    });
  }

  async #read(): Promise<void> {
    try {
      for (;;) {
        // Leased, the read says how far it looked past the other workers' jobs it skipped.
        const { jobs: page, scannedTo } =
          this.#leases !== null
            ? await this.#leases.readQueue(this.#after, READ_PAGE)
            : { jobs: await this.#store.queuedJobs(this.#after, READ_PAGE), scannedTo: 0 };
        if (this.#state !== 'running') return; // stopped meanwhile: they stay queued for the next start
        this.#after = Math.max(this.#after, page.at(-1)?.jobKey ?? 0, scannedTo);
        this.#scheduler.enqueue(this.#leases === null ? page : page.filter((j) => this.#held.has(j.instanceKey)));
        if (page.length < READ_PAGE) return;
      }
    } catch (err) {
      this.#logger.error({ err }, 'reading the queue failed; tried again shortly');
    }
  }

  async stop(graceMs: number): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    // Results the store has not taken yet are retried through the grace period (and a little past
    // it); what is still not written then is logged, and those jobs become 1006 at the next start.
    const flushDeadline = Date.now() + graceMs;
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
    if (this.#poll) clearInterval(this.#poll);
    await this.#reading;
    await this.#scheduler.backlog.stop();
    this.#scheduler.stopStarting();
    await this.#scheduler.idle(graceMs);
    if (this.#scheduler.active > 0) {
      this.#logger.warn({ jobs: this.#scheduler.active }, 'grace period over: interrupting running jobs (1006)');
      this.#scheduler.abortAll();
      await this.#scheduler.idle(ABORT_SETTLE_MS);
    }
    await this.#writer.stop(Math.max(flushDeadline, Date.now() + FINAL_FLUSH_MS));
    // Renewed until now, so the jobs above ran under a live lease; then every lease goes at once.
    await this.#keeper?.stop();
  }
}
