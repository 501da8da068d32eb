// The worker reads the queue with a key cursor ("queued jobs after key N"), and keys are
// allocated before commit: with several writers, a transaction holding keys 100..199 can commit
// after one holding 200..299, and a reader that took 200..299 and moved its cursor to 299 would
// never see 100..199. Recording each task's transaction id and handing out only rows of
// transactions below the snapshot's xmin is not enough on its own: key order is not transaction
// id order (a transaction can take its id before another and its keys after it).
//
// So the reader hands out keys only up to a horizon below which no key can still appear:
// 1. Every writer takes its transaction id (TxSql.assignXid) before it allocates a key.
// 2. The reader reads the greatest committed key L and, after it, takes a transaction id B of its
//    own (one statement, which commits at once). Any transaction that allocated a key <= L did so
//    before L's writer did, so had its id before L was read, before B: its id is below B. Once a
//    snapshot's xmin reaches B, every such transaction has ended (committed: its rows are
//    visible; aborted: they never will be), and L is the horizon.
//    A snapshot's xmax is no such bound: it is the newest *finished* transaction id + 1, and a
//    writer whose id is at or above it is not among the snapshot's running transactions, so it
//    does not hold xmin down (xmin = xmax with that writer in flight).
//    L is a committed key, not the sequence's last value: after a crash (or an immediate
//    shutdown) the sequence restarts from its last WAL record that reached disk, which an
//    uncommitted transaction's nextval may have passed, and hands those keys out again. A reader
//    that had seen them allocated would have moved its horizon, and a leased worker its cursor,
//    past jobs committed with them after the restart, and never read those. A committed key is
//    durable: the sequence never restarts below it (the commit flushed its WAL).
// 3. The read itself checks (L, B) against its own snapshot, taken after B ended: with no older
//    transaction in flight L is safe at once; otherwise the checkpoint waits for a later read.
//    The id costs a commit record per read, not flushed (the transaction writes nothing else).
//
// A reader waits a little for the horizon to pass what was committed when it started (the
// transactions in flight are batches of a few milliseconds), then answers with what is safe; if
// keys are still behind the horizon, it tells the local change feed to read again shortly, with a
// growing delay, so no job waits for the next notification or the worker's 1 s poll.
//
// The price: the horizon follows the oldest transaction with an id in the whole cluster, so a
// long writing transaction (or one idle in transaction after writing) anywhere on the server
// holds back the hand-out of new jobs until it ends. Set idle_in_transaction_session_timeout.
import type pg from 'pg';
import type { QueuedJob } from '../types.js';
import { named } from './db.js';
import { QueueSql } from './queue.sql.js';

/** How long one read waits for the horizon to pass the keys committed when it started. */
const WAIT_MS = 100;
/** Checkpoints kept (each read adds one while keys are behind the horizon). */
const MAX_CHECKPOINTS = 64;
const RECHECK_MIN_MS = 2;
const RECHECK_MAX_MS = 1_000;

type Row = Partial<QueuedJob> & { xmin: number; horizon: number };

export class QueueHorizon {
  readonly #pool: pg.Pool;
  /** tells the worker to read again (the local change feed's queued notice) */
  readonly #wake: (lastKey: number) => void;
  /** every key at or below is final */
  #safe = 0;
  /** (key, bound): key is safe once a snapshot's xmin reaches bound; keys ascending */
  #checkpoints: Array<{ key: number; bound: number }> = [];
  #recheck: NodeJS.Timeout | null = null;
  #recheckMs = RECHECK_MIN_MS;

  constructor(pool: pg.Pool, wake: (lastKey: number) => void) {
    this.#pool = pool;
    this.#wake = wake;
  }

  /** leaseOwner: only jobs of the instances this worker leases (null: every job) */
  async queuedJobs(afterJobKey: number, limit: number, leaseOwner: string | null): Promise<QueuedJob[]> {
    return (await this.read(afterJobKey, limit, leaseOwner)).jobs;
  }

  /**
   * queuedJobs, and how far the read looked: every queued job the filter lets through with a key
   * up to `scannedTo` is in `jobs` (the horizon when the page is short, else its last key). A
   * worker reading only its leased instances' jobs moves its cursor there, so it does not scan
   * the others' backlog again at every read.
   */
  async read(afterJobKey: number, limit: number, leaseOwner: string | null): Promise<{ jobs: QueuedJob[]; scannedTo: number }> {
    const { lastKey: last, bound } = (await this.#pool.query<{ lastKey: number; bound: number }>(named('queue-last-key', QueueSql.lastKey, []))).rows[0]!;
    const deadline = Date.now() + WAIT_MS;
    let pause = 1;
    // Each read goes on from where the previous one's page ended (a short page holds every job up
    // to its horizon), so a job is read once however many times the horizon is waited for; a
    // full page ends the wait, as nothing past it would be handed out anyway.
    const jobs: QueuedJob[] = [];
    let scannedTo = afterJobKey;
    for (;;) {
      const page = await this.#read(scannedTo, limit - jobs.length, last, bound, leaseOwner);
      for (const j of page.jobs) jobs.push(j);
      if (jobs.length >= limit) {
        this.#scheduleRecheck(last);
        return { jobs, scannedTo: jobs.at(-1)!.jobKey };
      }
      scannedTo = Math.max(scannedTo, page.horizon);
      if (this.#safe >= last || Date.now() >= deadline) {
        this.#scheduleRecheck(last);
        return { jobs, scannedTo };
      }
      await new Promise((r) => setTimeout(r, pause));
      pause = Math.min(pause * 2, 10);
    }
  }

  stop(): void {
    if (this.#recheck !== null) clearTimeout(this.#recheck);
    this.#recheck = null;
  }

  /** One snapshot: the horizon it allows, and the queued jobs up to it. */
  async #read(afterJobKey: number, limit: number, last: number, bound: number, leaseOwner: string | null): Promise<{ jobs: QueuedJob[]; horizon: number }> {
    const keys = [this.#safe, ...this.#checkpoints.map((c) => c.key), last];
    const bounds = [0, ...this.#checkpoints.map((c) => c.bound), bound];
    const rows = (await this.#pool.query<Row>(named('queue-queued', QueueSql.queued, [afterJobKey, limit, keys, bounds, leaseOwner]))).rows;
    const head = rows[0]!;
    this.#safe = Math.max(this.#safe, head.horizon);
    this.#checkpoints = this.#checkpoints.filter((c) => c.bound > head.xmin && c.key > this.#safe);
    if (last > this.#safe && !this.#checkpoints.some((c) => c.key >= last) && this.#checkpoints.length < MAX_CHECKPOINTS) {
      this.#checkpoints.push({ key: last, bound });
    }
    return { jobs: head.jobKey === null || head.jobKey === undefined ? [] : rows.map(toJob), horizon: head.horizon };
  }

  /** Keys still behind the horizon: the worker is told to read again, sooner while the horizon moves. */
  #scheduleRecheck(last: number): void {
    if (this.#safe >= last) {
      this.#recheckMs = RECHECK_MIN_MS;
      return;
    }
    if (this.#recheck !== null) return;
    this.#recheck = setTimeout(() => {
      this.#recheck = null;
      this.#wake(last);
    }, this.#recheckMs);
    this.#recheck.unref();
    this.#recheckMs = Math.min(this.#recheckMs * 2, RECHECK_MAX_MS);
  }
}

function toJob(r: Row): QueuedJob {
  const { xmin: _xmin, horizon: _horizon, ...job } = r;
  return job as QueuedJob;
}
