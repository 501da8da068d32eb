// createTask with group commit. Requests that arrive in the same tick (concurrent HTTP requests)
// are queued and written by one transaction on setImmediate: one WAL fsync for all of them instead
// of one each. Each request runs inside its own SAVEPOINT, so one that fails (an instance no longer
// the tenant's, say) is rolled back alone; every promise resolves only after COMMIT, so a resolved
// createTask is durable.
import type Database from 'better-sqlite3';
import { LIMITS, newHexId, newHexIds } from '../../core/index.js';
import type { LocalChangeFeed } from '../changes.js';
import { StoreError, StoreErrorCode, storeError } from '../errors.js';
import type { CreatedJob, CreatedTask, InstanceTarget, NewTask, QueuedJob } from '../types.js';
import type { StatementCache } from './db.js';
import type { FreshJobs } from './fresh-jobs.js';
import type { InstanceIndex } from './instance-index.js';
import { insertJobsSql } from './queue.sql.js';
import { TaskSql, type TaskRow } from './tasks.sql.js';

interface Pending {
  task: NewTask;
  resolve: (value: CreatedTask) => void;
  reject: (err: unknown) => void;
}

/** Cap on requests per transaction, so one burst does not hold the write lock for long. */
const MAX_BATCH = 128;

const TX = {
  begin: 'BEGIN IMMEDIATE',
  commit: 'COMMIT',
  rollback: 'ROLLBACK',
  savepoint: 'SAVEPOINT create_task',
  release: 'RELEASE create_task',
  rollbackTo: 'ROLLBACK TO create_task',
} as const;

export class TaskWriter {
  readonly #db: Database.Database;
  readonly #stmts: StatementCache;
  #pending: Pending[] = [];
  #scheduled = false;
  /** the job INSERT for n jobs, at index n (its SQL text is long; skip hashing it per call) */
  readonly #insertJobs: Database.Statement[] = [];

  readonly #clock: () => number;

  readonly #instances: InstanceIndex;
  readonly #fresh: FreshJobs;
  readonly #changes: LocalChangeFeed;

  constructor(
    db: Database.Database,
    stmts: StatementCache,
    clock: () => number,
    instances: InstanceIndex,
    fresh: FreshJobs,
    changes: LocalChangeFeed,
  ) {
    this.#instances = instances;
    this.#db = db;
    this.#stmts = stmts;
    this.#clock = clock;
    this.#fresh = fresh;
    this.#changes = changes;
  }

