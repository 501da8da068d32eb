// createTask's writes on PostgreSQL, inside the shared write batch's transaction (write-batch.ts).
// The common submit is one statement (insertOwned: ownership, request id and the insert, under the
// tenant's lock the batch took), with no SAVEPOINT: it writes all or nothing and fails only if the
// database does. Anything else takes writeTask, in the request's SAVEPOINT: the idempotency
// lookup, the ownership check (one indexed query), then the task and its jobs in one statement.
//
// Idempotency across processes: UNIQUE (tenant, request_id). Two nodes inserting the same request
// id at once: the second INSERT waits on the unique index for the first to commit, then ON
// CONFLICT inserts nothing, and the winner, committed by then, is read back and replayed (or, with
// another body, refused). Within one node the batch's earlier insert is visible to the lookup.
import { LIMITS, newHexIds, newTaskId } from '../../core/index.js';
import { artifactIdOf } from '../blobs.js';
import { StoreError, StoreErrorCode, storeError } from '../errors.js';
import type { CreatedJob, CreatedTask, NewTask } from '../types.js';
import { ArtifactSql } from './artifacts.sql.js';
import type { Queryable } from './db.js';
import { JOB_KEY_BLOCK } from './migrations.js';
import { owned } from './registry.js';
import { TaskSql } from './tasks.sql.js';
import { replay, requestOf, type RequestRow } from './tasks.js';

/**
 * The common submit, one statement that cannot fail for the caller's reason (TaskSql.insertOwned):
 * the task and its jobs when all its instances are the tenant's and its request id is unused.
 * Null when it wrote nothing: anything else (a replay, a conflict, instances not owned, an expired
 * request id, an upload, a lost ON CONFLICT race, a bad size) is writeTask's, run after it.
 */
export async function insertOwned(c: Queryable, task: NewTask, now: number): Promise<[CreatedTask, number] | null> {
  const n = task.instanceIds.length;
  if (n === 0 || n > JOB_KEY_BLOCK || artifactIdOf(task.op) !== null) return null;
  const taskId = newTaskId(task.op);
  const ids = newHexIds(n);
  const values = taskValues(task, taskId, now, task.instanceIds, ids);
  // Named: prepared once per connection, then neither parsed nor planned again (the statement is
  // the largest the batch sends, and sent for nearly every task).
  const row = (await c.query<{ id: number; jobFirst: number }>({ name: 'tasks-insert-owned', text: TaskSql.insertOwned, values })).rows[0];
  if (row === undefined) return null;
  return written(task, taskId, ids, task.instanceIds, row, now);
}

/** $1-$11 of TaskSql.insert and insertOwned: the task, its instances (keys or, for insertOwned,
 * ids) and its jobs' ids in request order, its operation as JSON. */
function taskValues(task: NewTask, taskId: string, now: number, instances: readonly (number | string)[], jobIds: readonly string[]): unknown[] {
  const op = task.op === undefined ? null : JSON.stringify(task.op);
  return [taskId, task.tenantKey, task.command, task.kind, task.timeoutMs, task.requestId ?? null, task.requestHash ?? null, now, instances, jobIds, op];
}

/** The task as written: its jobs' keys follow job_first in request order. Returns it and its last job key. */
function written(
  task: NewTask,
  taskId: string,
  ids: readonly string[],
  instanceIds: readonly string[],
  row: { id: number; jobFirst: number },
  now: number,
): [CreatedTask, number] {
  const jobs: CreatedJob[] = instanceIds.map((instanceId, i) => ({ jobKey: row.jobFirst + i, jobId: ids[i] as string, instanceId }));
  const created: CreatedTask = { taskKey: row.id, taskId, command: task.command, timeoutMs: task.timeoutMs, createdAt: now, jobs, replayed: false };
  return [created, row.jobFirst + instanceIds.length - 1];
}

/** Writes one task; returns it, and the last job key it queued (null: a replay). */
export async function writeTask(c: Queryable, task: NewTask, now: number): Promise<[CreatedTask, number | null]> {
  const n = task.instanceIds.length;
  if (n === 0) throw new StoreError(StoreErrorCode.InvalidArgument, 'a task needs at least one instance');
  if (n > JOB_KEY_BLOCK) {
    throw new StoreError(StoreErrorCode.InvalidArgument, `a task names at most ${JOB_KEY_BLOCK} instances on PostgreSQL, got ${n}`);
  }
  if (task.requestId !== undefined) {
    const prev = await requestOf(c, task.tenantKey, task.requestId);
    if (prev !== undefined) {
      if (prev.createdAt >= now - LIMITS.idempotencyWindowMs) return [await replayIn(c, task, prev), null];
      await c.query(TaskSql.releaseRequest, [prev.id]);
    }
  }

  const targets = await owned(c, task.tenantKey, task.instanceIds);
  if (targets.length !== n) {
    const have = new Set(targets.map((t) => t.instanceId));
    throw storeError.instanceNotOwned(task.instanceIds.filter((id) => !have.has(id)));
  }

  // An upload the task names: resolved (and locked, and its retention restarted) before the task
  // is written, which a purge holding it first makes NO_ARTIFACT (artifacts.sql.ts).
  const artifactId = artifactIdOf(task.op);
  let artifactKey: number | null = null;
  if (artifactId !== null) {
    const found = (await c.query<{ id: number }>(ArtifactSql.use, [now, artifactId, task.tenantKey])).rows[0];
    if (found === undefined) throw storeError.noArtifact(artifactId);
    artifactKey = found.id;
  }

  const taskId = newTaskId(task.op);
  const ids = newHexIds(n);
  const values = [...taskValues(task, taskId, now, targets.map((t) => t.instanceKey), ids), artifactKey];
  const row = (await c.query<{ id: number; jobFirst: number }>(TaskSql.insert, values)).rows[0];
  if (row === undefined) {
    // Another connection committed this request id first (ON CONFLICT waited for it).
    const winner = await requestOf(c, task.tenantKey, task.requestId);
    if (winner === undefined) throw new Error(`request id ${task.requestId ?? ''}: conflicting task not found after the insert yielded`);
    return [await replayIn(c, task, winner), null];
  }
  return written(task, taskId, ids, task.instanceIds, row, now);
}

/** replay inside the writing transaction, under the request's lock: the task is there. */
async function replayIn(c: Queryable, task: NewTask, prev: RequestRow): Promise<CreatedTask> {
  const created = await replay(c, prev, task.requestId ?? '', task.requestHash ?? '');
  if (created === null) throw new Error(`request id ${task.requestId ?? ''}: its task ${prev.id} is gone while its request is locked`);
  return created;
}
