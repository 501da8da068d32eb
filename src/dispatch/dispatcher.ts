// The in-process worker on the SQLite store: the jobs table is the queue and this is its single
// consumer. It feeds the scheduler (queued jobs loaded on start, new tasks as they are submitted),
// commits queued -> running before any command is sent, and writes results in batches.
import { isFinal, JOB_CODES, JobCode, jobMessage, type Config } from '../core/index.js';
import type { CreatedTask, JobResult, JobView, QueuedJob, Store } from '../store/index.js';
import type { WorkJob } from './lane.js';
import { SILENT_LOGGER, type Logger, type WorkerPool } from './ports.js';
import { ResultWriter } from './result-writer.js';
import { Scheduler } from './scheduler.js';
import { TaskTracker } from './task-tracker.js';
import type { Dispatcher, JobEvent } from './types.js';

export interface DispatcherOptions {
  store: Store;
  pool: WorkerPool;
  config: Pick<Config, 'perInstanceConcurrency' | 'globalConcurrency' | 'retryWindowMs' | 'maxOutputBytes'>;
  logger?: Logger;
}

/** Jobs read per store.queuedJobs call on start. */
const LOAD_PAGE = 1000;
/** How long keys loaded on start are remembered, to ignore a late submitted() of the same jobs. */
const LOADED_KEYS_TTL_MS = 60_000;
const DEFAULT_GRACE_MS = 10_000;
/** After the grace period, aborted execs get this long to settle before results are flushed. */
const ABORT_SETTLE_MS = 5_000;

export function createDispatcher(options: DispatcherOptions): Dispatcher {
  return new SqliteDispatcher(options);
}

class SqliteDispatcher implements Dispatcher {
  readonly #store: Store;
  readonly #logger: Logger;
  readonly #tracker: TaskTracker;
  readonly #scheduler: Scheduler;
  readonly #writer: ResultWriter;
  /** results handed to the writer, not yet committed: what the final event is built from */
  readonly #unwritten = new Map<number, { job: WorkJob; result: JobResult }>();
  #state: 'new' | 'loading' | 'running' | 'stopped' = 'new';
  /** submissions that arrived while start() was loading: appended after the loaded jobs */
  #buffered: QueuedJob[] = [];
  #loadedKeys: Set<number> | null = null;
  #loadedKeysTimer: NodeJS.Timeout | null = null;

