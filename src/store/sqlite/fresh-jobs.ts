// Queued jobs committed since the worker last read the queue, kept in memory. Reading a job back
// from the table costs ~4 us (three joined rows); at 100 jobs per request that was as much as
// writing them. Like the instance index, this holds because the SQLite store is used by one
// process and every change to a job's state goes through it: a job enters here when its INSERT
// commits and leaves when it stops being queued, so this is the table's tail, read without I/O.
import type { QueuedJob } from '../types.js';

/** Past this many unread jobs (no worker reading) they are left to the table alone. */
const MAX_FRESH = 100_000;

export class FreshJobs {
  /** by key; keys only grow, so insertion order is key order */
  readonly #jobs = new Map<number, QueuedJob>();
  /** every job still queued whose key is >= #from is in #jobs */
  #from: number;

  /** nextKey: the key the next inserted job gets (all before it are in the table only) */
  constructor(nextKey: number) {
    this.#from = nextKey;
  }

  /** Jobs whose INSERT committed, in key order. */
  committed(jobs: readonly QueuedJob[]): void {
    const last = jobs.at(-1);
    if (last === undefined) return;
    if (this.#jobs.size + jobs.length > MAX_FRESH) {
      this.#jobs.clear();
      this.#from = last.jobKey + 1;
      return;
    }
    for (const j of jobs) this.#jobs.set(j.jobKey, j);
  }

  /** The job is no longer queued (running, final or cancelled). */
  left(jobKey: number): void {
    this.#jobs.delete(jobKey);
  }

  /** The queued jobs after `afterJobKey`, oldest first, at most `limit`; null when some of them
   * may be in the table only (the caller reads the table). */
  after(afterJobKey: number, limit: number): QueuedJob[] | null {
    if (afterJobKey + 1 < this.#from) return null;
    const out: QueuedJob[] = [];
    for (const [key, job] of this.#jobs) {
      // A reader past a job has it already: it leaves (readers before it go to the table).
      if (key <= afterJobKey) this.#jobs.delete(key);
      else if (out.length < limit) out.push(job);
      else break;
    }
    this.#from = afterJobKey + 1;
    return out;
  }
}
