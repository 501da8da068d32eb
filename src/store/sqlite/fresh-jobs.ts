// Queued jobs committed since the worker last read the queue, kept in memory. Reading a job back
// from the table costs ~4 us (three joined rows); at 100 jobs per request that was as much as
// writing them. Like the instance index, this holds because the SQLite store is used by one
// process and every change to a job's state goes through it: a job enters here when its INSERT
// commits, and a reader past it takes it out, so this is the table's unread tail without I/O.
import type { QueuedJob } from '../types.js';

/** Past this many unread jobs (no worker reading) they are left to the table alone. */
const MAX_FRESH = 100_000;

export class FreshJobs {
  /** in key order (keys only grow); entries before #head are gone */
  #jobs: QueuedJob[] = [];
  #head = 0;
  /** every job still queued whose key is >= #from is in #jobs[#head..], unless in #left */
  #from: number;
  /** jobs in #jobs that stopped being queued before anyone read them (cancelled, failed) */
  readonly #left = new Set<number>();
  /** the key the next inserted job gets */
  #next: number;
  /** no job with a key in (#gapFrom, #from) is queued (set by caughtUp; Infinity: nothing known).
   * Without it a reader whose last queued job is followed by finished ones (after a restart, or a
   * backlog that overflowed) would read the table, scanning those rows, at every wake. */
  #gapFrom = Infinity;

  /** nextKey: the key the next inserted job gets (all before it are in the table only) */
  constructor(nextKey: number) {
    this.#from = nextKey;
    this.#next = nextKey;
  }

  /** Jobs whose INSERT committed, in key order. */
  committed(jobs: readonly QueuedJob[]): void {
    const last = jobs.at(-1);
    if (last === undefined) return;
    this.#next = last.jobKey + 1;
    if (this.#jobs.length - this.#head + jobs.length > MAX_FRESH) {
      this.#drop(last.jobKey + 1);
      return;
    }
    for (const j of jobs) this.#jobs.push(j);
  }

  /** The job is no longer queued (running, final or cancelled). Jobs already read are not here:
   * that is one comparison, the common case (the worker moves to running what it read). */
  left(jobKey: number): void {
    if (jobKey >= this.#from && this.#head < this.#jobs.length) this.#left.add(jobKey);
  }

  /**
   * The queued jobs after `afterJobKey`, oldest first, at most `limit`; null when some of them
   * may be in the table only (the caller reads the table). What it returns is taken out: the
   * reader is the worker, which reads on from the last key it got. Another reader, behind it,
   * reads the table.
   */
  after(afterJobKey: number, limit: number): QueuedJob[] | null {
    if (afterJobKey + 1 < this.#from && afterJobKey < this.#gapFrom) return null;
    // Served from here on: the gap is consumed (#from moves to the reader's position), and what
    // this returns is taken out, so the jobs it hands out are queued below the next #from.
    this.#gapFrom = Infinity;
    const out: QueuedJob[] = [];
    let i = this.#head;
    for (; i < this.#jobs.length && out.length < limit; i++) {
      const job = this.#jobs[i]!;
      if (job.jobKey <= afterJobKey) continue;
      if (this.#left.size > 0 && this.#left.delete(job.jobKey)) continue;
      out.push(job);
    }
    const last = out.at(-1);
    this.#from = Math.max(afterJobKey, last?.jobKey ?? 0) + 1;
    this.#head = i;
    if (this.#head === this.#jobs.length) this.#drop(this.#from);
    else if (this.#head > 1024 && this.#head * 2 > this.#jobs.length) {
      this.#jobs = this.#jobs.slice(this.#head);
      this.#head = 0;
    }
    return out;
  }

  /**
   * A table read came back short: no job past `lastKey` is queued in the table, apart from those
   * inserted later. Whoever reads from there on is answered from here. What this holds is dropped:
   * it is all in the table (committed), so that read returned its live jobs already.
   */
  caughtUp(lastKey: number): void {
    this.#drop(this.#next);
    this.#gapFrom = lastKey;
  }

  /** Forgets every job here: from `from` on, the memory is complete again. */
  #drop(from: number): void {
    this.#jobs = [];
    this.#head = 0;
    this.#left.clear();
    this.#from = from;
    this.#gapFrom = Infinity;
  }
}
