// Tasks as the API reads them on PostgreSQL: one task with its jobs, a tenant's tasks page by
// page (their state counts in one query per page), one job's output. (createTask writes through
// task-writer.ts, inside the shared write batch of write-batch.ts.)
import type pg from 'pg';
import { JOB_STATES, LIMITS, type JobState } from '../../core/index.js';
import { cutPage, pageBefore } from '../cursor.js';
import { storeError } from '../errors.js';
import type { CreatedJob, CreatedTask, JobArtifact, JobOutput, JobView, TaskSummary, TaskView } from '../types.js';
import type { Queryable } from './db.js';
import { TaskSql, type TaskRow } from './tasks.sql.js';

type JobRow = Omit<JobView, 'errorCode'> & { errorCode: string };

type OutputRow = {
  exitCode: number | null;
  outputBytes: number;
  outputTruncated: boolean;
  stdout: Buffer | null;
  stderr: Buffer | null;
  combined: Buffer | null;
};

const EMPTY = Buffer.alloc(0);

/** The task of the tenant holding a request id. */
export type RequestRow = { id: number; requestHash: string | null; createdAt: number };

export async function requestOf(c: Queryable, tenantKey: number, requestId: string | undefined): Promise<RequestRow | undefined> {
  return (await c.query<RequestRow>(TaskSql.byRequest, [tenantKey, requestId])).rows[0];
}

/** The task a request made, as createTask answered it, again (replayed); another body is a
 * conflict. Null when the task is gone (purged since prev was read). */
export async function replay(c: Queryable, prev: RequestRow, requestId: string, requestHash: string): Promise<CreatedTask | null> {
  if ((prev.requestHash ?? '') !== requestHash) throw storeError.idempotencyConflict(requestId);
  const t = (await c.query<TaskRow>(TaskSql.byKey, [prev.id])).rows[0];
  if (t === undefined) return null;
  const jobs = (await c.query<CreatedJob>(TaskSql.createdJobs, [t.jobFirst, t.jobFirst + t.jobCount - 1])).rows;
  return { taskKey: t.id, taskId: t.taskId, command: t.command, timeoutMs: t.timeoutMs, createdAt: t.createdAt, jobs, replayed: true };
}

export class Tasks {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async getTask(tenantKey: number, taskId: string): Promise<TaskView | null> {
    const t = (await this.#pool.query<TaskRow>(TaskSql.byPublicId, [taskId, tenantKey])).rows[0];
    if (t === undefined) return null;
    const rows = (await this.#pool.query<JobRow>(TaskSql.jobViews, [t.jobFirst, t.jobFirst + t.jobCount - 1])).rows;
    return {
      taskKey: t.id,
      taskId: t.taskId,
      command: t.command,
      kind: t.kind,
      op: t.op,
      timeoutMs: t.timeoutMs,
      createdAt: t.createdAt,
      jobs: rows.map(toJobView),
    };
  }

  async advancedJobs(taskKey: number, fromJobKey: number, seen: string): Promise<JobView[] | null> {
    if ((await this.#pool.query(TaskSql.exists, [taskKey])).rowCount === 0) return null;
    if (seen.length === 0) return [];
    const rows = (await this.#pool.query<JobRow>(TaskSql.jobViewsAdvanced, [fromJobKey, fromJobKey + seen.length - 1, seen])).rows;
    return rows.map(toJobView);
  }

  async listTasks(tenantKey: number, limit: number, cursor: string | null): Promise<{ tasks: TaskSummary[]; nextCursor: string | null }> {
    const before = pageBefore(limit, cursor);
    const rows = (
      await this.#pool.query<Pick<TaskRow, 'id' | 'taskId' | 'command' | 'createdAt' | 'jobFirst' | 'jobCount'>>(TaskSql.listPage, [
        tenantKey,
        before,
        limit + 1,
      ])
    ).rows;
    const { page, nextCursor } = cutPage(rows, limit);
    const counts = page.map(() => Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>);
    if (page.length > 0) {
      const firsts = page.map((t) => t.jobFirst);
      const lasts = page.map((t) => t.jobFirst + t.jobCount - 1);
      const r = await this.#pool.query<{ n: number; state: JobState; count: number }>(TaskSql.stateCounts, [firsts, lasts]);
      for (const c of r.rows) counts[c.n - 1]![c.state] = c.count;
    }
    const tasks = page.map((t, i): TaskSummary => ({ taskId: t.taskId, command: t.command, createdAt: t.createdAt, counts: counts[i]! }));
    return { tasks, nextCursor };
  }

  async getJobOutput(tenantKey: number, taskId: string, jobId: string): Promise<JobOutput | null> {
    const row = (await this.#pool.query<OutputRow>(TaskSql.jobOutput, [taskId, tenantKey, jobId])).rows[0];
    if (row === undefined) return null;
    // No row: no output. NULL stdout or stderr: the same bytes as combined (see queue.ts).
    const combined = row.combined ?? EMPTY;
    return {
      stdout: row.stdout ?? combined,
      stderr: row.stderr ?? combined,
      combined,
      exitCode: row.exitCode,
      outputBytes: row.outputBytes,
      outputTruncated: row.outputTruncated,
    };
  }

  /** createTask's idempotency lookup (task-writer.ts), read only. */
  async findRequest(tenantKey: number, requestId: string, requestHash: string, now: number): Promise<CreatedTask | null> {
    const prev = await requestOf(this.#pool, tenantKey, requestId);
    // Purged between the reads (replay's null): as if there had been none.
    return prev !== undefined && prev.createdAt >= now - LIMITS.idempotencyWindowMs ? replay(this.#pool, prev, requestId, requestHash) : null;
  }

  async getJobArtifact(tenantKey: number, taskId: string, jobId: string): Promise<{ artifact: JobArtifact | null } | null> {
    const row = (await this.#pool.query<NullableArtifact>(TaskSql.jobArtifact, [taskId, tenantKey, jobId])).rows[0];
    if (row === undefined) return null;
    return { artifact: row.sha256 === null ? null : (row as JobArtifact) };
  }
}

/** a job's artifact, or NULLs (LEFT JOIN) when it has none */
type NullableArtifact = { [K in keyof JobArtifact]: JobArtifact[K] | null };

function toJobView(r: JobRow): JobView {
  return { ...r, errorCode: r.errorCode as JobView['errorCode'] };
}
