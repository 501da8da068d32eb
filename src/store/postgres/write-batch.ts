// One write transaction at a time per store: createTask (the API's submits), markRunning and
// finishJobs (the worker's transitions) and appendAudit (the API's record of each state-changing
// request) called while the previous transaction was in flight, or
// in the same turn of the event loop, are written together on one pooled connection: one COMMIT
// (one WAL flush) for all of them. Each request runs inside its own SAVEPOINT, so one that fails
// (an instance no longer the tenant's, a result that is not final) is rolled back alone; but the
// common submit, one statement that writes all or nothing (task-writer.ts insertOwned), needs
// none: two round trips fewer per task. Should one of those fail anyway (the database refused it),
// the transaction is rolled back and the batch written again with a savepoint for every request,
// so that request fails alone. Every
// promise settles only after COMMIT: a resolved createTask is durable, and a resolved markRunning
// is durable before the worker sends a command. A COMMIT that fails, or a connection lost
// mid-batch, rejects every request of the batch and stores none of it. A connection lost during
// COMMIT leaves the outcome open (the server may have committed and died before answering): each
// transaction writes the batch's number on this writer's row of write_marks, and the batch reads
// that row back on another connection, as often as it takes until the store closes, and settles
// as it says; only if it could not be read it rejects, saying so. Else a markRunning that
// committed would be retried, find its jobs no longer queued, and leave them running for good,
// never sent. The change feed hears of a
// batch only once it has committed (and other processes by a NOTIFY after that, never inside it).
// The batch's audit entries are one INSERT at its end, under a savepoint of their own; an entry
// waits up to AUDIT_WAIT_MS for a batch with other writes to join.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { AuditEntry, CommitObserver, CreatedTask, JobResult, NewTask, StoreStats } from '../types.js';
import { artifactIdOf } from '../blobs.js';
import { ArtifactSql } from './artifacts.sql.js';
import { appendAudit } from './audit.js';
import { named } from './db.js';
import { finishJobs, markRunning } from './queue.js';
import { insertOwned, writeTask } from './task-writer.js';
import { TxSql } from './tx.sql.js';

// Bounds of one batch, as SQLite's: at most this many requests or rows (a task's jobs, the keys
// to mark, the results); the rest waits for the next transaction. A single larger request goes
// whole, alone: a request is atomic.
const MAX_REQUESTS = 256;
const MAX_ROWS = 20_000;
// An audit entry is recorded once its request is answered, a turn after the request's own writes:
// committed alone it would cost a commit per turn. It rides along with the next batch that has
// other writes, as on SQLite, and waits at most this long for one (a quiet service commits it
// alone then).
const AUDIT_WAIT_MS = 50;
/** Reading whether a cut-off COMMIT committed: the first retry after this, doubling up to the cap. */
const OUTCOME_RETRY_MS = 50;
const OUTCOME_RETRY_CAP_MS = 1_000;

type Reject = (err: unknown) => void;

type Request =
  | { kind: 'create'; task: NewTask; rows: number; resolve: (value: CreatedTask) => void; reject: Reject }
  | {
      kind: 'running';
      jobKeys: readonly number[];
      now: number;
      leaseOwner: string | null;
      rows: number;
      resolve: (moved: number[]) => void;
      reject: Reject;
    }
  | { kind: 'finish'; results: readonly JobResult[]; rows: number; resolve: () => void; reject: Reject }
  | { kind: 'audit'; entry: AuditEntry; rows: 1; resolve: () => void; reject: Reject };

type AuditRequest = Extract<Request, { kind: 'audit' }>;
type CreateRequest = Extract<Request, { kind: 'create' }>;

/** a batch's transaction: its mark, its id (xid8, as text) and the backend running it */
type Transaction = { mark: number; xid: string; pid: number };
/** what a transaction of the batch wrote: how to settle each request after COMMIT, the changes, the rows */
type Attempt = { settle: Array<() => void>; changes: BatchChanges; rows: number };
/** the batch's transaction as it goes, for #write's failure path: a failure after its COMMIT was
 * sent leaves the outcome open, asked of the server by the transaction's mark */
