// One write transaction per turn of the event loop. createTask (the API's submits), markRunning
// and finishJobs (the worker's transitions) called in the same turn are queued and written
// together on setImmediate: one COMMIT, so one WAL fsync under FULL, where each used to pay its
// own. appendAudit (the API's record of each state-changing request) joins the next such batch
// (AUDIT_WAIT_MS below). Each request but an audit entry (one INSERT, atomic by itself) runs
// inside its own SAVEPOINT, so one that fails (an instance no longer the tenant's, a result that
// is not final) is rolled back alone. Every promise settles only after COMMIT: a resolved
// createTask is durable, and a resolved markRunning is durable before the worker sends a command
// (at most once rests on it). A COMMIT that fails (a full disk) rejects every request of the
// batch, and the ROLLBACK leaves nothing of it written. The change feed and the queue's in-memory
// tail hear of a batch only once it has committed.
import type Database from 'better-sqlite3';
import type { LocalChangeFeed } from '../changes.js';
import type { AuditEntry, CommitObserver, CreatedTask, JobResult, NewTask, QueuedJob, StoreStats } from '../types.js';
import type { AuditLog } from './audit.js';
import type { StatementCache } from './db.js';
import type { FreshJobs } from './fresh-jobs.js';
import type { Queue } from './queue.js';
import type { TaskWriter } from './task-writer.js';
import { TxSql } from './tx.sql.js';

// Bounds of one batch: it stops taking requests once it holds MAX_REQUESTS of them, or MAX_ROWS
// rows (a task's jobs, the keys to mark, the results), or has worked MAX_MS; what is left waits for
// the next turn. The write lock is held, and the event loop blocked, for the batch's work plus its
// fsync, so a burst (50 submits of 100 jobs arrive in one turn: ~18 ms of inserts) is cut into
// commits of a few milliseconds, between which the loop serves sockets and timers. The time bound
// is not smaller because each commit costs an fsync that blocks the loop too (~0.9 ms on the
// reference machine's disk): 8 ms of work per commit keeps that near a tenth of the writing, 4 ms
// would make it a fifth. The row bound keeps one transaction's dirty pages (~100 B a job) to a few
// MiB of page cache and WAL. A single request larger than a bound still goes whole, alone: a
// request is atomic.
const MAX_REQUESTS = 256;
const MAX_ROWS = 20_000;
const MAX_MS = 8;
// An audit entry is recorded once its request is answered, a turn after the request's own writes:
// committed alone it would cost a commit and an fsync per turn, which took a fifth of the submit
// rate. It rides along with the next batch that has other writes, and waits at most this long for
// one (a quiet service commits it alone then).
const AUDIT_WAIT_MS = 50;

type Reject = (err: unknown) => void;

type Request =
  | { kind: 'create'; task: NewTask; rows: number; resolve: (value: CreatedTask) => void; reject: Reject }
  | { kind: 'running'; jobKeys: readonly number[]; now: number; rows: number; resolve: (moved: number[]) => void; reject: Reject }
  | { kind: 'finish'; results: readonly JobResult[]; rows: number; resolve: () => void; reject: Reject }
  | { kind: 'audit'; entry: AuditEntry; rows: 1; resolve: () => void; reject: Reject };

/** What a request wrote, kept until COMMIT says whether to tell anyone. */
interface Written {
  /** resolves (or rejects) the caller: after COMMIT */
  settle: () => void;
  /** jobs it committed queued, as the worker reads them */
  queued: QueuedJob[] | null;
  /** jobs that left the queue (running, or final without running) */
  left: readonly number[];
}

const NONE: readonly number[] = [];

export class WriteBatch {
  readonly #db: Database.Database;
  readonly #stmts: StatementCache;
  readonly #clock: () => number;
  readonly #tasks: TaskWriter;
  readonly #queue: Queue;
  readonly #fresh: FreshJobs;
  readonly #changes: LocalChangeFeed;
  readonly #onCommit: CommitObserver | null;
  readonly #audit: AuditLog;
  #pending: Request[] = [];
  #scheduled = false;
  /** set while audit entries wait for a batch to join (AUDIT_WAIT_MS) */
  #auditTimer: NodeJS.Timeout | null = null;
  #commits = 0;
  #rowsWritten = 0;

  constructor(
    db: Database.Database,
    stmts: StatementCache,
    clock: () => number,
    parts: { tasks: TaskWriter; queue: Queue; fresh: FreshJobs; changes: LocalChangeFeed; onCommit: CommitObserver | null; audit: AuditLog },
  ) {
    this.#db = db;
    this.#stmts = stmts;
    this.#clock = clock;
    this.#tasks = parts.tasks;
    this.#queue = parts.queue;
    this.#fresh = parts.fresh;
    this.#changes = parts.changes;
    this.#onCommit = parts.onCommit;
    this.#audit = parts.audit;
  }

