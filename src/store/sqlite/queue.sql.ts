// Every statement of the job queue. The jobs table is the queue: enqueue is the INSERT of a
// task's jobs, the worker reads queued jobs in key (submission) order, and each state change is
// a guarded UPDATE (WHERE id = ? AND state = ?) whose changed-row count the caller checks.
//
// Dialect note: SQLite has a single writer, so "claiming" is just queued -> running under the
// write lock. PostgreSQL will claim with SELECT ... FOR UPDATE SKIP LOCKED plus a lease column
// (leased_until, worker id) and wake workers with LISTEN/NOTIFY instead of polling.

/** One multi-row INSERT for a task's n jobs: their keys come out contiguous, in request order. */
export function insertJobsSql(n: number): string {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`job count ${n}`);
  return `INSERT INTO jobs (task, instance, job_id, created_at) VALUES ${'(?, ?, ?, ?), '.repeat(n - 1)}(?, ?, ?, ?)`;
}

const MARK_RUNNING = `UPDATE jobs SET state = 'running', started_at = @now
    WHERE id = @jobKey AND state = 'queued'`;
const FINISH = `UPDATE jobs SET state = @state, error_code = @errorCode, error_msg = @errorMsg,
      exit_code = @exitCode, execute_msg = @executeMsg, output_bytes = @outputBytes,
      output_truncated = @outputTruncated, finished_at = @finishedAt
    WHERE id = @jobKey AND state = @from`;

const QUEUED_COLUMNS = `j.id AS jobKey, j.job_id AS jobId, t.id AS taskKey, t.task_id AS taskId,
      t.tenant AS tenantKey, t.command, t.op, t.timeout_ms AS timeoutMs, i.id AS instanceKey,
      i.instance_id AS instanceId, i.adb_address AS adbAddress, j.created_at AS createdAt`;

export const QueueSql = {
  /** served by the partial index jobs_queued */
  queued: `SELECT ${QUEUED_COLUMNS}
    FROM jobs j JOIN tasks t ON t.id = j.task JOIN instances i ON i.id = j.instance
    WHERE j.state = 'queued' AND j.id > ? ORDER BY j.id LIMIT ?`,
  /** The jobs among these keys (a JSON array) that are still queued, in key order: one rowid
   * lookup each. A lane refills from the keys it noted; there is no per-instance index to read
   * (jobs (instance, id) made a 100-job task insert ~3x slower: 100 insertion points a task). */
  queuedIn: `SELECT ${QUEUED_COLUMNS}
    FROM jobs j JOIN tasks t ON t.id = j.task JOIN instances i ON i.id = j.instance
    WHERE j.id IN (SELECT value FROM json_each(?)) AND j.state = 'queued' ORDER BY j.id`,
  /** the key the next job gets (AUTOINCREMENT: never one used before) */
  nextJobKey: `SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'jobs'), 0) + 1 AS next`,
  markRunning: MARK_RUNNING,
  /** final result; ?from is the state the job must still be in */
  finish: FINISH,
  // The same two naming the job's task, for when someone watches a task (the change feed tells
  // them): RETURNING costs ~25% of finishJobs, so it is not paid when nobody watches.
  markRunningTask: `${MARK_RUNNING} RETURNING task`,
  finishTask: `${FINISH} RETURNING task`,
  insertOutput: 'INSERT INTO job_outputs (job, stdout, stderr, combined) VALUES (?, ?, ?, ?)',
  /** a task's queued jobs -> cancelled (KOOPHONE.JOB.1004) */
  cancelQueued: `UPDATE jobs SET state = 'cancelled', error_code = 'KOOPHONE.JOB.1004',
      error_msg = 'cancelled', finished_at = ?
    WHERE id BETWEEN ? AND ? AND task = ? AND state = 'queued'
    RETURNING id`,
  /** An instance changed hands (@tenant: its new owner) or was removed (@tenant NULL): queued jobs
   * of anyone else never reach it (served by jobs_queued). Running ones finish. */
  cancelQueuedOnInstance: `UPDATE jobs SET state = 'cancelled', error_code = 'KOOPHONE.JOB.1004',
      error_msg = 'cancelled: the instance was reassigned or removed', finished_at = @now
    WHERE state = 'queued' AND instance = @instance
      AND (@tenant IS NULL OR (SELECT t.tenant FROM tasks t WHERE t.id = jobs.task) IS NOT @tenant)
    RETURNING id, task`,
  runningOfTask: `SELECT id FROM jobs WHERE id BETWEEN ? AND ? AND task = ? AND state = 'running' ORDER BY id`,
  /** on worker start: jobs whose worker died mid-run are failed, never re-run (served by jobs_running) */
  interruptRunning: `UPDATE jobs SET state = 'failed', error_code = 'KOOPHONE.JOB.1006',
      error_msg = @msg, finished_at = @now
    WHERE state = 'running'
    RETURNING id, task`,
  /** tasks old enough and with every job final */
  purgeCandidates: `SELECT t.id, t.job_first AS jobFirst, t.job_count AS jobCount
    FROM tasks t
    WHERE t.created_at < ?
      AND NOT EXISTS (SELECT 1 FROM jobs j
        WHERE j.id BETWEEN t.job_first AND t.job_first + t.job_count - 1
          AND (j.state = 'queued' OR j.state = 'running'))
    ORDER BY t.created_at LIMIT ?`,
  purgeOutputs: 'DELETE FROM job_outputs WHERE job BETWEEN ? AND ?',
  purgeJobs: 'DELETE FROM jobs WHERE id BETWEEN ? AND ? AND task = ?',
  purgeTask: 'DELETE FROM tasks WHERE id = ?',
} as const;
