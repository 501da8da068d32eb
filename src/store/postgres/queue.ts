// The jobs table as the worker's queue on PostgreSQL: the worker's transitions (inside the shared
// write batch, which owns their transaction), cancel, interrupt and purge (one transaction each).
// Each returns what it wrote, with the tasks it changed, for the change feed.
import type pg from 'pg';
import { canTransition, isFinal, JOB_CODES, JobCode, JobState, jobMessage } from '../../core/index.js';
import { checkFile } from '../blobs.js';
import { StoreError, StoreErrorCode } from '../errors.js';
import type { JobResult, QueuedJob } from '../types.js';
import { inTransaction, named, type Queryable } from './db.js';
import { QueueSql } from './queue.sql.js';
import { TaskSql, type TaskRow } from './tasks.sql.js';

const EMPTY = Buffer.alloc(0);

type Moved = { id: number; task: number };

/** The jobs among these keys still queued, in key order: one primary-key probe each. */
export async function queuedJobsIn(pool: pg.Pool, jobKeys: readonly number[]): Promise<QueuedJob[]> {
  if (jobKeys.length === 0) return [];
  return (await pool.query<QueuedJob>(named('queue-queued-in', QueueSql.queuedIn, [jobKeys]))).rows;
}

/** queued -> running, one statement; the keys that moved, in the order asked. With a lease owner,
 * only jobs of instances it holds move. */
export async function markRunning(
  c: Queryable,
  jobKeys: readonly number[],
  now: number,
  leaseOwner: string | null,
  tasks: Set<number>,
): Promise<number[]> {
  const rows = (
    await (leaseOwner === null ? c.query<Moved>(named('queue-mark-running', QueueSql.markRunning, [jobKeys, now]))
        : c.query<Moved>(named('queue-mark-running-leased', QueueSql.markRunningLeased, [jobKeys, now, leaseOwner])))
  ).rows;
  const moved = new Set<number>();
  for (const r of rows) {
    moved.add(r.id);
    tasks.add(r.task);
  }
  return jobKeys.filter((k) => moved.has(k));
}

/** Every result is checked before anything is written; a job already final keeps its first result. */
export async function finishJobs(c: Queryable, results: readonly JobResult[], tasks: Set<number>): Promise<void> {
  for (const r of results) checkResult(r);
  const fromRunning = await finish(c, results, JobState.Running);
  // Not running: those a queued job may end with without running (unreachable, cancelled, ...).
  const rest = results.filter((r) => !fromRunning.has(r.jobKey) && canTransition(JobState.Queued, r.state));
  const fromQueued = rest.length > 0 ? await finish(c, rest, JobState.Queued) : new Map<number, number>();
  const written = (r: JobResult) => fromRunning.has(r.jobKey) || fromQueued.has(r.jobKey);
  for (const t of fromRunning.values()) tasks.add(t);
  for (const t of fromQueued.values()) tasks.add(t);
  await insertArtifacts(c, results.filter((r) => r.artifact !== undefined && r.artifact !== null && written(r)));
}

/** The files these jobs produced (their results were written), one statement. */
async function insertArtifacts(c: Queryable, results: readonly JobResult[]): Promise<void> {
  if (results.length === 0) return;
  const files = results.map((r) => r.artifact!);
  await c.query(QueueSql.insertJobArtifacts, [results.map((r) => r.jobKey), files.map((a) => a.sha256), files.map((a) => a.size), files.map((a) => a.contentType)]);
}

/** The results, and the outputs of those written, for jobs still in state `from`, in one
 * statement: job key -> task key of each written. */
