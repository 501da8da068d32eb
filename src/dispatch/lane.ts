// One instance's FIFO queue and the state of its connection, and the job as the worker holds it.
import type { CancelSignal } from '../adb/index.js';
import type { QueuedJob } from '../store/index.js';

export type JobPhase = 'queued' | 'starting' | 'running' | 'gone';

/** A job this worker holds, from enqueue until its slot is freed. */
export interface WorkJob extends QueuedJob {
  phase: JobPhase;
  /** the retry window counts from here at the earliest: its creation or this worker's start,
   * whichever is later (not when it was read into memory, which a bounded window delays) */
  windowFrom: number;
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

/**
 * One instance's FIFO queue, its slots and the state of its connection. The scheduler decides;
 * the lane keeps its own counts and timers consistent through these transitions. The lane holds a
 * bounded window of the instance's queued jobs and the keys of the rest, which the store holds
 * (`spill` and `refilling`: backlog.ts changes them, and only it).
 */
export class Lane {
  readonly instanceKey: number;
  /** keys of the instance's further queued jobs, which the store holds (past the window) */
  readonly spill = new KeyQueue();
  /** a refill read is in flight */
  refilling = false;
  /** bumped when the worker stops holding the instance (dropInstance): a refill read before
   * that brings jobs the lane no longer owns, and is dropped */
  generation = 0;
  #address: string;
  /** jobs in submission order; entries before #head are consumed, 'gone' entries are skipped */
  #items: WorkJob[] = [];
  #head = 0;
  /** live (phase 'queued') entries */
  #queued = 0;
  /** jobs starting or running on this instance */
  #active = 0;
  /** jobs starting: taken from the queue, markRunning not yet committed */
  #starting = 0;
  /** when a job last left a slot here: the retry window counts from here at the earliest */
  #lastFreeAt = 0;
  #connecting = false;
  #retryTimer: NodeJS.Timeout | null = null;
  #expiryTimer: NodeJS.Timeout | null = null;

  constructor(instanceKey: number, address: string) {
    this.instanceKey = instanceKey;
    this.#address = address;
  }

  get address(): string {
    return this.#address;
  }

  /** live queued jobs */
  get queued(): number {
    return this.#queued;
  }

  /** jobs held that have not started: queued, or starting (they return to the queue if
   * markRunning fails) */
  get held(): number {
    return this.#queued + this.#starting;
  }

  /** jobs starting or running */
  get active(): number {
    return this.#active;
  }

  /** a connect attempt is under way */
  get connecting(): boolean {
    return this.#connecting;
  }

  /** waiting for the pool to allow the next connect attempt */
  get waitingToConnect(): boolean {
    return this.#retryTimer !== null;
  }

