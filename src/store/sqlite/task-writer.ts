// createTask's writes: one task row and its jobs (one multi-row INSERT), after the idempotency
// and ownership checks. It runs inside the shared write batch (write-batch.ts), which owns the
// transaction, the SAVEPOINT that lets a failing request roll back alone, and the commit.
import type Database from 'better-sqlite3';
import { LIMITS, newHexIds, newTaskId, type TaskOp } from '../../core/index.js';
import { artifactIdOf } from '../blobs.js';
import { StoreError, StoreErrorCode, storeError } from '../errors.js';
import type { CreatedTask, InstanceTarget, NewTask, QueuedJob } from '../types.js';
import { ArtifactSql } from './artifacts.sql.js';
import type { StatementCache } from './db.js';
import type { InstanceIndex } from './instance-index.js';
import { insertJobsSql } from './queue.sql.js';
import { TaskSql } from './tasks.sql.js';
import { replay, requestOf } from './tasks.js';

export class TaskWriter {
  readonly #stmts: StatementCache;
  /** the job INSERT for n jobs, at index n (its SQL text is long; skip hashing it per call) */
  readonly #insertJobs: Database.Statement[] = [];
  readonly #instances: InstanceIndex;

  constructor(stmts: StatementCache, instances: InstanceIndex) {
    this.#stmts = stmts;
    this.#instances = instances;
  }

  /** Writes one task; returns it with its new jobs as the worker reads them (null: a replay). */
  create(task: NewTask, now: number): [CreatedTask, QueuedJob[] | null] {
    const s = this.#stmts;
    const n = task.instanceIds.length;
    if (n === 0) throw new StoreError(StoreErrorCode.InvalidArgument, 'a task needs at least one instance');

    if (task.requestId !== undefined) {
      const prev = requestOf(s, task.tenantKey, task.requestId);
      if (prev !== undefined) {
        if (prev.createdAt >= now - LIMITS.idempotencyWindowMs) return [replay(s, prev, task.requestId, task.requestHash ?? ''), null];
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

    // A shell command (the common case) costs one comparison here, and its insert is unchanged.
    let op: TaskOp | null = null;
    let opJson: string | null = null;
    let artifactKey: number | null = null;
    if (task.op !== undefined) {
      opJson = JSON.stringify(task.op);
      // The worker's copy is the stored JSON read back, as a read of the table would give it.
      op = JSON.parse(opJson) as TaskOp;
      const artifactId = artifactIdOf(task.op);
      if (artifactId !== null) {
        const row = s.get(ArtifactSql.use).get(now, artifactId, task.tenantKey) as { id: number } | undefined;
        if (row === undefined) throw storeError.noArtifact(artifactId);
        artifactKey = row.id;
      }
    }

    const taskId = newTaskId(op);
    const requestId = task.requestId ?? null;
    const requestHash = task.requestHash ?? null;
    const inserted =
      opJson === null
        ? s.get(TaskSql.insert).run(taskId, task.tenantKey, task.command, task.kind, task.timeoutMs, requestId, requestHash, now, n)
        : s.get(TaskSql.insertOp).run(taskId, task.tenantKey, task.command, task.kind, task.timeoutMs, requestId, requestHash, now, n, opJson, artifactKey);
    const taskKey = Number(inserted.lastInsertRowid);

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
        op,
        timeoutMs: task.timeoutMs,
        instanceKey: t.instanceKey,
        instanceId: t.instanceId,
        adbAddress: t.adbAddress,
        createdAt: now,
      };
    }
    return [{ taskKey, taskId, command: task.command, timeoutMs: task.timeoutMs, createdAt: now, jobs, replayed: false }, jobs];
  }
}
