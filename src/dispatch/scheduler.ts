// The scheduling core: per-instance FIFO lanes, the per-instance and global bounds, exec and the
// mapping of its outcome; connection first and the retry window are reconnect.ts's. It does not know where jobs come
// from or where results go (hooks): the dispatcher feeds it from the store's queue, with or
// without instance leases (dropInstance when one goes). What the lanes hold of the queue is bounded
// (backlog.ts): the rest stays in the store, noted by key, and is read as the lanes drain.
import type { BlobStore } from '../artifacts/index.js';
import { JobCode } from '../core/index.js';
import type { JobResult, QueuedJob } from '../store/index.js';
import { Backlog } from './backlog.js';
import { JobCancel, Lane, workJob, type WorkJob } from './lane.js';
import { Operations } from './operations.js';
import { completedResult, execErrorCode, execErrorDetail, failedResult, partialOutput } from './outcome.js';
import type { Logger, WorkerPool } from './ports.js';
import { Reconnect } from './reconnect.js';

export interface SchedulerOptions {
  pool: WorkerPool;
  logger: Logger;
  perInstanceConcurrency: number;
  globalConcurrency: number;
  retryWindowMs: number;
  maxOutputBytes: number;
  /** where device operations' files are (null: those that move files fail 9999) */
  blobs: BlobStore | null;
  /** a pulled file or a screenshot larger than this fails 1008 */
  artifactMaxBytes: number;
  /** queued jobs one lane holds at most (the rest stay in the store) */
  laneWindow: number;
  /** queued jobs all lanes hold together at most */
  maxHeldQueued: number;
}

export interface SchedulerHooks {
  /** queued -> running, committed before it resolves; returns the keys that moved (the others
   * were cancelled in the store meanwhile: they leave without a word). */
  markRunning(jobKeys: number[], now: number): Promise<number[]>;
  /** markRunning committed the job (job.startedAt is set); its command is sent next. */
  started(job: WorkJob): void;
  /** The job is final (its slot is already free); the result still has to be stored. */
  finished(job: WorkJob, result: JobResult): void;
  /** The jobs among these keys still queued, in key order: what a lane noted and did not hold. */
  queuedIn(jobKeys: readonly number[]): Promise<QueuedJob[]>;
  /** Resolves when results may be added again without piling up (the writer is not far behind). */
  resultRoom(): Promise<void>;
}

/** After markRunning failed, wait this long before trying those jobs again. */
const STORE_RETRY_MS = 500;
/** While markRunning keeps failing (a full disk), one log line per this many attempts. */
const LOG_EVERY_FAILURES = 60;

export class Scheduler {
  readonly #o: SchedulerOptions;
  readonly #hooks: SchedulerHooks;
  readonly #lanes = new Map<number, Lane>();
  /** lanes with queued jobs and a free slot, in the order they became ready (fair under the global bound) */
  readonly #ready = new Set<Lane>();
  /** every job held, by key: queued, starting or running */
  readonly #jobs = new Map<number, WorkJob>();
  #active = 0;
  #pumpQueued = false;
  #pumpTimer: NodeJS.Timeout | null = null;
  #stopping = false;
  /** the results are not being stored (result-writer.ts): start nothing until they are */
  #backPressure = false;
  #idleWaiters: (() => void)[] = [];
  /** markRunning failures in a row */
  #storeFailures = 0;
  /** what the lanes hold of the queue (the consumer retries failed refills and stops them) */
  readonly backlog: Backlog;
  readonly #reconnect: Reconnect;
  readonly #operations: Operations;
  /** this worker's start: no retry window begins before it (jobs queued while no worker ran wait) */
  readonly #startedAt = Date.now();