  /** The start of the head job's retry window (it never starts before the last slot freed). */
  windowStart(job: WorkJob): number {
    return Math.max(job.windowFrom, this.#lastFreeAt);
  }

  /** A queued job joins the tail. A re-registered instance keeps its lane, with its new address. */
  push(job: WorkJob, address: string): void {
    this.#address = address;
    this.#items.push(job);
    this.#queued++;
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

  /** The head job takes a slot: queued -> starting. */
  start(): WorkJob | undefined {
    const job = this.#take();
    if (job === undefined) return undefined;
    job.phase = 'starting';
    this.#active++;
    this.#starting++;
    return job;
  }

  /** markRunning committed the starting job: starting -> running. */
  running(job: WorkJob): void {
    job.phase = 'running';
    this.#starting--;
  }

  /** Starting jobs go back to the front, in their order (markRunning failed before they started). */
  requeue(jobs: readonly WorkJob[]): void {
    for (let i = jobs.length - 1; i >= 0; i--) {
      const job = jobs[i]!;
      job.phase = 'queued';
      this.#active--;
      this.#starting--;
      if (this.#head > 0) this.#items[--this.#head] = job;
      else this.#items.unshift(job);
      this.#queued++;
    }
  }

  /** A starting or running job leaves its slot. */
  release(job: WorkJob, now: number): void {
    if (job.phase === 'starting') this.#starting--;
    job.phase = 'gone';
    job.abort = null;
    this.#active--;
    this.#lastFreeAt = now;
  }

  /** The head job leaves without running (its retry window ran out, or the device refused us). */
  drop(): WorkJob | undefined {
    const job = this.#take();
    if (job !== undefined) job.phase = 'gone';
    return job;
  }

  /** Keeps the head queued job and lets the ones behind it go (returned, marked gone): an
   * unreachable instance's window goes back to the store. */
  shed(): WorkJob[] {
    if (this.peek() === undefined) return [];
    const out: WorkJob[] = [];
    for (let i = this.#head + 1; i < this.#items.length; i++) {
      const job = this.#items[i]!;
      if (job.phase !== 'queued') continue;
      job.phase = 'gone';
      out.push(job);
    }
    this.#items.length = this.#head + 1;
    this.#queued -= out.length;
    return out;
  }

  /** A queued job leaves out of order (cancelled): marked gone, skipped later. */
  remove(job: WorkJob): void {
    if (job.phase !== 'queued') return;
    job.phase = 'gone';
    this.#queued--;
  }

  // --- connecting ---

  connectStarted(): void {
    this.#connecting = true;
  }

  /** The attempt ended (either way), or was called off before it started. */
  connectEnded(): void {
    this.#connecting = false;
  }

  /** Calls fn at `at` (epoch ms), when the pool allows the next connect attempt. */
  retryConnectAt(at: number, fn: () => void): void {
    if (this.#retryTimer) return;
    timerAt(at, (t) => (this.#retryTimer = t), () => {
      this.#retryTimer = null;
      fn();
    });
  }

  /** Calls fn at `deadline` (epoch ms), once, for the retry window's end. */
  expireAt(deadline: number, fn: () => void): void {
    if (this.#expiryTimer) return;
    timerAt(deadline, (t) => (this.#expiryTimer = t), () => {
      this.#expiryTimer = null;
      fn();
    });
  }

  /** The instance answered: no retry window runs out while it does. */
  connected(): void {
    this.#connecting = false;
    if (this.#expiryTimer) clearTimeout(this.#expiryTimer);
    this.#expiryTimer = null;
  }

  clearTimers(): void {
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    if (this.#expiryTimer) clearTimeout(this.#expiryTimer);
    this.#retryTimer = null;
    this.#expiryTimer = null;
  }

  #take(): WorkJob | undefined {
    const job = this.peek();
    if (!job) return undefined;
    this.#head++;
    this.#queued--;
    this.#compact();
    return job;
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
}

/** Built field by field (not spread) so every job has one hidden class: this runs per job. */
export function workJob(q: QueuedJob, windowFrom: number): WorkJob {
  return {
    jobKey: q.jobKey,
    jobId: q.jobId,
    taskKey: q.taskKey,
    taskId: q.taskId,
    tenantKey: q.tenantKey,
    command: q.command,
    op: q.op,
    timeoutMs: q.timeoutMs,
    instanceKey: q.instanceKey,
    instanceId: q.instanceId,
    adbAddress: q.adbAddress,
    createdAt: q.createdAt,
    phase: 'queued',
    windowFrom,
    startedAt: null,
    abort: null,
    abortReason: null,
  };
}

interface KeyChunk {
  keys: Float64Array;
  /** keys[start, end) are live */
  start: number;
  end: number;
}

/** Keys per chunk: 32 KiB each. */
const CHUNK = 4096;

/**
 * Job keys in key order: appended at the tail, taken from the head, given back to the head. Kept
 * in fixed chunks of doubles outside the JS heap: 8 bytes a key whatever the length (an array
 * grows by half again, copying, and the collector walks it), and a drained chunk is freed whole.
 */
export class KeyQueue {
  #chunks: KeyChunk[] = [];
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(key: number): void {
    let last = this.#chunks.at(-1);
    if (last === undefined || last.end === last.keys.length) {
      last = { keys: new Float64Array(CHUNK), start: 0, end: 0 };
      this.#chunks.push(last);
    }
    last.keys[last.end++] = key;
    this.#length++;
  }

  /** The first n keys, taken out. */
  take(n: number): number[] {
    const out: number[] = [];
    while (out.length < n && this.#chunks.length > 0) {
      const c = this.#chunks[0]!;
      const stop = Math.min(c.end, c.start + n - out.length);
      for (let i = c.start; i < stop; i++) out.push(c.keys[i]!);
      c.start = stop;
      if (c.start === c.end) this.#chunks.shift();
    }
    this.#length -= out.length;
    return out;
  }

  /** Keys (older than every key here, in order) go back to the head. */
  giveBack(keys: readonly number[]): void {
    if (keys.length === 0) return;
    this.#chunks.unshift({ keys: Float64Array.from(keys), start: 0, end: keys.length });
    this.#length += keys.length;
  }
}

/**
 * Calls fn once Date.now() reaches `at` (epoch ms), handing each timer it sets to `set` (to clear
 * it). A timer counts from the event loop's cached time, so it may fire a few ms before `at` by
 * the clock that the pool's backoff and the retry window compare against: it then waits out the rest.
 */
function timerAt(at: number, set: (timer: NodeJS.Timeout) => void, fn: () => void): void {
  set(setTimeout(() => (Date.now() < at ? timerAt(at, set, fn) : fn()), Math.max(0, at - Date.now())));
}
