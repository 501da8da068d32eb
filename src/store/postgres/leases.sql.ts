// Every statement of the worker leases (leases.ts, migration 3). A lease is the instance's
// lease_owner; it lasts while that worker's row in `workers` has not expired, so renewing every
// lease is one row. Locks: a claim, release or rescue takes instance rows FOR UPDATE SKIP LOCKED
// (never waits on another worker); markRunning takes the rows of the instances it starts jobs on
// FOR KEY SHARE (queue.sql.ts), so a claim or rescue and a start on the same instance are ordered:
// the start waits, then re-reads the owner. A worker's updates of many of its own rows (its health
// statuses, the reboots it takes: health.sql.ts) lock them in key order (ORDER BY id FOR NO KEY
// UPDATE, then the update): each in the order its plan happened to scan them, two of them
// deadlocked.

export const LeaseSql = {
  /** The worker's heartbeat, which renews all its leases at once. $1 worker, $2 zones (NULL: all),
   * $3 now, $4 expiry. A lapsed lease nobody took back is still this worker's alone. */
  heartbeat: `INSERT INTO workers (worker_id, zones, started_at, expires_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (worker_id) DO UPDATE SET zones = EXCLUDED.zones, expires_at = EXCLUDED.expires_at`,
  /** rows of workers gone for an hour that hold nothing (a held instance is rescued first) */
  forgetWorkers: `DELETE FROM workers w WHERE w.expires_at < $1
    AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.lease_owner = w.worker_id)`,
  /** the worker's ($1) leases */
  held: 'SELECT id, lease_epoch AS epoch, zone FROM instances WHERE lease_owner = $1',
  /**
   * The leases of workers whose heartbeat lapsed ($1 now) are freed and the running jobs of their
   * instances fail 1006 ($2 the message): they may have run, they will not be run again. Rows
   * another worker is rescuing or starting jobs on are skipped (a later round sees them).
   */
  rescue: `WITH lapsed AS (
      SELECT id FROM instances
      WHERE lease_owner IN (SELECT worker_id FROM workers WHERE expires_at < $1)
      ORDER BY id FOR UPDATE SKIP LOCKED
    ), freed AS (
      UPDATE instances i SET lease_owner = NULL FROM lapsed l WHERE i.id = l.id RETURNING i.id
    )
    UPDATE jobs SET state = 'failed', error_code = 'KOOPHONE.JOB.1006', error_msg = $2, finished_at = $1
    WHERE state = 'running' AND instance IN (SELECT id FROM freed)
    RETURNING id, task`,
  /** Per zone of the worker's ($1, NULL: all), its live instances and the live workers ($2 now)
   * that serve it: a worker's share of a zone is ceil(instances / workers). */
  shares: `SELECT z.zone, z.instances::int AS instances,
      (SELECT count(*) FROM workers w WHERE w.expires_at >= $2 AND (w.zones IS NULL OR z.zone = ANY(w.zones)))::int AS workers
    FROM (SELECT zone, count(*) AS instances FROM instances
          WHERE deleted_at IS NULL AND ($1::text[] IS NULL OR zone = ANY($1::text[])) GROUP BY zone) z`,
  /** up to $3 of the worker's ($1) instances in zone $2 with no running job, highest keys first, freed */
  release: `UPDATE instances SET lease_owner = NULL WHERE id IN (
      SELECT i.id FROM instances i
      WHERE i.lease_owner = $1 AND i.zone = $2 AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.state = 'running' AND j.instance = i.id)
      ORDER BY i.id DESC LIMIT $3 FOR UPDATE SKIP LOCKED)
    RETURNING id`,
  /** the worker's ($1) deleted instances with no running job: nothing more to run there */
  releaseDeleted: `UPDATE instances i SET lease_owner = NULL
    WHERE i.lease_owner = $1 AND i.deleted_at IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.state = 'running' AND j.instance = i.id)
    RETURNING id`,
  /** up to $3 free live instances of zone $2, lowest keys first, leased to $1 */
  claim: `UPDATE instances SET lease_owner = $1, lease_epoch = nextval('lease_epochs') WHERE id IN (
      SELECT id FROM instances
      WHERE lease_owner IS NULL AND deleted_at IS NULL AND zone = $2
      ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
    RETURNING id, lease_epoch AS epoch, zone`,
  /** running jobs of instances just claimed ($1): nobody held them, so nobody runs them (orphans
   * of a worker that stopped before its results were written) */
  interruptOrphans: `UPDATE jobs SET state = 'failed', error_code = 'KOOPHONE.JOB.1006', error_msg = $2, finished_at = $3
    WHERE state = 'running' AND instance = ANY($1::bigint[])
    RETURNING id, task`,
  leave: `UPDATE instances SET lease_owner = NULL WHERE lease_owner = $1`,
  forget: 'DELETE FROM workers WHERE worker_id = $1',
} as const;
