// Every statement of the worker leases (leases.ts, migration 3). Locks: a claim, release or
// rescue takes instance rows FOR UPDATE SKIP LOCKED (never waits on another worker); markRunning
// takes the rows of the instances it starts jobs on FOR KEY SHARE (queue.sql.ts), so a claim or
// rescue and a start on the same instance are ordered: the start waits, then re-reads the owner.
// The renewal updates the expiry only, which FOR KEY SHARE lets through: a round and a batch of
// starts never wait on each other. A worker's updates of many of its own rows (the renewal, its
// health statuses, the reboots it takes: health.sql.ts) lock them in key order (ORDER BY id FOR NO
// KEY UPDATE, then the update): each in the order its plan happened to scan them, a round and a
// health update deadlocked.

export const LeaseSql = {
  /** $1 worker, $2 zones (NULL: all), $3 now, $4 expiry */
  heartbeat: `INSERT INTO workers (worker_id, zones, started_at, expires_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (worker_id) DO UPDATE SET zones = EXCLUDED.zones, expires_at = EXCLUDED.expires_at`,
  /** rows of workers gone for an hour: nothing reads them any more */
  forgetWorkers: 'DELETE FROM workers WHERE expires_at < $1',
  /** the worker's leases, renewed, whether or not they lapsed meanwhile: a lapsed lease nobody
   * took back is still this worker's alone. $1 worker, $2 expiry */
  renew: `WITH mine AS (SELECT id FROM instances WHERE lease_owner = $1 ORDER BY id FOR NO KEY UPDATE)
    UPDATE instances i SET lease_expires_at = $2 FROM mine WHERE i.id = mine.id RETURNING i.id, i.lease_epoch AS epoch`,
  /**
   * Lapsed leases ($1 now) are freed and the running jobs of their instances fail 1006 ($2 the
   * message): they may have run, they will not be run again. Rows another worker is rescuing or
   * starting jobs on are skipped (a later round sees them).
   */
  rescue: `WITH lapsed AS (
      SELECT id FROM instances WHERE lease_owner IS NOT NULL AND lease_expires_at < $1
      ORDER BY id FOR UPDATE SKIP LOCKED
    ), freed AS (
      UPDATE instances i SET lease_owner = NULL, lease_expires_at = NULL FROM lapsed l WHERE i.id = l.id RETURNING i.id
    )
    UPDATE jobs SET state = 'failed', error_code = 'KOOPHONE.JOB.1006', error_msg = $2, finished_at = $1
    WHERE state = 'running' AND instance IN (SELECT id FROM freed)
    RETURNING id, task`,
  /** live instances in the zones ($1, NULL: all) and live workers ($2 now) whose zones overlap them */
  share: `SELECT
      (SELECT count(*) FROM instances WHERE deleted_at IS NULL AND ($1::text[] IS NULL OR zone = ANY($1::text[]))) AS instances,
      (SELECT count(*) FROM workers WHERE expires_at >= $2 AND ($1::text[] IS NULL OR zones IS NULL OR zones && $1::text[])) AS workers`,
  /** up to $2 of the worker's ($1) instances with no running job, highest keys first, freed */
  release: `UPDATE instances SET lease_owner = NULL, lease_expires_at = NULL WHERE id IN (
      SELECT i.id FROM instances i
      WHERE i.lease_owner = $1 AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.state = 'running' AND j.instance = i.id)
      ORDER BY i.id DESC LIMIT $2 FOR UPDATE SKIP LOCKED)
    RETURNING id`,
  /** the worker's ($1) deleted instances with no running job: nothing more to run there */
  releaseDeleted: `UPDATE instances i SET lease_owner = NULL, lease_expires_at = NULL
    WHERE i.lease_owner = $1 AND i.deleted_at IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.state = 'running' AND j.instance = i.id)
    RETURNING id`,
  /** up to $4 free live instances in the zones ($3, NULL: all), lowest keys first, leased to $1 until $2 */
  claim: `UPDATE instances SET lease_owner = $1, lease_expires_at = $2, lease_epoch = nextval('lease_epochs') WHERE id IN (
      SELECT id FROM instances
      WHERE lease_owner IS NULL AND deleted_at IS NULL AND ($3::text[] IS NULL OR zone = ANY($3::text[]))
      ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
    RETURNING id, lease_epoch AS epoch`,
  /** running jobs of instances just claimed ($1): nobody held them, so nobody runs them (orphans
   * of a worker that stopped before its results were written) */
  interruptOrphans: `UPDATE jobs SET state = 'failed', error_code = 'KOOPHONE.JOB.1006', error_msg = $2, finished_at = $3
    WHERE state = 'running' AND instance = ANY($1::bigint[])
    RETURNING id, task`,
  leave: `UPDATE instances SET lease_owner = NULL, lease_expires_at = NULL WHERE lease_owner = $1`,
  forget: 'DELETE FROM workers WHERE worker_id = $1',
} as const;
