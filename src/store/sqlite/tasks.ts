// Tasks as the API reads them: one task with its jobs, a tenant's tasks page by page, one job's
// output. (createTask writes through task-writer.ts, inside the shared write batch of write-batch.ts.)
import { JOB_STATES, LIMITS, type JobState, type TaskOp } from '../../core/index.js';
import { storeError } from '../errors.js';
import type { CreatedJob, CreatedTask, JobArtifact, JobOutput, JobView, TaskSummary, TaskView } from '../types.js';
import { cutPage, pageBefore } from '../cursor.js';
import type { StatementCache } from './db.js';
import { TaskSql, type TaskRow } from './tasks.sql.js';

type JobRow = Omit<JobView, 'outputTruncated' | 'errorCode'> & { errorCode: string; outputTruncated: number };

type OutputRow = {
  exitCode: number | null;
  outputBytes: number;
  outputTruncated: number;
  stdout: Buffer | null;
  stderr: Buffer | null;
  combined: Buffer | null;
};

const EMPTY = Buffer.alloc(0);

/** The task of the tenant holding a request id. */
export type RequestRow = { id: number; requestHash: string | null; createdAt: number };

export function requestOf(s: StatementCache, tenantKey: number, requestId: string): RequestRow | undefined {
  return s.get(TaskSql.byRequest).get(tenantKey, requestId) as RequestRow | undefined;
}

/** The task a request made, as createTask answered it, again (replayed); another body is a conflict. */
export function replay(s: StatementCache, prev: RequestRow, requestId: string, requestHash: string): CreatedTask {
  if ((prev.requestHash ?? '') !== requestHash) throw storeError.idempotencyConflict(requestId);
  const t = s.get(TaskSql.byKey).get(prev.id) as TaskRow;
  const jobs = s.get(TaskSql.createdJobs).all(t.jobFirst, t.jobFirst + t.jobCount - 1) as CreatedJob[];
  return { taskKey: t.id, taskId: t.taskId, command: t.command, timeoutMs: t.timeoutMs, createdAt: t.createdAt, jobs, replayed: true };
}

export class Tasks {
  readonly #stmts: StatementCache;

  constructor(stmts: StatementCache) {
    this.#stmts = stmts;
  }

  getTask(tenantKey: number, taskId: string): TaskView | null {
    const t = this.#stmts.get(TaskSql.byPublicId).get(taskId, tenantKey) as TaskRow | undefined;
    if (t === undefined) return null;
    const rows = this.#stmts.get(TaskSql.jobViews).all(t.jobFirst, t.jobFirst + t.jobCount - 1) as JobRow[];
    return {
      taskKey: t.id,
      taskId: t.taskId,
      command: t.command,
      kind: t.kind,
      op: t.op === null ? null : (JSON.parse(t.op) as TaskOp),
      timeoutMs: t.timeoutMs,
      createdAt: t.createdAt,
      jobs: rows.map(toJobView),
    };
  }

  advancedJobs(taskKey: number, fromJobKey: number, seen: string): JobView[] | null {
    if (this.#stmts.get(TaskSql.exists).get(taskKey) === undefined) return null;
    if (seen.length === 0) return [];
    const rows = this.#stmts.get(TaskSql.jobViewsAdvanced).all(fromJobKey, fromJobKey + seen.length - 1, seen, fromJobKey) as JobRow[];
    return rows.map(toJobView);
  }

  listTasks(tenantKey: number, limit: number, cursor: string | null): { tasks: TaskSummary[]; nextCursor: string | null } {
    const before = pageBefore(limit, cursor);
    const rows = this.#stmts.get(TaskSql.listPage).all(tenantKey, before, limit + 1) as Array<
      Pick<TaskRow, 'id' | 'taskId' | 'command' | 'createdAt' | 'jobFirst' | 'jobCount'>
    >;
    const { page, nextCursor } = cutPage(rows, limit);
    const counts = this.#stmts.get(TaskSql.stateCounts);
    const tasks = page.map((t): TaskSummary => {
      const c = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
      for (const r of counts.all(t.jobFirst, t.jobFirst + t.jobCount - 1) as Array<{ state: JobState; n: number }>) {
        c[r.state] = r.n;
      }
      return { taskId: t.taskId, command: t.command, createdAt: t.createdAt, counts: c };
    });
    return { tasks, nextCursor };
  }

  getJobOutput(tenantKey: number, taskId: string, jobId: string): JobOutput | null {
    const row = this.#stmts.get(TaskSql.jobOutput).get(taskId, tenantKey, jobId) as OutputRow | undefined;
    if (row === undefined) return null;
    // No row: no output. NULL stdout or stderr: the same bytes as combined (see queue.ts, finish).
    const combined = row.combined ?? EMPTY;
    return {
      stdout: row.stdout ?? combined,
      stderr: row.stderr ?? combined,
      combined,
      exitCode: row.exitCode,
      outputBytes: row.outputBytes,
      outputTruncated: row.outputTruncated === 1,
    };
  }

  /** createTask's idempotency lookup (task-writer.ts), read only. */
  findRequest(tenantKey: number, requestId: string, requestHash: string, now: number): CreatedTask | null {
    const prev = requestOf(this.#stmts, tenantKey, requestId);
    return prev !== undefined && prev.createdAt >= now - LIMITS.idempotencyWindowMs ? replay(this.#stmts, prev, requestId, requestHash) : null;
  }

  getJobArtifact(tenantKey: number, taskId: string, jobId: string): { artifact: JobArtifact | null } | null {
    const row = this.#stmts.get(TaskSql.jobArtifact).get(taskId, tenantKey, jobId) as NullableArtifact | undefined;
    if (row === undefined) return null;
    return { artifact: row.sha256 === null ? null : (row as JobArtifact) };
  }
}

/** a job's artifact, or NULLs (LEFT JOIN) when it has none */
type NullableArtifact = { [K in keyof JobArtifact]: JobArtifact[K] | null };

function toJobView(r: JobRow): JobView {
  return { ...r, errorCode: r.errorCode as JobView['errorCode'], outputTruncated: r.outputTruncated === 1 };
}
