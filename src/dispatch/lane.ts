// One instance's FIFO queue and the state of its connection, as the scheduler keeps them.
import type { CancelSignal } from '../adb/index.js';
import type { QueuedJob } from '../store/index.js';

export type JobPhase = 'queued' | 'starting' | 'running' | 'gone';

/** A job this worker holds, from enqueue until its slot is freed. */
export interface WorkJob extends QueuedJob {
  phase: JobPhase;
  /** when it joined this worker's queue (the retry window counts from here at the earliest) */
  enqueuedAt: number;
  /** when markRunning committed it */
  startedAt: number | null;
  abort: JobCancel | null;
  /** why the exec was aborted: a tenant's cancel (1004) or the worker stopping (1006) */
  abortReason: 'cancel' | 'stop' | null;
}

/**
 * A running job's cancel switch, passed to pool.exec as its signal. A plain object rather than an
 * AbortController: EventTarget's machinery cost ~5% of the worker's CPU per job. Exec and the
 * pool listen one at a time (slot wait, connect, then the exec), at most a few listeners.
 */
export class JobCancel implements CancelSignal {
  aborted = false;
  #listeners: (() => void)[] = [];

  addEventListener(_type: 'abort', listener: () => void): void {
    this.#listeners.push(listener);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    const i = this.#listeners.indexOf(listener);
    if (i >= 0) this.#listeners.splice(i, 1);
  }

  abort(): void {
    if (this.aborted) return;
    this.aborted = true;
    const listeners = this.#listeners;
    this.#listeners = [];
    for (const l of listeners) l();
  }
}

export class Lane {
  readonly instanceKey: number;
  address: string;
  /** jobs in submission order; entries before #head are consumed, 'gone' entries are skipped */
  #items: WorkJob[] = [];
  #head = 0;
  /** live (phase 'queued') entries */
  queued = 0;
  /** jobs starting or running on this instance */
  active = 0;
  /** when a job last left a slot here: the retry window counts from here at the earliest */
  lastFreeAt = 0;
  connecting = false;
  connectFailures = 0;
  retryTimer: NodeJS.Timeout | null = null;
  expiryTimer: NodeJS.Timeout | null = null;

  constructor(instanceKey: number, address: string) {
    this.instanceKey = instanceKey;
    this.address = address;
  }

  push(job: WorkJob): void {
    this.#items.push(job);
    this.queued++;
  }

  /** Puts jobs back at the front, in their order (markRunning failed before they started). */
  unshift(jobs: readonly WorkJob[]): void {
    for (let i = jobs.length - 1; i >= 0; i--) {
      const job = jobs[i]!;
      if (this.#head > 0) this.#items[--this.#head] = job;
      else this.#items.unshift(job);
      this.queued++;
    }
  }

  /** The oldest live queued job, without taking it. */
  peek(): WorkJob | undefined {
    while (this.#head < this.#items.length) {
      const job = this.#items[this.#head]!;
      if (job.phase === 'queued') return job;
      this.#head++;
    }
    this.#compact();
    return undefined;
  }

  shift(): WorkJob | undefined {
    const job = this.peek();
    if (!job) return undefined;
    this.#head++;
    this.queued--;
    this.#compact();
    return job;
  }

  /** A queued job leaves out of order (cancelled, expired): marked gone, skipped later. */
  remove(job: WorkJob): void {
    if (job.phase !== 'queued') return;
    job.phase = 'gone';
    this.queued--;
  }

  /** Live queued jobs in order. */
  *queuedJobs(): Generator<WorkJob> {
    for (let i = this.#head; i < this.#items.length; i++) {
      const job = this.#items[i]!;
      if (job.phase === 'queued') yield job;
    }
  }

  #compact(): void {
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
  }

  clearTimers(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.retryTimer = null;
    this.expiryTimer = null;
  }
}

/** Built field by field (not spread) so every job has one hidden class: this runs per job. */
export function workJob(q: QueuedJob, enqueuedAt: number): WorkJob {
  return {
    jobKey: q.jobKey,
    jobId: q.jobId,
    taskKey: q.taskKey,
    taskId: q.taskId,
    tenantKey: q.tenantKey,
    command: q.command,
    timeoutMs: q.timeoutMs,
    instanceKey: q.instanceKey,
    instanceId: q.instanceId,
    adbAddress: q.adbAddress,
    createdAt: q.createdAt,
    phase: 'queued',
    enqueuedAt,
    startedAt: null,
    abort: null,
    abortReason: null,
  };
}
