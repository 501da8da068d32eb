// The jobs table as the worker's queue: read queued jobs in key order, move them to running,
// write final results, cancel a task's queued jobs, and fail what a dead worker left running.
// markRunning and finishJobs run inside the shared write batch (write-batch.ts), which owns their
// transaction; the others are one transaction each. Each returns what it wrote; the tasks it
// changed are added to `tasks` when the caller collects them (someone watches a task), null otherwise.
import type Database from 'better-sqlite3';
import { canTransition, isFinal, JOB_CODES, JobCode, JobState, jobMessage, type TaskOp } from '../../core/index.js';
import { checkFile } from '../blobs.js';
import { StoreError, StoreErrorCode } from '../errors.js';
import type { JobResult, QueuedJob } from '../types.js';
import { ArtifactSql } from './artifacts.sql.js';
import type { StatementCache } from './db.js';
import { QueueSql } from './queue.sql.js';
import { TaskSql, type TaskRow } from './tasks.sql.js';

const EMPTY = Buffer.alloc(0);

export class Queue {
  readonly #db: Database.Database;
  readonly #stmts: StatementCache;
  constructor(db: Database.Database, stmts: StatementCache) {
    this.#db = db;
    this.#stmts = stmts;
  }

  /** The jobs failed, with their tasks. */
  interruptRunning(now: number): Array<{ id: number; task: number }> {
    const msg = jobMessage(JobCode.Interrupted, null);
    return this.#stmts.get(QueueSql.interruptRunning).all({ msg, now }) as Array<{ id: number; task: number }>;
  }

  /** The table's queued jobs after a key (the memory's tail aside: sqlite-store.ts asks it first). */
  queuedJobs(afterJobKey: number, limit: number): QueuedJob[] {
    return withOps(this.#stmts.get(QueueSql.queued).all(afterJobKey, limit) as QueuedRow[]);
  }

  queuedJobsIn(jobKeys: readonly number[]): QueuedJob[] {
    if (jobKeys.length === 0) return [];
    return withOps(this.#stmts.get(QueueSql.queuedIn).all(JSON.stringify(jobKeys)) as QueuedRow[]);
  }

  /** Inside the caller's transaction. */
  markRunning(jobKeys: readonly number[], now: number, tasks: Set<number> | null): number[] {
    const moved: number[] = [];
    const step = this.#step(QueueSql.markRunning, QueueSql.markRunningTask, tasks);
    const params = { now, jobKey: 0 }; // one object for the batch: this runs per job
    for (const key of jobKeys) {
      params.jobKey = key;
      if (step(params)) moved.push(key);
    }
    return moved;
  }

  /** Inside the caller's transaction; every result is checked before anything is written.
   * Returns the keys of the jobs that were still queued (they never ran: 1002, 1007). */
  finishJobs(results: readonly JobResult[], tasks: Set<number> | null): number[] {
    for (const r of results) checkResult(r);
    const fromQueued: number[] = [];
    const moved = this.#step(QueueSql.finish, QueueSql.finishTask, tasks);
    const insertOutput = this.#stmts.get(QueueSql.insertOutput);
    let insertArtifact: Database.Statement | null = null;
    for (const r of results) {
      const params = {
        jobKey: r.jobKey,
        state: r.state,
        errorCode: r.errorCode,
        errorMsg: r.errorMsg,
        exitCode: r.exitCode,
        executeMsg: r.executeMsg,
        outputBytes: r.outputBytes,
        outputTruncated: r.outputTruncated ? 1 : 0,
        finishedAt: r.finishedAt,
        from: JobState.Running as JobState,
      };
      let changed = moved(params);
      if (!changed && canTransition(JobState.Queued, r.state)) {
        params.from = JobState.Queued;
        changed = moved(params);
        if (changed) fromQueued.push(r.jobKey);
      }
      // A job already final (cancelled meanwhile, or reported twice) keeps its first result.
      if (!changed) continue;
      const o = r.output;
      if (o !== null && o.combined.length > 0) {
        // stdout and stderr partition combined: when one is empty the other IS combined, and is
        // stored as NULL ("same as combined") rather than a second copy of up to 1 MiB.
        const [stdout, stderr] = o.stderr.length === 0 ? [null, EMPTY] : o.stdout.length === 0 ? [EMPTY, null] : [o.stdout, o.stderr];
        insertOutput.run(r.jobKey, stdout, stderr, o.combined);
      }
      const a = r.artifact;
      if (a !== undefined && a !== null) {
        insertArtifact ??= this.#stmts.get(ArtifactSql.insertJobArtifact);
        insertArtifact.run(r.jobKey, a.sha256, a.size, a.contentType);
      }
    }
    return fromQueued;
  }

  /**
   * One guarded UPDATE: true when it moved its row. With `tasks` (someone watches a task) the
   * statement that names the row's task (RETURNING) runs instead and the task joins `tasks`.
   */
  #step(sql: string, sqlNamingTask: string, tasks: Set<number> | null): (params: object) => boolean {
    if (tasks === null) {
      const stmt = this.#stmts.get(sql);
      return (params) => stmt.run(params).changes === 1;
    }
    const stmt = this.#stmts.get(sqlNamingTask);
    return (params) => {
      const row = stmt.get(params) as { task: number } | undefined;
      if (row !== undefined) tasks.add(row.task);
      return row !== undefined;
    };
  }

  cancelTask(tenantKey: number, taskId: string, now: number): { taskKey: number; cancelledQueued: number[]; running: number[] } | null {
    return this.#db
      .transaction(() => {
        const t = this.#stmts.get(TaskSql.byPublicId).get(taskId, tenantKey) as TaskRow | undefined;
        if (t === undefined) return null;
        const last = t.jobFirst + t.jobCount - 1;
        const cancelled = this.#stmts.get(QueueSql.cancelQueued).all(now, t.jobFirst, last, t.id) as Array<{ id: number }>;
        const running = this.#stmts.get(QueueSql.runningOfTask).all(t.jobFirst, last, t.id) as Array<{ id: number }>;
        return { taskKey: t.id, cancelledQueued: cancelled.map((r) => r.id).sort((a, b) => a - b), running: running.map((r) => r.id) };
      })
      .immediate();
  }
}

function checkResult(r: JobResult): void {
  const code = JOB_CODES[r.errorCode] as (typeof JOB_CODES)[JobCode] | undefined;
  if (!isFinal(r.state) || code === undefined || code.state !== r.state) {
    throw new StoreError(StoreErrorCode.InvalidArgument, `job ${r.jobKey}: result ${r.state}/${r.errorCode} is not a final state with its code`);
  }
  if (r.artifact !== undefined && r.artifact !== null) checkFile(`job ${r.jobKey}: artifact`, r.artifact);
}

/** A queued job as the table gives it: the operation still JSON. */
type QueuedRow = Omit<QueuedJob, 'op'> & { op: string | TaskOp | null };

/** Parses the operation of the rows that have one, in place: a shell command's row (op NULL, the
 * common case) costs one comparison. */
function withOps(rows: QueuedRow[]): QueuedJob[] {
  for (const r of rows) if (r.op !== null) r.op = JSON.parse(r.op as string) as TaskOp;
  return rows as QueuedJob[];
}