async function finish(c: Queryable, results: readonly JobResult[], from: JobState): Promise<Map<number, number>> {
  const outputs = results.filter((r) => r.output !== null && r.output.combined.length > 0);
  // stdout and stderr partition combined: when one is empty the other IS combined, and is stored
  // as NULL ("same as combined") rather than a second copy of up to 1 MiB.
  const stdout: Array<Buffer | null> = [];
  const stderr: Array<Buffer | null> = [];
  for (const r of outputs) {
    const o = r.output!;
    const [out, err] = o.stderr.length === 0 ? [null, EMPTY] : o.stdout.length === 0 ? [EMPTY, null] : [o.stdout, o.stderr];
    stdout.push(out);
    stderr.push(err);
  }
  const values = [
    results.map((r) => r.jobKey),
    results.map((r) => r.state),
    results.map((r) => r.errorCode),
    results.map((r) => r.errorMsg),
    results.map((r) => r.exitCode),
    results.map((r) => r.executeMsg),
    results.map((r) => r.outputBytes),
    results.map((r) => r.outputTruncated),
    results.map((r) => r.finishedAt),
    from,
    outputs.map((r) => r.jobKey),
    stdout,
    stderr,
    outputs.map((r) => r.output!.combined),
  ];
  const rows = (await c.query<Moved>(named('queue-finish', QueueSql.finish, values))).rows;
  return new Map(rows.map((r) => [r.id, r.task]));
}

function checkResult(r: JobResult): void {
  const code = JOB_CODES[r.errorCode] as (typeof JOB_CODES)[JobCode] | undefined;
  if (!isFinal(r.state) || code === undefined || code.state !== r.state) {
    throw new StoreError(StoreErrorCode.InvalidArgument, `job ${r.jobKey}: result ${r.state}/${r.errorCode} is not a final state with its code`);
  }
  if (r.artifact !== undefined && r.artifact !== null) checkFile(`job ${r.jobKey}: artifact`, r.artifact);
}

export async function cancelTask(
  pool: pg.Pool,
  tenantKey: number,
  taskId: string,
  now: number,
): Promise<{ taskKey: number; cancelledQueued: number[]; running: number[] } | null> {
  return inTransaction(pool, async (c) => {
    const t = (await c.query<TaskRow>(TaskSql.byPublicId, [taskId, tenantKey])).rows[0];
    if (t === undefined) return null;
    const last = t.jobFirst + t.jobCount - 1;
    const cancelled = (await c.query<{ id: number }>(QueueSql.cancelQueued, [now, t.jobFirst, last, t.id])).rows;
    const running = (await c.query<{ id: number }>(QueueSql.requestCancelRunning, [t.jobFirst, last, t.id, now])).rows;
    return {
      taskKey: t.id,
      cancelledQueued: cancelled.map((r) => r.id).sort((a, b) => a - b),
      running: running.map((r) => r.id).sort((a, b) => a - b),
    };
  });
}

/** The jobs failed, with their tasks. */
export async function interruptRunning(pool: pg.Pool, now: number): Promise<Moved[]> {
  return (await pool.query<Moved>(QueueSql.interruptRunning, [jobMessage(JobCode.Interrupted, null), now])).rows;
}

/** Deletes up to batchSize finished tasks created before `before`; returns their keys. */
export async function purgeTasks(pool: pg.Pool, before: number, batchSize: number): Promise<number[]> {
  checkBatchSize(batchSize);
  return inTransaction(pool, async (c) => {
    const victims = (await c.query<{ id: number; jobFirst: number; jobCount: number }>(QueueSql.purgeCandidates, [before, batchSize])).rows;
    if (victims.length === 0) return [];
    const firsts = victims.map((v) => v.jobFirst);
    const lasts = victims.map((v) => v.jobFirst + v.jobCount - 1);
    const keys = victims.map((v) => v.id);
    await c.query(QueueSql.purgeOutputs, [firsts, lasts]);
    await c.query(QueueSql.purgeJobArtifacts, [firsts, lasts]);
    await c.query(QueueSql.purgeJobs, [firsts, lasts, keys]);
    await c.query(QueueSql.purgeTasks, [keys]);
    return keys;
  });
}

export function checkBatchSize(batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new StoreError(StoreErrorCode.InvalidArgument, 'batchSize must be a positive integer');
}
