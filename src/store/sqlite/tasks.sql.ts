// Tasks as the API reads and writes them. A task's jobs are the key range
// [job_first, job_first + job_count) (see migrations.ts for why no index on jobs(task)).

/** the columns of a JobView */
const JOB_VIEW = `j.id AS jobKey, j.job_id AS jobId, i.instance_id AS instanceId, j.state,
  j.error_code AS errorCode, j.error_msg AS errorMsg, j.execute_msg AS executeMsg,
  j.exit_code AS exitCode, j.created_at AS createdAt, j.started_at AS startedAt,
  j.finished_at AS finishedAt, j.output_bytes AS outputBytes, j.output_truncated AS outputTruncated`;

/** the columns of a TaskRow (below) */
const TASK_ROW = `id, task_id AS taskId, tenant, command, kind, op, timeout_ms AS timeoutMs,
  created_at AS createdAt, job_first AS jobFirst, job_count AS jobCount`;

export const TaskSql = {
  /** job_first is set right after the jobs are inserted, in the same transaction */
  insert: `INSERT INTO tasks
    (task_id, tenant, command, kind, timeout_ms, request_id, request_hash, created_at, job_first, job_count)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)`,
  /** insert, for a device operation: its JSON, and the upload it names (NULL: none). A shell
   * command's insert stays the one above, as the raw ceiling of bench/lib measures it. */
  insertOp: `INSERT INTO tasks
    (task_id, tenant, command, kind, timeout_ms, request_id, request_hash, created_at, job_first, job_count, op, artifact)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)`,
  setJobFirst: 'UPDATE tasks SET job_first = ? WHERE id = ?',
  /** idempotency: the tenant's task carrying a request id */
  byRequest: `SELECT id, request_hash AS requestHash, created_at AS createdAt
    FROM tasks WHERE tenant = ? AND request_id = ?`,
  /** frees an expired request id (older than the 24 h window) for a new task */
  releaseRequest: 'UPDATE tasks SET request_id = NULL, request_hash = NULL WHERE id = ?',
  byKey: `SELECT ${TASK_ROW} FROM tasks WHERE id = ?`,
  byPublicId: `SELECT ${TASK_ROW} FROM tasks WHERE task_id = ? AND tenant = ?`,
  /** the jobs as createTask returns them (used to replay an idempotent request) */
  createdJobs: `SELECT j.id AS jobKey, j.job_id AS jobId, i.instance_id AS instanceId
    FROM jobs j JOIN instances i ON i.id = j.instance
    WHERE j.id BETWEEN ? AND ? ORDER BY j.id`,
  jobViews: `SELECT ${JOB_VIEW}
    FROM jobs j JOIN instances i ON i.id = j.instance
    WHERE j.id BETWEEN ? AND ? ORDER BY j.id`,
  exists: 'SELECT 1 FROM tasks WHERE id = ?',
  /** jobViews of the jobs whose state ranks above what a watcher saw: the 4th parameter holds one
   * rank character per job of the range ('0' queued, '1' running, '2' final). The filter runs on
   * the jobs row, before the join: a job that did not move costs one row step. */
  jobViewsAdvanced: `SELECT ${JOB_VIEW}
    FROM jobs j JOIN instances i ON i.id = j.instance
    WHERE j.id BETWEEN ? AND ?
      AND CASE j.state WHEN 'queued' THEN '0' WHEN 'running' THEN '1' ELSE '2' END > substr(?, j.id - ? + 1, 1)
    ORDER BY j.id`,
  /** newest first, keyset paging on the task key */
  listPage: `SELECT id, task_id AS taskId, command, created_at AS createdAt,
      job_first AS jobFirst, job_count AS jobCount
    FROM tasks WHERE tenant = ? AND id < ? ORDER BY id DESC LIMIT ?`,
  stateCounts: `SELECT state, count(*) AS n FROM jobs WHERE id BETWEEN ? AND ? GROUP BY state`,
  /** one job of the tenant's task, with its stored output (NULLs when none was written) */
  jobOutput: `SELECT j.exit_code AS exitCode, j.output_bytes AS outputBytes,
      j.output_truncated AS outputTruncated, o.stdout, o.stderr, o.combined
    FROM tasks t
    JOIN jobs j ON j.id BETWEEN t.job_first AND t.job_first + t.job_count - 1
    LEFT JOIN job_outputs o ON o.job = j.id
    WHERE t.task_id = ? AND t.tenant = ? AND j.job_id = ?`,
  /** one job of the tenant's task, with the file it produced (NULLs when none) */
  jobArtifact: `SELECT a.sha256, a.size, a.content_type AS contentType
    FROM tasks t
    JOIN jobs j ON j.id BETWEEN t.job_first AND t.job_first + t.job_count - 1
    LEFT JOIN job_artifacts a ON a.job = j.id
    WHERE t.task_id = ? AND t.tenant = ? AND j.job_id = ?`,
} as const;

/** A task as byKey and byPublicId read it. */
export interface TaskRow {
  id: number;
  taskId: string;
  tenant: number;
  command: string;
  kind: 'async' | 'sync';
  /** the operation's JSON; null: a shell command */
  op: string | null;
  timeoutMs: number;
  createdAt: number;
  jobFirst: number;
  jobCount: number;
}