  constructor(options: SchedulerOptions, hooks: SchedulerHooks) {
    this.#o = options;
    this.#hooks = hooks;
    this.backlog = new Backlog(
      { window: options.laneWindow, maxHeld: options.maxHeldQueued, logger: options.logger },
      {
        read: (jobKeys) => hooks.queuedIn(jobKeys),
        resultRoom: () => hooks.resultRoom(),
        refilled: (lane, jobs) => this.#refilled(lane, jobs),
      },
    );
    this.#operations = new Operations(options);
    this.#reconnect = new Reconnect(options, {
      backlog: this.backlog,
      ready: (lane) => {
        this.#ready.add(lane);
        this.#schedulePump();
      },
      forget: (job) => this.#jobs.delete(job.jobKey),
      finished: (job, result) => this.#safe(() => hooks.finished(job, result), job),
    });
  }

  /** jobs starting or running */
  get active(): number {
    return this.#active;
  }

  /** The global reader's jobs, in submission order: each joins its instance's queue, unless the
   * lane's window is full (it stays in the store, and the lane reads it when it drains). */
  enqueue(jobs: readonly QueuedJob[]): number {
    let added = 0;
    for (const q of jobs) {
      if (this.#jobs.has(q.jobKey)) continue;
      let lane = this.#lanes.get(q.instanceKey);
      if (!lane) this.#lanes.set(q.instanceKey, (lane = new Lane(q.instanceKey, q.adbAddress)));
      if (!this.backlog.admit(lane, q.jobKey)) continue;
      this.#add(lane, q);
      added++;
    }
    if (added > 0) this.#schedulePump();
    return added;
  }

  /** Queued jobs leave the queues (the store cancelled them). */
  removeQueued(jobKeys: readonly number[]): void {
    let notHeld: number[] | null = null;
    for (const key of jobKeys) {
      const job = this.#jobs.get(key);
      if (!job) (notHeld ??= []).push(key);
      if (!job || job.phase !== 'queued') continue;
      const lane = this.#lanes.get(job.instanceKey)!;
      lane.remove(job);
      this.#jobs.delete(key);
      this.backlog.released(lane, 1);
    }
    if (notHeld !== null) this.backlog.cancelled(notHeld);
  }

  /** The worker no longer holds the instance (its lease was released or lapsed): its queued jobs
   * leave the lane and its notes are forgotten (they stay queued in the store, for the next
   * holder), and its starting and running jobs are aborted as at stop (1006: the store already
   * failed them, or refuses to start them). The lane stays, empty, for a later lease. */
  dropInstance(instanceKey: number): void {
    const lane = this.#lanes.get(instanceKey);
    if (!lane) return;
    lane.generation++;
    lane.spill.take(lane.spill.length);
    let queued = 0;
    for (const job of this.#jobs.values()) {
      if (job.instanceKey !== instanceKey) continue;
      if (job.phase === 'queued') {
        lane.remove(job);
        this.#jobs.delete(job.jobKey);
        queued++;
      } else if (!job.abortReason) {
        job.abortReason = 'stop';
        job.abort?.abort();
      }
    }
    this.#ready.delete(lane);
    if (queued > 0) this.backlog.released(lane, queued);
  }

  #add(lane: Lane, q: QueuedJob): void {
    const job = workJob(q, Math.max(q.createdAt, this.#startedAt));
    lane.push(job, q.adbAddress);
    this.#jobs.set(job.jobKey, job);
    if (lane.active < this.#o.perInstanceConcurrency) this.#ready.add(lane);
  }

  /** A lane read more of its jobs from the store: they start like any, or fail at once if their
   * retry window passed while the instance stays unreachable (pages of a window at a time). */
  #refilled(lane: Lane, jobs: QueuedJob[]): void {
    for (const q of jobs) this.#add(lane, q);
    if (this.#stopping) return;
    this.#schedulePump();
    this.#reconnect.refilled(lane);
  }

  /** Keys of the jobs running now (markRunning committed them), not already being aborted. */
  runningKeys(): number[] {
    const keys: number[] = [];
    for (const job of this.#jobs.values()) if (job.phase === 'running' && !job.abortReason) keys.push(job.jobKey);
    return keys;
  }

  /** Aborts running jobs (their ADB streams close); a job still starting is cancelled once started. */
  cancelRunning(jobKeys: readonly number[]): void {
    for (const key of jobKeys) {
      const job = this.#jobs.get(key);
      if (!job || job.phase === 'queued' || job.abortReason) continue;
      job.abortReason = 'cancel';
      job.abort?.abort();
    }
  }

  /** While on, no job starts (queued ones stay queued and cancellable; running ones go on). The
   * result writer turns it on when it holds as many results as the store would not take. */
  setBackPressure(on: boolean): void {
    this.#backPressure = on;
    if (!on && this.#ready.size > 0) this.#schedulePump();
  }

  /** Stops starting jobs and reconnecting; running jobs go on. */
  stopStarting(): void {
    this.#stopping = true;
    if (this.#pumpTimer) clearTimeout(this.#pumpTimer);
    this.#pumpTimer = null;
    for (const lane of this.#lanes.values()) lane.clearTimers();
    this.#reconnect.stop();
    this.#ready.clear();
  }

  /** Aborts every running job; they end 1006 (interrupted). */
  abortAll(): void {
    for (const job of this.#jobs.values()) {
      if (job.phase === 'queued' || job.abortReason) continue;
      job.abortReason = 'stop';
      job.abort?.abort();
    }
  }

  /** Resolves when no job is starting or running, or after ms. */
  idle(ms: number): Promise<void> {
    if (this.#active === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#idleWaiters = this.#idleWaiters.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.#idleWaiters.push(done);
    });
  }

  // --- starting jobs ---

  #schedulePump(): void {
    if (this.#pumpQueued || this.#stopping) return;
    this.#pumpQueued = true;
    // setImmediate, not a microtask: everything that became startable in this turn of the event
    // loop (a whole task's jobs, every exec that settled in this I/O phase) goes in one markRunning.
    setImmediate(() => this.#pump());
  }

  #pump(): void {
    this.#pumpQueued = false;
    if (this.#stopping || this.#backPressure) return;
    const { perInstanceConcurrency, globalConcurrency, pool } = this.#o;
    const batch: WorkJob[] = [];
    for (const lane of this.#ready) {
      if (this.#active >= globalConcurrency) break;
      if (!pool.isConnected(lane.address)) {
        // Connection first: the jobs stay queued (and cancellable) until the instance answers.
        this.#ready.delete(lane);
        this.#reconnect.connect(lane);
        continue;
      }
      while (lane.active < perInstanceConcurrency && this.#active < globalConcurrency) {
        const job = lane.start();
        if (!job) break;
        this.#active++;
        batch.push(job);
      }
      if (lane.queued === 0 || lane.active >= perInstanceConcurrency) this.#ready.delete(lane);
    }
    if (batch.length > 0) void this.#start(batch);
  }

  async #start(batch: WorkJob[]): Promise<void> {
    const now = Date.now();
    let moved: Set<number>;
    try {
      moved = new Set(await this.#hooks.markRunning(batch.map((j) => j.jobKey), now));
    } catch (err) {
      // Not committed: nothing was sent. Back to the front of their queues, tried again shortly.
      // Logged on the first failure and then every 30 s or so, not every attempt.
      if (this.#storeFailures++ % LOG_EVERY_FAILURES === 0) {
        this.#o.logger.error({ err, jobs: batch.length, attempts: this.#storeFailures }, 'markRunning failed; jobs stay queued and are tried again');
      }
      this.#requeue(batch);
      return;
    }
    if (this.#storeFailures > 0) {
      this.#o.logger.info({ attempts: this.#storeFailures }, 'markRunning succeeds again');
      this.#storeFailures = 0;
    }
    for (const job of batch) {
      if (!moved.has(job.jobKey)) {
        this.#release(job);
        continue;
      }
      const lane = this.#lanes.get(job.instanceKey)!;
      lane.running(job);
      this.backlog.released(lane, 1);
      job.startedAt = now;
      this.#safe(() => this.#hooks.started(job), job);
      void this.#run(job);
    }
  }

  #requeue(batch: WorkJob[]): void {
    const byLane = new Map<Lane, WorkJob[]>();
    for (const job of batch) {
      const lane = this.#lanes.get(job.instanceKey)!;
      const list = byLane.get(lane);
      if (list) list.push(job);
      else byLane.set(lane, [job]);
    }
    this.#active -= batch.length;
    for (const [lane, jobs] of byLane) {
      lane.requeue(jobs);
      this.#ready.add(lane);
    }
    this.#notifyIdle();
    if (this.#stopping) return;
    this.#pumpTimer ??= setTimeout(() => {
      this.#pumpTimer = null;
      this.#schedulePump();
    }, STORE_RETRY_MS);
  }

  async #run(job: WorkJob): Promise<void> {
    let result: JobResult;
    // A job committed running while the worker stops runs within the grace period like any
    // running job (its markRunning was in the shared write batch when the stop came); only one
    // the end of the grace period already aborted does not start.
    if (job.abortReason === 'cancel') result = failedResult(job.jobKey, JobCode.Cancelled, Date.now());
    else if (job.abortReason === 'stop') result = failedResult(job.jobKey, JobCode.Interrupted, Date.now());
    else result = await this.#exec(job);
    this.#release(job);
    this.#safe(() => this.#hooks.finished(job, result), job);
  }

  async #exec(job: WorkJob): Promise<JobResult> {
    job.abort = new JobCancel();
    const lane = this.#lanes.get(job.instanceKey)!;
    // A device operation (SPEC §10); undefined from a store that predates them is a command too.
    if (job.op != null) return this.#operations.run(job, job.op, lane.address, job.abort);
    try {
      const r = await this.#o.pool.exec(lane.address, job.command, {
        timeoutMs: job.timeoutMs,
        maxOutputBytes: this.#o.maxOutputBytes,
        signal: job.abort,
      });
      return completedResult(job.jobKey, r, Date.now());
    } catch (err) {
      let code = execErrorCode(err);
      if (code === JobCode.Cancelled && job.abortReason === 'stop') code = JobCode.Interrupted;
      if (code === null) {
        this.#o.logger.error({ err, jobKey: job.jobKey, instanceId: job.instanceId }, 'exec failed unexpectedly');
        code = JobCode.Internal;
      }
      return failedResult(job.jobKey, code, Date.now(), partialOutput(err), execErrorDetail(err));
    }
  }

  /** Frees the job's slots; the instance's next job may start at once. */
  #release(job: WorkJob): void {
    this.#jobs.delete(job.jobKey);
    const lane = this.#lanes.get(job.instanceKey)!;
    const wasHeld = job.phase === 'starting'; // markRunning did not move it (cancelled meanwhile)
    lane.release(job, Date.now());
    if (wasHeld) this.backlog.released(lane, 1);
    this.#active--;
    if (lane.queued > 0 && !this.#stopping) {
      this.#ready.add(lane);
      this.#schedulePump();
    }
    // A global slot opened: lanes waiting only on the global bound may go now.
    if (this.#ready.size > 0) this.#schedulePump();
    this.#notifyIdle();
  }

  #notifyIdle(): void {
    if (this.#active === 0) for (const w of [...this.#idleWaiters]) w();
  }

  #safe(fn: () => void, job: WorkJob): void {
    try {
      fn();
    } catch (err) {
      this.#o.logger.error({ err, jobKey: job.jobKey }, 'dispatch hook threw');
    }
  }
}
