// Artifacts (SPEC §10): the rows that name the files of the artifact directory. An upload is one
// row per (tenant, sha256); a job's file (pull, screenshot) is a row of job_artifacts, written with
// the job's result (queue.ts) and purged with its task (retention.ts).

/** the columns of an Artifact */
const ARTIFACT = 'artifact_id AS artifactId, sha256, size, content_type AS contentType, created_at AS createdAt';

export const ArtifactSql = {
  /** An upload: a new row, or the tenant's row of the same bytes with its retention restarted
   * (used_at never goes back). Returns the row either way: its artifact_id is @artifactId only
   * when this inserted it. */
  put: `INSERT INTO artifacts (artifact_id, tenant, sha256, size, content_type, created_at, used_at)
    VALUES (@artifactId, @tenant, @sha256, @size, @contentType, @now, @now)
    ON CONFLICT (sha256, tenant) DO UPDATE SET used_at = max(used_at, excluded.used_at)
    RETURNING ${ARTIFACT}`,
  byId: `SELECT ${ARTIFACT} FROM artifacts WHERE artifact_id = ? AND tenant = ?`,
  /** createTask: the tenant's artifact the task names, its retention restarted; no row: none */
  use: 'UPDATE artifacts SET used_at = max(used_at, ?) WHERE artifact_id = ? AND tenant = ? RETURNING id',
  /** Uploads last used before ?, oldest first, at most ?, that no task names (tasks_artifact). */
  purge: `DELETE FROM artifacts WHERE id IN (
      SELECT a.id FROM artifacts a
      WHERE a.used_at < ? AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.artifact = a.id)
      ORDER BY a.used_at LIMIT ?)`,
  /** Of the sha256s in the JSON array, those a row names (artifacts_blob, job_artifacts_blob). */
  referenced: `SELECT value AS sha256 FROM json_each(?)
    WHERE EXISTS (SELECT 1 FROM artifacts WHERE sha256 = value)
       OR EXISTS (SELECT 1 FROM job_artifacts WHERE sha256 = value)`,
  insertJobArtifact: 'INSERT INTO job_artifacts (job, sha256, size, content_type) VALUES (?, ?, ?, ?)',
  purgeJobArtifacts: 'DELETE FROM job_artifacts WHERE job BETWEEN ? AND ?',
} as const;