  createTask(task: NewTask): Promise<CreatedTask> {
    return new Promise((resolve, reject) => this.#add({ kind: 'create', task, rows: task.instanceIds.length + 1, resolve, reject }));
  }

  markRunning(jobKeys: readonly number[], now: number): Promise<number[]> {
    return new Promise((resolve, reject) => this.#add({ kind: 'running', jobKeys, now, rows: jobKeys.length, resolve, reject }));
  }

  finishJobs(results: readonly JobResult[]): Promise<void> {
    return new Promise((resolve, reject) => this.#add({ kind: 'finish', results, rows: results.length, resolve, reject }));
  }

  appendAudit(entry: AuditEntry): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ kind: 'audit', entry, rows: 1, resolve, reject });
      if (this.#scheduled || this.#auditTimer !== null) return;
      this.#auditTimer = setTimeout(() => {
        this.#auditTimer = null;
        this.#schedule();
      }, AUDIT_WAIT_MS);
    });
  }

  stats(): StoreStats {
    return { commits: this.#commits, rowsWritten: this.#rowsWritten };
  }

  /** Writes everything still queued (before close). */
  drain(): void {
    while (this.#pending.length > 0) this.#flush();
  }

  #add(request: Request): void {
    this.#pending.push(request);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flush();
      if (this.#pending.length > 0) this.#schedule();
    });
  }

  #flush(): void {
    if (this.#auditTimer !== null) {
      clearTimeout(this.#auditTimer);
      this.#auditTimer = null;
    }
    if (this.#pending.length === 0) return;
    const s = this.#stmts;
    const written: Written[] = [];
    const tasks = this.#changes.watchingAny ? new Set<number>() : null;
    let taken = 0;
    // Audit entries do not count against MAX_REQUESTS: they are one small row each, and savepoint-free.
    let requests = 0;
    let rowsWritten = 0;
    const began = performance.now();
    try {
      s.get(TxSql.begin).run();
      const started = performance.now();
      const now = this.#clock();
      const changes = s.get(TxSql.totalChanges);
      let before = (changes.get() as { n: number }).n;
      let rows = 0;
      for (const r of this.#pending) {
        if (taken > 0 && (requests === MAX_REQUESTS || rows + r.rows > MAX_ROWS || performance.now() - started >= MAX_MS)) break;
        taken++;
        rows += r.rows;
        if (r.kind === 'audit') {
          // One INSERT is atomic by itself: no savepoint. One SQLite answers by ending the whole
          // transaction (a full disk) fails the batch, as below.
          try {
            this.#audit.append(r.entry);
            written.push({ settle: () => r.resolve(), queued: null, left: NONE });
            rowsWritten += 1;
            before += 1;
          } catch (err) {
            if (!this.#db.inTransaction) throw err;
            written.push({ settle: () => r.reject(err), queued: null, left: NONE });
          }
          continue;
        }
        requests++;
        s.get(TxSql.savepoint).run();
        let w: Written;
        try {
          w = this.#write(r, now, tasks);
          s.get(TxSql.release).run();
        } catch (err) {
          // SQLite ended the whole transaction (a full disk, an I/O error): its savepoint is gone
          // too, and the batch fails with this error, not with ROLLBACK TO's "no such savepoint".
          if (!this.#db.inTransaction) throw err;
          s.get(TxSql.rollbackTo).run();
          s.get(TxSql.release).run();
          w = { settle: () => r.reject(err), queued: null, left: NONE };
          // SQLite counts the rows of a request rolled back to its savepoint all the same: not here.
          before = (changes.get() as { n: number }).n;
        }
        written.push(w);
        const after = (changes.get() as { n: number }).n;
        rowsWritten += after - before;
        before = after;
      }
      s.get(TxSql.commit).run();
    } catch (err) {
      // BEGIN or COMMIT failed (busy past the timeout, disk full), or a failure SQLite answers by
      // rolling the whole transaction back: nothing of the batch is stored.
      if (this.#db.inTransaction) s.get(TxSql.rollback).run();
      for (const r of this.#pending.splice(0, taken > 0 ? taken : MAX_REQUESTS)) r.reject(err);
      return;
    }
    this.#pending.splice(0, taken);
    this.#commits++;
    this.#rowsWritten += rowsWritten;
    if (this.#onCommit !== null) {
      try {
        this.#onCommit((performance.now() - began) / 1000, rowsWritten);
      } catch {
        // A measuring bug must not keep the batch's callers from hearing that it committed.
      }
    }
    // The queue's tail, then the change feed (one notice of each kind per batch), then the callers.
    let lastQueued: number | undefined;
    for (const w of written) {
      if (w.queued !== null) {
        this.#fresh.committed(w.queued);
        lastQueued = w.queued.at(-1)?.jobKey ?? lastQueued;
      }
      for (const key of w.left) this.#fresh.left(key);
    }
    if (lastQueued !== undefined) this.#changes.queued(lastQueued);
    if (tasks !== null && tasks.size > 0) this.#changes.taskChanged(tasks);
    for (const w of written) w.settle();
  }

  #write(r: Exclude<Request, { kind: 'audit' }>, now: number, tasks: Set<number> | null): Written {
    switch (r.kind) {
      case 'create': {
        const [created, queued] = this.#tasks.create(r.task, now);
        return { settle: () => r.resolve(created), queued, left: NONE };
      }
      case 'running': {
        const moved = this.#queue.markRunning(r.jobKeys, r.now, tasks);
        return { settle: () => r.resolve(moved), queued: null, left: moved };
      }
      case 'finish': {
        const left = this.#queue.finishJobs(r.results, tasks);
        return { settle: () => r.resolve(), queued: null, left };
      }
    }
  }
}
