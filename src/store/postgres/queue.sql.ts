// Every statement of the job queue on PostgreSQL. The jobs table is the queue: enqueue is the
// INSERT of a task's jobs (tasks.sql.ts), the worker reads queued jobs in key order, and each
// state change is a guarded UPDATE (WHERE id = ... AND state = ...) whose returned rows say what
// moved. Where SQLite runs one statement per job, these take arrays: one round trip per batch.

const QUEUED_COLUMNS = `j.id AS "jobKey", j.job_id AS "jobId", t.id AS "taskKey", t.task_id AS "taskId",
      t.tenant AS "tenantKey", t.command, t.op, t.timeout_ms AS "timeoutMs", i.id AS "instanceKey",
      i.instance_id AS "instanceId", i.adb_address AS "adbAddress", j.created_at AS "createdAt"`;

const QUEUED_FROM = `jobs j JOIN tasks t ON t.id = j.task
    JOIN instances i ON i.id = j.instance`;

export const QueueSql = {
  /**
   * The greatest committed job key (a backward scan of the primary key; not the job_keys sequence,
   * which may go back below what was read after a crash), and a transaction id assigned by this
   * statement, so after its snapshot, in which L's writer had committed (queue-horizon.ts): every
   * allocator of a key up to L took its id before L was allocated, so a lower one, whichever the
   * statement evaluates first.
   */
  lastKey: `SELECT COALESCE(max(id), 0) AS "lastKey", pg_current_xact_id()::text::bigint AS bound FROM jobs`,
  /**
   * Queued jobs after $1 and at most at the horizon, $2 of them. The horizon is the greatest
   * checkpoint key ($3) whose transaction bound ($4, an id assigned after the key was read) is at
   * most this statement's snapshot xmin: every transaction that could have allocated a key up to
   * it has ended, so nothing at or below it can still appear (queue-horizon.ts).
   * Returns the snapshot's xmin with the horizon on every row, and once alone when no
   * job qualifies. Served by jobs_queued. $5: a worker's id, for the jobs of its leased
   * instances only (NULL: every job).
   */
  queued: `WITH s AS MATERIALIZED (
      SELECT pg_snapshot_xmin(c)::text::bigint AS xmin FROM pg_current_snapshot() AS c
    ), h AS (
      SELECT s.xmin, COALESCE(max(p.key), 0) AS horizon
      FROM s LEFT JOIN unnest($3::bigint[], $4::bigint[]) AS p(key, bound) ON p.bound <= s.xmin
      GROUP BY s.xmin
    )
    SELECT h.xmin, h.horizon, q.*
    FROM h LEFT JOIN LATERAL (
      SELECT ${QUEUED_COLUMNS} FROM ${QUEUED_FROM}
      WHERE j.state = 'queued' AND j.id > $1 AND j.id <= h.horizon AND ($5::text IS NULL OR i.lease_owner = $5::text)
      ORDER BY j.id LIMIT $2
    ) q ON true
    ORDER BY q."jobKey"`,
  /** The jobs among these keys that are still queued, in key order: one primary-key probe each. */
  queuedIn: `SELECT ${QUEUED_COLUMNS} FROM ${QUEUED_FROM}
    WHERE j.id = ANY($1::bigint[]) AND j.state = 'queued' ORDER BY j.id`,
  markRunning: `UPDATE jobs SET state = 'running', started_at = $2
    WHERE id = ANY($1::bigint[]) AND state = 'queued'
    RETURNING id, task`,
  /** markRunning for a worker holding leases ($3): only jobs of instances whose lease it holds.
   * FOR KEY SHARE orders it with a claim, release or rescue of those rows (leases.sql.ts), which
   * lock them FOR UPDATE: it waits for theirs to commit and re-reads the owner, or they skip the
   * row. Not FOR SHARE: that also excludes plain updates of other columns (the health statuses,
   * the reboots taken), which lock the worker's rows in another order than a batch of starts
   * does, and the two deadlocked. Not its expiry: a lapsed lease nobody took back
   * is still the worker's (it renews it); a job refused here is dropped by the worker, so a
   * refusal must mean the instance changed hands (and a round will say so). */
  markRunningLeased: `WITH held AS (
      SELECT i.id FROM instances i
      WHERE i.id IN (SELECT j.instance FROM jobs j WHERE j.id = ANY($1::bigint[]))
        AND i.lease_owner = $3
      FOR KEY SHARE
    )
    UPDATE jobs SET state = 'running', started_at = $2
    WHERE id = ANY($1::bigint[]) AND state = 'queued' AND instance IN (SELECT id FROM held)
    RETURNING id, task`,
  /** Queued jobs of instances $1 with $2 < key <= $3, in key order, at most $4 (served by jobs_queued). */
  queuedOf: `SELECT ${QUEUED_COLUMNS} FROM ${QUEUED_FROM}
    WHERE j.state = 'queued' AND j.instance = ANY($1::bigint[]) AND j.id > $2 AND j.id <= $3
    ORDER BY j.id LIMIT $4`,
  /** Final results from arrays ($1-$9) for the jobs still in state $10 (running, then queued for
   * those allowed), and the outputs ($11-$14) of those it wrote: one statement, one round trip. */
  finish: `WITH f AS (
      UPDATE jobs j SET state = r.state, error_code = r.error_code, error_msg = r.error_msg,
        exit_code = r.exit_code, execute_msg = r.execute_msg, output_bytes = r.output_bytes,
        output_truncated = r.output_truncated, finished_at = r.finished_at
      FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::bigint[], $8::boolean[], $9::bigint[])
        AS r(id, state, error_code, error_msg, exit_code, execute_msg, output_bytes, output_truncated, finished_at)
      WHERE j.id = r.id AND j.state = $10
      RETURNING j.id, j.task
    ), o AS (
      INSERT INTO job_outputs (job, stdout, stderr, combined)
      SELECT u.job, u.stdout, u.stderr, u.combined
      FROM unnest($11::bigint[], $12::bytea[], $13::bytea[], $14::bytea[]) AS u(job, stdout, stderr, combined)
      WHERE u.job IN (SELECT id FROM f)
    )
    SELECT id, task FROM f`,
  /** a task's queued jobs -> cancelled (KOOPHONE.JOB.1004) */
  cancelQueued: `UPDATE jobs SET state = 'cancelled', error_code = 'KOOPHONE.JOB.1004',
      error_msg = 'cancelled', finished_at = $1
    WHERE id BETWEEN $2 AND $3 AND task = $4 AND state = 'queued'
    RETURNING id`,
  /** a task's running jobs, marked cancel-requested at $4 (their worker aborts them: by the
   * cancelled notice, or by its poll, cancelRequested, if the notice is lost) */
  requestCancelRunning: `UPDATE jobs SET cancel_requested_at = $4
    WHERE id BETWEEN $1 AND $2 AND task = $3 AND state = 'running'
    RETURNING id`,
  /** of the running jobs $1, those whose cancel was asked (served by jobs_running) */
  cancelRequested: `SELECT id FROM jobs WHERE id = ANY($1::bigint[]) AND state = 'running' AND cancel_requested_at IS NOT NULL`,
  /** An instance changed hands ($3: its new owner) or was removed ($3 NULL): queued jobs of anyone
   * else never reach it (served by jobs_queued). Running ones finish. */
  cancelQueuedOnInstance: `UPDATE jobs SET state = 'cancelled', error_code = 'KOOPHONE.JOB.1004',
      error_msg = 'cancelled: the instance was reassigned or removed', finished_at = $1
    WHERE state = 'queued' AND instance = $2
      AND ($3::bigint IS NULL OR (SELECT t.tenant FROM tasks t WHERE t.id = jobs.task) IS DISTINCT FROM $3::bigint)
    RETURNING id, task`,
  /** on worker start: jobs whose worker died mid-run are failed, never re-run (served by jobs_running) */
  interruptRunning: `UPDATE jobs SET state = 'failed', error_code = 'KOOPHONE.JOB.1006',
      error_msg = $1, finished_at = $2
    WHERE state = 'running'
    RETURNING id, task`,
  /** tasks old enough and with every job final, locked so a concurrent purge skips them */
  purgeCandidates: `SELECT t.id, t.job_first AS "jobFirst", t.job_count AS "jobCount"
    FROM tasks t
    WHERE t.created_at < $1
      AND NOT EXISTS (SELECT 1 FROM jobs j
        WHERE j.id BETWEEN t.job_first AND t.job_first + t.job_count - 1
          AND j.state IN ('queued', 'running'))
    ORDER BY t.created_at LIMIT $2
    FOR UPDATE SKIP LOCKED`,
  /** $1 firsts, $2 lasts, $3 task keys of the purged tasks */
  purgeOutputs: `DELETE FROM job_outputs o USING unnest($1::bigint[], $2::bigint[]) AS r(first, last)
    WHERE o.job BETWEEN r.first AND r.last`,
  /** $1 firsts, $2 lasts of the purged tasks */
  purgeJobArtifacts: `DELETE FROM job_artifacts a USING unnest($1::bigint[], $2::bigint[]) AS r(first, last)
    WHERE a.job BETWEEN r.first AND r.last`,
  insertJobArtifacts: `INSERT INTO job_artifacts (job, sha256, size, content_type)
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::text[])`,
  purgeJobs: `DELETE FROM jobs j USING unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS r(first, last, task)
    WHERE j.id BETWEEN r.first AND r.last AND j.task = r.task`,
  purgeTasks: 'DELETE FROM tasks WHERE id = ANY($1::bigint[])',
} as const;