  constructor({ store, pool, config, logger = SILENT_LOGGER }: DispatcherOptions) {
    this.#store = store;
    this.#logger = logger;
    this.#tracker = new TaskTracker(logger);
    this.#writer = new ResultWriter(store, logger, (batch, ok) => this.#written(batch, ok));
    this.#scheduler = new Scheduler(
      {
        pool,
        logger,
        perInstanceConcurrency: Math.max(1, config.perInstanceConcurrency),
        globalConcurrency: Math.max(1, config.globalConcurrency),
        retryWindowMs: config.retryWindowMs,
        maxOutputBytes: config.maxOutputBytes,
      },
      {
        markRunning: (keys, now) => this.#store.markRunning(keys, now),
        running: (job) => this.#emit(job, runningView),
        finished: (job, result) => {
          this.#unwritten.set(job.jobKey, { job, result });
          this.#writer.add(result);
        },
        dropped: (job) => this.#cancelledQueued(job),
      },
    );
  }

  async start(): Promise<void> {
    if (this.#state !== 'new') return;
    this.#state = 'loading';
    const interrupted = await this.#store.interruptRunning(Date.now());
    if (this.#state !== 'loading') return; // stopped meanwhile
    if (interrupted > 0) this.#logger.warn({ jobs: interrupted }, 'jobs left running by a previous worker marked interrupted (1006)');
    // Everything is read before anything starts, so loaded jobs keep their order ahead of new ones.
    const loaded: QueuedJob[] = [];
    for (let after = 0; ; ) {
      const page = await this.#store.queuedJobs(after, LOAD_PAGE);
      loaded.push(...page);
      const last = page.at(-1);
      if (page.length < LOAD_PAGE || !last) break;
      after = last.jobKey;
    }
    if (this.#state !== 'loading') return; // stopped meanwhile: they stay queued for the next start
    this.#loadedKeys = new Set(loaded.map((j) => j.jobKey));
    this.#loadedKeysTimer = setTimeout(() => {
      this.#loadedKeys = null;
      this.#loadedKeysTimer = null;
    }, LOADED_KEYS_TTL_MS);
    this.#loadedKeysTimer.unref();
    this.#state = 'running';
    const buffered = this.#buffered;
    this.#buffered = [];
    this.#add(loaded, null);
    this.#add(buffered, this.#loadedKeys);
    this.#logger.info({ queued: loaded.length, interrupted }, 'dispatcher started');
  }

  submitted(task: CreatedTask, tenantKey: number): void {
    // A replayed task's jobs were submitted (or loaded on start) when it was first created.
    if (task.replayed || this.#state === 'stopped') return;
    const jobs: QueuedJob[] = task.jobs.map((j) => ({
      jobKey: j.jobKey,
      jobId: j.jobId,
      taskKey: task.taskKey,
      taskId: task.taskId,
      tenantKey,
      command: task.command,
      timeoutMs: task.timeoutMs,
      instanceKey: j.instanceKey,
      instanceId: j.instanceId,
      adbAddress: j.adbAddress,
      createdAt: task.createdAt,
    }));
    if (this.#state === 'running') this.#add(jobs, this.#loadedKeys);
    else this.#buffered.push(...jobs);
  }

  /** Jobs join their lanes, once: a job this worker holds or loaded on start is not added again
   * (it may have finished already; markRunning would refuse it, but its events would be wrong). */
  #add(jobs: QueuedJob[], loadedKeys: ReadonlySet<number> | null): void {
    const fresh: QueuedJob[] = [];
    for (const j of jobs) {
      if (this.#scheduler.has(j.jobKey) || this.#unwritten.has(j.jobKey) || loadedKeys?.has(j.jobKey)) continue;
      fresh.push(j);
    }
    for (const j of fresh) this.#tracker.opened(j.taskKey, j.tenantKey, j.taskId);
    this.#scheduler.enqueue(fresh);
  }

  cancelQueued(jobKeys: readonly number[]): void {
    for (const job of this.#scheduler.removeQueued(jobKeys)) this.#cancelledQueued(job);
  }

  cancelRunning(jobKeys: readonly number[]): void {
    this.#scheduler.cancelRunning(jobKeys);
  }

  async waitForTask(taskKey: number, deadline: number): Promise<void> {
    const ref = this.#tracker.ref(taskKey);
    if (ref === null) return; // nothing of it left in this worker: every job is final
    // The store is checked once: jobs cancelled there while still queued here (store.cancelTask
    // without cancelQueued) leave the queues now instead of when they reach markRunning.
    try {
      const task = await this.#store.getTask(ref.tenantKey, ref.taskId);
      const final = task?.jobs.filter((j) => isFinal(j.state)) ?? [];
      const views = new Map(final.map((j) => [j.jobKey, j]));
      for (const job of this.#scheduler.removeQueued([...views.keys()])) {
        this.#emit(job, views.get(job.jobKey)!);
        this.#tracker.closed(job.taskKey);
      }
    } catch (err) {
      this.#logger.warn({ err, taskKey }, 'waitForTask: reading the task failed; tracking only');
    }
    return this.#tracker.wait(taskKey, deadline);
  }

  onJobEvent(taskKey: number, listener: (e: JobEvent) => void): () => void {
    return this.#tracker.on(taskKey, listener);
  }

  async stop(graceMs = DEFAULT_GRACE_MS): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    if (this.#loadedKeysTimer) clearTimeout(this.#loadedKeysTimer);
    this.#scheduler.stopStarting();
    await this.#scheduler.idle(graceMs);
    if (this.#scheduler.active > 0) {
      this.#logger.warn({ jobs: this.#scheduler.active }, 'grace period over: interrupting running jobs (1006)');
      this.#scheduler.abortAll();
      await this.#scheduler.idle(ABORT_SETTLE_MS);
    }
    await this.#writer.flush();
    this.#tracker.releaseAll();
  }

  /** A queued job the store cancelled: it leaves this worker with its final event. */
  #cancelledQueued(job: WorkJob): void {
    const now = Date.now();
    this.#emit(job, {
      ...baseView(job),
      state: JOB_CODES[JobCode.Cancelled].state,
      errorCode: JobCode.Cancelled,
      errorMsg: jobMessage(JobCode.Cancelled, null),
      finishedAt: now,
    });
    this.#tracker.closed(job.taskKey);
  }

  /** After a batch committed: final events. If it could not be written, the jobs stay running in
   * the store (the next start marks them 1006): no event claims otherwise, but waiters go free. */
  #written(batch: readonly JobResult[], ok: boolean): void {
    for (const result of batch) {
      const entry = this.#unwritten.get(result.jobKey);
      if (!entry) continue;
      this.#unwritten.delete(result.jobKey);
      if (ok) this.#emit(entry.job, (job) => finalView(job, result));
      this.#tracker.closed(entry.job.taskKey);
    }
  }

  /** The view is built only when someone listens: most tasks have no event stream open. */
  #emit(job: WorkJob, view: JobView | ((job: WorkJob) => JobView)): void {
    if (!this.#tracker.listening(job.taskKey)) return;
    if (typeof view === 'function') view = view(job);
    this.#tracker.emit({
      tenantKey: job.tenantKey,
      taskKey: job.taskKey,
      taskId: job.taskId,
      jobKey: job.jobKey,
      jobId: job.jobId,
      instanceId: job.instanceId,
      state: view.state,
      job: view,
    });
  }
}

function baseView(job: WorkJob): JobView {
  return {
    jobKey: job.jobKey,
    jobId: job.jobId,
    instanceId: job.instanceId,
    state: 'queued',
    errorCode: '',
    errorMsg: '',
    executeMsg: '',
    exitCode: null,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: null,
    outputBytes: 0,
    outputTruncated: false,
  };
}

function runningView(job: WorkJob): JobView {
  return { ...baseView(job), state: 'running' };
}

function finalView(job: WorkJob, r: JobResult): JobView {
  return {
    ...baseView(job),
    state: r.state,
    errorCode: r.errorCode,
    errorMsg: r.errorMsg,
    executeMsg: r.executeMsg,
    exitCode: r.exitCode,
    finishedAt: r.finishedAt,
    outputBytes: r.outputBytes,
    outputTruncated: r.outputTruncated,
  };
}