interface TxState {
  tx: Transaction | null;
  committing: boolean;
  attempt?: Attempt;
}

/** What a committed batch changed, for the change feed. */
export interface BatchChanges {
  /** the greatest job key committed queued, if any */
  lastQueued: number | null;
  /** tasks whose jobs changed state */
  tasks: Set<number>;
}

export class WriteBatch {
  readonly #pool: pg.Pool;
  readonly #clock: () => number;
  readonly #committed: (changes: BatchChanges) => void;
  readonly #onCommit: CommitObserver | null;
  #pending: Request[] = [];
  /** the batch being written, if any: the next starts when it ends */
  #writing: Promise<void> | null = null;
  #scheduled = false;
  /** set while audit entries wait for a batch to join (AUDIT_WAIT_MS) */
  #auditTimer: NodeJS.Timeout | null = null;
  #commits = 0;
  #rowsWritten = 0;
  /** set by drain() (the store closes): a cut-off COMMIT's outcome is read once more, not until told */
  #closing = false;
  /** this writer's row in write_marks, and the number of its last batch */
  readonly #writer = randomBytes(8).toString('hex');
  #marks = 0;
  #marked = false;

  constructor(pool: pg.Pool, clock: () => number, committed: (changes: BatchChanges) => void, onCommit: CommitObserver | null) {
    this.#pool = pool;
    this.#clock = clock;
    this.#committed = committed;
    this.#onCommit = onCommit;
  }

