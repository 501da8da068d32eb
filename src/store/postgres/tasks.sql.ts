// Tasks as the API reads and writes them. A task's jobs are the key range
// [job_first, job_first + job_count), one block of job_keys (see migrations.ts).
import type { TaskOp } from '../../core/index.js';

/** the columns of a JobView */
const JOB_VIEW = `j.id AS "jobKey", j.job_id AS "jobId", i.instance_id AS "instanceId", j.state,
  j.error_code AS "errorCode", j.error_msg AS "errorMsg", j.execute_msg AS "executeMsg",
  j.exit_code AS "exitCode", j.created_at AS "createdAt", j.started_at AS "startedAt",
  j.finished_at AS "finishedAt", j.output_bytes AS "outputBytes", j.output_truncated AS "outputTruncated"`;

/** the columns of a TaskRow (below) */
const TASK_ROW = `id, task_id AS "taskId", tenant, command, kind, op, timeout_ms AS "timeoutMs",
  created_at AS "createdAt", job_first AS "jobFirst", job_count AS "jobCount"`;

export const TaskSql = {
  /**
   * The task and its jobs in one statement: the task takes a block of job keys (one nextval), its
   * jobs are one INSERT from arrays ($9 instance keys, $10 job ids, in request order); $11 the
   * operation's JSON and $12 the upload it names (NULL, NULL for a shell command). With a
   * request id, ON CONFLICT waits for a concurrent insert of the same (tenant, request id) on
   * another connection and then inserts nothing: no row comes back, and the caller reads the
   * winner. (A conflict in the arbiter makes the jobs' INSERT see no task row: it inserts none.)
   */
  insert: `WITH t AS (
      INSERT INTO tasks (task_id, tenant, command, kind, timeout_ms, request_id, request_hash, created_at, job_first, job_count, op, artifact)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, nextval('job_keys'), cardinality($9::bigint[]), $11::jsonb, $12::bigint)
      ON CONFLICT (tenant, request_id) WHERE request_id IS NOT NULL DO NOTHING
      RETURNING id, job_first
    ), j AS (
      INSERT INTO jobs (id, task, instance, job_id, created_at)
      SELECT t.job_first + u.n - 1, t.id, u.instance, u.job_id, $8
      FROM t, unnest($9::bigint[], $10::text[]) WITH ORDINALITY AS u(instance, job_id, n)
    )
    SELECT id, job_first AS "jobFirst" FROM t`,
  /**
   * The common submit in one statement (task-writer.ts insertOwned): the task and its jobs, only
   * when every instance id ($9, in request order, job ids $10) is the tenant's ($2) and live, and
   * no task of the tenant holds the request id ($6, NULL for none); no upload ($11 the operation's
   * JSON or NULL). Otherwise nothing is written and no row comes back, nor when ON CONFLICT met a
   * concurrent insert of the same request id (as insert above): the caller then takes the full
   * path (writeTask), which tells these cases apart and names what is wrong.
   */
  insertOwned: `WITH u AS (
      SELECT u.n, u.job_id, i.id AS instance
      FROM unnest($9::text[], $10::text[]) WITH ORDINALITY AS u(instance_id, job_id, n)
      LEFT JOIN instances i ON i.tenant = $2::bigint AND i.instance_id = u.instance_id AND i.deleted_at IS NULL
    ), ok AS (
      SELECT count(u.instance) = cardinality($9::text[])
        AND NOT EXISTS (SELECT 1 FROM tasks WHERE $6::text IS NOT NULL AND tenant = $2::bigint AND request_id = $6::text) AS go
      FROM u
    ), t AS (
      INSERT INTO tasks (task_id, tenant, command, kind, timeout_ms, request_id, request_hash, created_at, job_first, job_count, op)
      SELECT $1::text, $2::bigint, $3::text, $4::text, $5::bigint, $6::text, $7::text, $8::bigint, nextval('job_keys'), cardinality($9::text[]), $11::jsonb
      FROM ok WHERE ok.go
      ON CONFLICT (tenant, request_id) WHERE request_id IS NOT NULL DO NOTHING
      RETURNING id, job_first
    ), j AS (
      INSERT INTO jobs (id, task, instance, job_id, created_at)
      SELECT t.job_first + u.n - 1, t.id, u.instance, u.job_id, $8::bigint
      FROM t, u
    )
    SELECT id, job_first AS "jobFirst" FROM t`,
  /** idempotency: the tenant's task carrying a request id */
  byRequest: `SELECT id, request_hash AS "requestHash", created_at AS "createdAt"
    FROM tasks WHERE tenant = $1 AND request_id = $2`,
  /** frees an expired request id (older than the 24 h window) for a new task */
  releaseRequest: 'UPDATE tasks SET request_id = NULL, request_hash = NULL WHERE id = $1',
  byKey: `SELECT ${TASK_ROW} FROM tasks WHERE id = $1`,
  byPublicId: `SELECT ${TASK_ROW} FROM tasks WHERE task_id = $1 AND tenant = $2`,
  /** the jobs as createTask returns them (used to replay an idempotent request) */
  createdJobs: `SELECT j.id AS "jobKey", j.job_id AS "jobId", i.instance_id AS "instanceId"
    FROM jobs j JOIN instances i ON i.id = j.instance
    WHERE j.id BETWEEN $1 AND $2 ORDER BY j.id`,
  jobViews: `SELECT ${JOB_VIEW}
    FROM jobs j JOIN instances i ON i.id = j.instance
    WHERE j.id BETWEEN $1 AND $2 ORDER BY j.id`,
  exists: 'SELECT 1 FROM tasks WHERE id = $1',
  /** jobViews of the jobs whose state ranks above what a watcher saw: $3 holds one rank character
   * per job of the range from $1 ('0' queued, '1' running, '2' final) */
  jobViewsAdvanced: `SELECT ${JOB_VIEW}
    FROM jobs j JOIN instances i ON i.id = j.instance
    WHERE j.id BETWEEN $1 AND $2
      AND CASE j.state WHEN 'queued' THEN '0' WHEN 'running' THEN '1' ELSE '2' END > substr($3, (j.id - $1 + 1)::int, 1)
    ORDER BY j.id`,
  /** newest first, keyset paging on the task key */
  listPage: `SELECT id, task_id AS "taskId", command, created_at AS "createdAt",
      job_first AS "jobFirst", job_count AS "jobCount"
    FROM tasks WHERE tenant = $1 AND id < $2 ORDER BY id DESC LIMIT $3`,
  /** per-state counts of several tasks' ranges at once ($1 firsts, $2 lasts, in page order) */
  stateCounts: `SELECT r.n::int AS n, j.state, count(*)::int AS count
    FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS r(first, last, n)
    JOIN jobs j ON j.id BETWEEN r.first AND r.last
    GROUP BY r.n, j.state`,
  /** one job of the tenant's task, with its stored output (NULLs when none was written) */
  jobOutput: `SELECT j.exit_code AS "exitCode", j.output_bytes AS "outputBytes",
      j.output_truncated AS "outputTruncated", o.stdout, o.stderr, o.combined
    FROM tasks t
    JOIN jobs j ON j.id BETWEEN t.job_first AND t.job_first + t.job_count - 1
    LEFT JOIN job_outputs o ON o.job = j.id
    WHERE t.task_id = $1 AND t.tenant = $2 AND j.job_id = $3`,
  /** one job of the tenant's task, with the file it produced (NULLs when none) */
  jobArtifact: `SELECT a.sha256, a.size, a.content_type AS "contentType"
    FROM tasks t
    JOIN jobs j ON j.id BETWEEN t.job_first AND t.job_first + t.job_count - 1
    LEFT JOIN job_artifacts a ON a.job = j.id
    WHERE t.task_id = $1 AND t.tenant = $2 AND j.job_id = $3`,
} as const;

/** A task as byKey and byPublicId read it. */
export interface TaskRow {
  id: number;
  taskId: string;
  tenant: number;
  command: string;
  kind: 'async' | 'sync';
  /** null: a shell command (jsonb, parsed by the driver) */
  op: TaskOp | null;
  timeoutMs: number;
  createdAt: number;
  jobFirst: number;
  jobCount: number;
}
