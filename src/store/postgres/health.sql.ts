// Instance health shared through the database (health.ts, migration 5): written by the worker
// holding an instance, read by the API nodes; reboots asked by an API node, taken by that worker.

export const HealthSql = {
  /** $1 instance keys, $2 statuses, $3 now, $4 the worker: only instances it still holds, their
   * rows locked in key order, as every statement that locks several of a worker's rows does */
  record: `WITH mine AS (SELECT id FROM instances WHERE id = ANY($1::bigint[]) AND lease_owner = $4 ORDER BY id FOR NO KEY UPDATE)
    UPDATE instances i SET health_status = s.status, health_at = $3
    FROM unnest($1::bigint[], $2::smallint[]) AS s(id, status), mine
    WHERE i.id = s.id AND i.id = mine.id`,
  read: 'SELECT instance_id AS "instanceId", health_status AS status, health_at AS at FROM instances WHERE deleted_at IS NULL',
  /** the statuses measured at or after $1 (instances_health_at) */
  readSince:
    'SELECT instance_id AS "instanceId", health_status AS status, health_at AS at FROM instances WHERE health_at >= $1 AND deleted_at IS NULL',
  /** $1 instance key, $2 now: asked, and shown starting (4) until its worker says otherwise */
  requestReboot: `UPDATE instances SET reboot_requested_at = $2, health_status = 4, health_at = $2
    WHERE id = $1 AND deleted_at IS NULL RETURNING instance_id AS "instanceId"`,
  /** the worker's ($1) instances with a reboot asked for, taken (rows locked in key order, as above) */
  takeReboots: `WITH asked AS (
      SELECT id FROM instances WHERE lease_owner = $1 AND reboot_requested_at IS NOT NULL ORDER BY id FOR NO KEY UPDATE
    )
    UPDATE instances i SET reboot_requested_at = NULL FROM asked WHERE i.id = asked.id RETURNING i.id`,
} as const;