  submit(task: NewTask): Promise<CreatedTask> {
    return new Promise<CreatedTask>((resolve, reject) => {
      this.#pending.push({ task, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flushLoop());
      }
    });
  }

  /** Writes everything still queued (before close). */
  drain(): void {
    while (this.#pending.length > 0) this.#flushBatch();
  }

  #flushLoop(): void {
    this.#scheduled = false;
    this.#flushBatch();
    if (this.#pending.length > 0 && !this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#flushLoop());
    }
  }

  #flushBatch(): void {
    const batch = this.#pending.splice(0, MAX_BATCH);
    if (batch.length === 0) return;
    const outcomes: Array<{ ok: true; value: CreatedTask } | { ok: false; err: unknown }> = [];
    const queued: QueuedJob[][] = [];
    const s = this.#stmts;
    try {
      s.get(TX.begin).run();
      const now = this.#clock();
      for (const p of batch) {
        s.get(TX.savepoint).run();
        try {
          const [value, jobs] = this.#createOne(p.task, now);
          s.get(TX.release).run();
          outcomes.push({ ok: true, value });
          if (jobs !== null) queued.push(jobs);
        } catch (err) {
          s.get(TX.rollbackTo).run();
          s.get(TX.release).run();
          outcomes.push({ ok: false, err });
        }
      }
      s.get(TX.commit).run();
    } catch (err) {
      // BEGIN or COMMIT failed (busy past the timeout, disk full): nothing of the batch is stored.
      if (this.#db.inTransaction) s.get(TX.rollback).run();
      for (const p of batch) p.reject(err);
      return;
    }
    // Committed: the new jobs join the queue's tail, and a worker is told once for the batch.
    for (const jobs of queued) this.#fresh.committed(jobs);
    const last = queued.at(-1)?.at(-1);
    if (last !== undefined) this.#changes.queued(last.jobKey);
    batch.forEach((p, i) => {
      const o = outcomes[i];
      if (o === undefined) p.reject(new Error('createTask: missing outcome'));
      else if (o.ok) p.resolve(o.value);
      else p.reject(o.err);
    });
  }

  /** Writes one task; returns it with its new jobs as the worker reads them (null: a replay). */
  #createOne(task: NewTask, now: number): [CreatedTask, QueuedJob[] | null] {
    const s = this.#stmts;
    const n = task.instanceIds.length;
    if (n === 0) throw new StoreError(StoreErrorCode.InvalidArgument, 'a task needs at least one instance');

    if (task.requestId !== undefined) {
      const prev = s.get(TaskSql.byRequest).get(task.tenantKey, task.requestId) as
        | { id: number; requestHash: string | null; createdAt: number }
        | undefined;
      if (prev !== undefined) {
        if (prev.createdAt >= now - LIMITS.idempotencyWindowMs) {
          if ((prev.requestHash ?? '') !== (task.requestHash ?? '')) throw storeError.idempotencyConflict(task.requestId);
          return [this.#replay(prev.id), null];
        }
        s.get(TaskSql.releaseRequest).run(prev.id);
      }
    }

    // Checked again here, in the writing transaction: the API's check ran earlier and an admin may
    // have unassigned an instance since (the index changes with the instances table).
    const owned = new Map<string, InstanceTarget>();
    for (const t of this.#instances.owned(task.tenantKey, task.instanceIds)) owned.set(t.instanceId, t);
    const missing = task.instanceIds.filter((id) => !owned.has(id));
    if (missing.length > 0) {
      throw storeError.instanceNotOwned(missing);
    }

    const taskId = newHexId();
    const taskKey = Number(
      s
        .get(TaskSql.insert)
        .run(taskId, task.tenantKey, task.command, task.kind, task.timeoutMs, task.requestId ?? null, task.requestHash ?? null, now, n)
        .lastInsertRowid,
    );

    const ids = newHexIds(n);
    const params: Array<number | string> = new Array<number | string>(4 * n);
    const targets: InstanceTarget[] = new Array<InstanceTarget>(n);
    for (let i = 0; i < n; i++) {
      const t = owned.get(task.instanceIds[i] as string) as InstanceTarget;
      targets[i] = t;
      params[4 * i] = taskKey;
      params[4 * i + 1] = t.instanceKey;
      params[4 * i + 2] = ids[i] as string;
      params[4 * i + 3] = now;
    }
    let insertJobs = this.#insertJobs[n];
    if (insertJobs === undefined) this.#insertJobs[n] = insertJobs = s.get(insertJobsSql(n));
    const lastKey = Number(insertJobs.run(...params).lastInsertRowid);
    // One INSERT under the single writer: the keys are lastKey-n+1 .. lastKey, in request order.
    const firstKey = lastKey - n + 1;
    s.get(TaskSql.setJobFirst).run(firstKey, taskKey);

    // Each job is built once, as the worker will read it; the caller sees its CreatedJob part.
    const jobs: QueuedJob[] = new Array<QueuedJob>(n);
    for (let i = 0; i < n; i++) {
      const t = targets[i]!;
      jobs[i] = {
        jobKey: firstKey + i,
        jobId: ids[i] as string,
        taskKey,
        taskId,
        tenantKey: task.tenantKey,
        command: task.command,
        timeoutMs: task.timeoutMs,
        instanceKey: t.instanceKey,
        instanceId: t.instanceId,
        adbAddress: t.adbAddress,
        createdAt: now,
      };
    }
    return [{ taskKey, taskId, command: task.command, timeoutMs: task.timeoutMs, createdAt: now, jobs, replayed: false }, jobs];
  }

  #replay(taskKey: number): CreatedTask {
    const s = this.#stmts;
    const t = s.get(TaskSql.byKey).get(taskKey) as TaskRow;
    const jobs = s.get(TaskSql.createdJobs).all(t.jobFirst, t.jobFirst + t.jobCount - 1) as CreatedJob[];
    return { taskKey: t.id, taskId: t.taskId, command: t.command, timeoutMs: t.timeoutMs, createdAt: t.createdAt, jobs, replayed: true };
  }
}