  createTask(task: NewTask): Promise<CreatedTask> {
    return new Promise((resolve, reject) => this.#add({ kind: 'create', task, rows: task.instanceIds.length + 1, resolve, reject }));
  }

  /** leaseOwner: the worker whose leases the jobs' instances must be (null: no leases) */
  markRunning(jobKeys: readonly number[], now: number, leaseOwner: string | null): Promise<number[]> {
    return new Promise((resolve, reject) => this.#add({ kind: 'running', jobKeys, now, leaseOwner, rows: jobKeys.length, resolve, reject }));
  }

  finishJobs(results: readonly JobResult[]): Promise<void> {
    return new Promise((resolve, reject) => this.#add({ kind: 'finish', results, rows: results.length, resolve, reject }));
  }

  /** Joins the next batch that has other writes, waiting at most AUDIT_WAIT_MS for one. */
  appendAudit(entry: AuditEntry): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ kind: 'audit', entry, rows: 1, resolve, reject });
      if (this.#writing !== null || this.#scheduled || this.#auditTimer !== null) return;
      this.#auditTimer = setTimeout(() => {
        this.#auditTimer = null;
        if (this.#writing === null && !this.#scheduled) this.#next();
      }, AUDIT_WAIT_MS);
      this.#auditTimer.unref();
    });
  }

  stats(): StoreStats {
    return { commits: this.#commits, rowsWritten: this.#rowsWritten };
  }

  /** Writes everything still queued (before close). */
  async drain(): Promise<void> {
    this.#closing = true;
    if (this.#auditTimer !== null) clearTimeout(this.#auditTimer);
    this.#auditTimer = null;
    while (this.#writing !== null || this.#pending.length > 0) {
      if (this.#writing === null) this.#next();
      await this.#writing;
    }
    if (this.#marked) await this.#pool.query(TxSql.forgetMark, [this.#writer]).catch(() => {});
  }

  #add(request: Request): void {
    this.#pending.push(request);
    if (this.#writing !== null || this.#scheduled) return;
    // The rest of this turn's requests join the batch.
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      if (this.#writing === null) this.#next();
    });
  }

  #next(): void {
    if (this.#pending.length === 0) return;
    let taken = 0;
    let rows = 0;
    for (const r of this.#pending) {
      if (taken > 0 && (taken === MAX_REQUESTS || rows + r.rows > MAX_ROWS)) break;
      taken++;
      rows += r.rows;
    }
    const batch = this.#pending.splice(0, taken);
    this.#writing = this.#write(batch).finally(() => {
      this.#writing = null;
      this.#next();
    });
  }

  async #write(batch: Request[]): Promise<void> {
    let client: pg.PoolClient | null = null;
    let began = 0;
    const at: TxState = { tx: null, committing: false };
    let done: Attempt;
    try {
      client = await this.#pool.connect();
      const c = client;
      if (!this.#marked) {
        await c.query(TxSql.createMark, [this.#writer]);
        this.#marked = true;
      }
      began = performance.now();
      // First without savepoints for the common submits; again with one for every request if one
      // of those failed (it aborted the transaction).
      done = (await this.#attempt(c, batch, true, at)) ?? (await this.#attempt(c, batch, false, at))!;
      client.release();
    } catch (err) {
      // BEGIN, a savepoint's own statements or COMMIT failed (connection lost, server gone, disk
      // full): nothing of the batch is stored, unless the COMMIT was cut off after it took effect.
      if (client !== null) await client.query(TxSql.rollback).catch(() => {});
      client?.release(true);
      const outcome = at.committing && at.tx !== null ? await this.#outcome(at.tx) : 'aborted';
      if (outcome !== 'committed') {
        const reason =
          outcome === 'aborted'
            ? err
            : new Error(`the connection was lost during COMMIT and the server could not be asked whether the transaction (${at.tx?.xid}) committed: ${(err as Error).message}`, {
                cause: err,
              });
        for (const r of batch) r.reject(reason);
        return;
      }
      // Committed after all: what the last attempt wrote stands.
      done = at.attempt!;
    }
    this.#commits++;
    this.#rowsWritten += done.rows;
    if (this.#onCommit !== null) {
      try {
        this.#onCommit((performance.now() - began) / 1000, done.rows);
      } catch {
        // A measuring bug must not keep the batch's callers from hearing that it committed.
      }
    }
    this.#committed(done.changes);
    for (const s of done.settle) s();
  }

  /**
   * One transaction of the batch, up to its COMMIT. bare: the common submits without a savepoint;
   * null when one of them failed (the transaction is rolled back: the caller tries again with
   * savepoints, which tell which request the database refused). at follows the transaction for
   * #write's failure path.
   */
  async #attempt(c: pg.PoolClient, batch: Request[], bare: boolean, at: TxState): Promise<Attempt | null> {
    const done: Attempt = { settle: [], changes: { lastQueued: null, tasks: new Set() }, rows: 0 };
    at.attempt = done;
    await c.query(TxSql.begin);
    const mark = ++this.#marks;
    at.tx = { mark, ...(await c.query<Omit<Transaction, 'mark'>>(named('tx-assign-xid', TxSql.assignXid, [this.#writer, mark]))).rows[0]! };
    await this.#lock(c, batch);
    const now = this.#clock();
    const audits: AuditRequest[] = [];
    for (const r of batch) {
      if (r.kind === 'audit') {
        audits.push(r);
        continue;
      }
      if (bare && r.kind === 'create') {
        let inserted: [() => void, number] | null;
        try {
          inserted = await this.#insert(c, r, now, done.changes);
        } catch {
          // A lost connection fails here and rejects the batch (in #write).
          await c.query(TxSql.rollback);
          at.tx = null;
          return null;
        }
        if (inserted !== null) {
          done.settle.push(inserted[0]);
          done.rows += inserted[1];
          continue;
        }
      }
      await c.query(TxSql.savepoint);
      try {
        const [settle, written] = await this.#one(c, r, now, done.changes);
        await c.query(TxSql.release);
        done.settle.push(settle);
        done.rows += written;
      } catch (err) {
        await c.query(TxSql.rollbackTo);
        await c.query(TxSql.release);
        done.settle.push(() => r.reject(err));
      }
    }
    if (audits.length > 0) done.rows += await this.#audit(c, audits, done.settle);
    at.committing = true;
    await c.query(TxSql.commit);
    return done;
  }

  /** The locks the batch's submits take first: their tenants (shared), request ids and uploads. */
  async #lock(c: pg.PoolClient, batch: Request[]): Promise<void> {
    const creates = batch.flatMap((r) => (r.kind === 'create' ? [r.task] : []));
    if (creates.length === 0) return;
    await c.query(named('tx-lock-tenants-shared', TxSql.lockTenantsShared, [[...new Set(creates.map((t) => t.tenantKey))]]));
    const requests = creates.filter((t) => t.requestId !== undefined);
    if (requests.length > 0) {
      await c.query(named('tx-lock-requests', TxSql.lockRequests, [requests.map((t) => t.tenantKey), requests.map((t) => t.requestId)]));
    }
    const uses = creates.filter((t) => artifactIdOf(t.op) !== null);
    if (uses.length > 0) await c.query(ArtifactSql.lockUses, [uses.map((t) => t.tenantKey), uses.map((t) => artifactIdOf(t.op))]);
  }

  /** Whether the transaction committed, read on another connection until the server answers
   * (while the store stays open; once when it closes): 'unknown' when it never did. */
  async #outcome(tx: Transaction): Promise<'committed' | 'aborted' | 'unknown'> {
    for (let wait = OUTCOME_RETRY_MS; ; wait = Math.min(wait * 2, OUTCOME_RETRY_CAP_MS)) {
      try {
        // Its backend may not have seen the connection go (a cut that sent no reset): ended, the
        // transaction ends now, and the read below waits for that, not for the server to notice.
        await this.#pool.query(TxSql.endTransaction, [tx.pid, String(BigInt(tx.xid) & 0xffffffffn)]);
        const mark = (await this.#pool.query<{ mark: number }>(TxSql.readMark, [this.#writer])).rows[0]?.mark;
        return mark === tx.mark ? 'committed' : 'aborted';
      } catch {
        // The server is restarting, or unreachable: ask again.
      }
      if (this.#closing) return 'unknown';
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  /** The batch's audit entries, one statement; if it fails, those requests fail alone. Returns the rows written. */
  async #audit(c: pg.PoolClient, audits: readonly AuditRequest[], settle: Array<() => void>): Promise<number> {
    await c.query(TxSql.savepoint);
    try {
      await appendAudit(c, audits.map((r) => r.entry));
      await c.query(TxSql.release);
    } catch (err) {
      await c.query(TxSql.rollbackTo);
      await c.query(TxSql.release);
      for (const r of audits) settle.push(() => r.reject(err));
      return 0;
    }
    for (const r of audits) settle.push(() => r.resolve());
    return audits.length;
  }

  /** A common submit without a savepoint (insertOwned): as #one, or null when it wrote nothing. */
  async #insert(c: pg.PoolClient, r: CreateRequest, now: number, changes: BatchChanges): Promise<[() => void, number] | null> {
    const done = await insertOwned(c, r.task, now);
    if (done === null) return null;
    const [created, lastKey] = done;
    changes.lastQueued = Math.max(changes.lastQueued ?? 0, lastKey);
    changes.tasks.add(created.taskKey);
    return [() => r.resolve(created), created.jobs.length + 1];
  }

  /** One request's writes: how to settle it after COMMIT, and the rows it changed. */
  async #one(c: pg.PoolClient, r: Request, now: number, changes: BatchChanges): Promise<[() => void, number]> {
    switch (r.kind) {
      case 'create': {
        const [created, lastKey] = await writeTask(c, r.task, now);
        if (lastKey !== null) {
          changes.lastQueued = Math.max(changes.lastQueued ?? 0, lastKey);
          changes.tasks.add(created.taskKey);
        }
        return [() => r.resolve(created), lastKey === null ? 0 : created.jobs.length + 1];
      }
      case 'running': {
        const moved = await markRunning(c, r.jobKeys, r.now, r.leaseOwner, changes.tasks);
        return [() => r.resolve(moved), moved.length];
      }
      case 'finish': {
        await finishJobs(c, r.results, changes.tasks);
        return [() => r.resolve(), r.results.length];
      }
      case 'audit':
        // Gathered by #write and appended together (#audit).
        throw new Error('an audit entry is not written alone');
    }
  }
}
