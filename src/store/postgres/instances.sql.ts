// Instances (registered adbd endpoints). Deleted ones stay as rows (finished jobs name them)
// with deleted_at set; every query below sees live instances only.

const VIEW_COLUMNS = `i.instance_id AS "instanceId", i.adb_address AS "adbAddress",
  i.instance_name AS "instanceName", i.zone, t.tenant_id AS "tenantId", i.created_at AS "createdAt"`;

const TARGET = 'id AS "instanceKey", instance_id AS "instanceId", adb_address AS "adbAddress"';

/** $1 tenant, $2 exact instance id or NULL, $3 name substring or NULL (ASCII case-insensitive) */
const PAGE_FILTER = `i.tenant = $1 AND i.deleted_at IS NULL
      AND ($2::text IS NULL OR i.instance_id = $2)
      AND ($3::text IS NULL OR strpos(lower(i.instance_name), lower($3)) > 0)`;

export const InstanceSql = {
  insert: `INSERT INTO instances (instance_id, adb_address, instance_name, zone, tenant, created_at)
    VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT DO NOTHING RETURNING id`,
  /** a batch as arrays; ids already live come back as not inserted (the caller names them) */
  insertMany: `INSERT INTO instances (instance_id, adb_address, instance_name, zone, tenant, created_at)
    SELECT u.id, u.address, u.name, u.zone, u.tenant, $6
    FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[]) WITH ORDINALITY AS u(id, address, name, zone, tenant, n)
    ORDER BY u.n
    ON CONFLICT DO NOTHING RETURNING instance_id AS "instanceId"`,
  exists: 'SELECT 1 FROM instances WHERE instance_id = $1 AND deleted_at IS NULL',
  /** the row and its owner, locked until the admin change commits (changes to one instance take turns) */
  lockLive: 'SELECT id, tenant FROM instances WHERE instance_id = $1 AND deleted_at IS NULL FOR UPDATE',
  setTenant: 'UPDATE instances SET tenant = $1 WHERE id = $2',
  softDelete: 'UPDATE instances SET deleted_at = $1, tenant = NULL WHERE id = $2',
  list: `SELECT ${VIEW_COLUMNS}
    FROM instances i LEFT JOIN tenants t ON t.id = i.tenant
    WHERE i.deleted_at IS NULL ORDER BY i.instance_id`,
  one: `SELECT ${VIEW_COLUMNS}
    FROM instances i LEFT JOIN tenants t ON t.id = i.tenant
    WHERE i.instance_id = $1 AND i.deleted_at IS NULL`,
  targets: `SELECT ${TARGET} FROM instances WHERE deleted_at IS NULL ORDER BY instance_id`,
  /** the live instances among ids (served by instances_live_id) */
  targetsOf: `SELECT ${TARGET} FROM instances WHERE instance_id = ANY($1::text[]) AND deleted_at IS NULL`,
  /** the tenant's live instances among ids (served by instances_tenant) */
  ownedOf: `SELECT ${TARGET} FROM instances WHERE tenant = $1 AND instance_id = ANY($2::text[]) AND deleted_at IS NULL`,
  page: `SELECT ${VIEW_COLUMNS}
    FROM instances i JOIN tenants t ON t.id = i.tenant
    WHERE ${PAGE_FILTER}
    ORDER BY i.instance_id
    LIMIT $4 OFFSET $5`,
  pageCount: `SELECT count(*)::int AS n FROM instances i WHERE ${PAGE_FILTER}`,
} as const;
