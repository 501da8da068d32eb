// Artifacts (SPEC §10) on PostgreSQL: the rows that name the files of the artifact directory, as
// SQLite's artifacts.sql.ts. A job's file is written by finishJobs and purged with its task
// (queue.sql.ts).

/** the columns of an Artifact */
const ARTIFACT = 'artifact_id AS "artifactId", sha256, size, content_type AS "contentType", created_at AS "createdAt"';

export const ArtifactSql = {
  /** An upload ($6: now): a new row, or the tenant's row of the same bytes with its retention
   * restarted (used_at never goes back). Returns the row either way: its artifact_id is $1 only
   * when this inserted it. Two nodes uploading the same bytes at once: the second waits for the
   * first's row and updates it. */
  put: `INSERT INTO artifacts (artifact_id, tenant, sha256, size, content_type, created_at, used_at)
    VALUES ($1, $2, $3, $4, $5, $6, $6)
    ON CONFLICT (sha256, tenant) DO UPDATE SET used_at = greatest(artifacts.used_at, excluded.used_at)
    RETURNING ${ARTIFACT}`,
  byId: `SELECT ${ARTIFACT} FROM artifacts WHERE artifact_id = $1 AND tenant = $2`,
  /** The uploads the batch's tasks name ($1 tenant keys, $2 artifact ids), locked in key order
   * before any request's writes (write-batch.ts): each createTask then updates its own (use), and
   * two batches naming the same uploads in opposite orders would otherwise deadlock. */
  lockUses: `SELECT a.id FROM artifacts a
    JOIN unnest($1::bigint[], $2::text[]) AS u(tenant, artifact_id) ON a.tenant = u.tenant AND a.artifact_id = u.artifact_id
    ORDER BY a.id
    FOR NO KEY UPDATE OF a`,
  /** createTask: the tenant's artifact the task names, its retention restarted ($1: now), locked
   * until the task commits; no row: none (or a purge deleted it first) */
  use: 'UPDATE artifacts SET used_at = greatest(used_at, $1) WHERE artifact_id = $2 AND tenant = $3 RETURNING id',
  /** Purge, first statement: uploads last used before $1, oldest first, at most $2, that no task
   * names (tasks_artifact), locked. SKIP LOCKED: one a createTask is naming right now (it holds
   * the row, artifacts.use) is left for a later purge. */
  purgeCandidates: `SELECT a.id FROM artifacts a
    WHERE a.used_at < $1 AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.artifact = a.id)
    ORDER BY a.used_at LIMIT $2
    FOR UPDATE SKIP LOCKED`,
  /** Purge, second statement, in the same transaction: a newer snapshot, taken once the rows are
   * held, so it sees every task whose createTask held one of them before and committed; a later
   * createTask waits for this transaction and finds the row gone. */
  purge: `DELETE FROM artifacts a WHERE a.id = ANY($1::bigint[])
    AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.artifact = a.id)`,
  /** Of the sha256s $1, those a row names (artifacts_blob, job_artifacts_blob). */
  referenced: `SELECT s.sha256 FROM unnest($1::text[]) AS s(sha256)
    WHERE EXISTS (SELECT 1 FROM artifacts a WHERE a.sha256 = s.sha256)
       OR EXISTS (SELECT 1 FROM job_artifacts j WHERE j.sha256 = s.sha256)`,
} as const;
