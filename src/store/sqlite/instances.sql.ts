// Instances (registered adbd endpoints). Deleted ones stay as rows (finished jobs name them)
// with deleted_at set; every query below sees live instances only.

const VIEW_COLUMNS = `i.instance_id AS instanceId, i.adb_address AS adbAddress,
  i.instance_name AS instanceName, i.zone, t.tenant_id AS tenantId, i.created_at AS createdAt`;

export const InstanceSql = {
  insert: `INSERT INTO instances (instance_id, adb_address, instance_name, zone, tenant, created_at)
    VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT DO NOTHING`,
  /** every live instance, for the in-memory index (instance-index.ts) */
  index: `SELECT id AS instanceKey, instance_id AS instanceId, adb_address AS adbAddress, tenant
    FROM instances WHERE deleted_at IS NULL`,
  exists: 'SELECT 1 FROM instances WHERE instance_id = ? AND deleted_at IS NULL',
  assign: 'UPDATE instances SET tenant = ? WHERE instance_id = ? AND deleted_at IS NULL RETURNING id',
  softDelete: `UPDATE instances SET deleted_at = ?, tenant = NULL
    WHERE instance_id = ? AND deleted_at IS NULL RETURNING id`,
  list: `SELECT ${VIEW_COLUMNS}
    FROM instances i LEFT JOIN tenants t ON t.id = i.tenant
    WHERE i.deleted_at IS NULL ORDER BY i.instance_id`,
  one: `SELECT ${VIEW_COLUMNS}
    FROM instances i LEFT JOIN tenants t ON t.id = i.tenant
    WHERE i.instance_id = ? AND i.deleted_at IS NULL`,
  targets: `SELECT id AS instanceKey, instance_id AS instanceId, adb_address AS adbAddress
    FROM instances WHERE deleted_at IS NULL ORDER BY instance_id`,
  /** filters: @instanceId exact or NULL; @name substring of instance_name (ASCII case-insensitive) or NULL */
  page: `SELECT ${VIEW_COLUMNS}
    FROM instances i JOIN tenants t ON t.id = i.tenant
    WHERE i.tenant = @tenant AND i.deleted_at IS NULL
      AND (@instanceId IS NULL OR i.instance_id = @instanceId)
      AND (@name IS NULL OR instr(lower(i.instance_name), lower(@name)) > 0)
    ORDER BY i.instance_id
    LIMIT @limit OFFSET @offset`,
  pageCount: `SELECT count(*) AS n FROM instances i
    WHERE i.tenant = @tenant AND i.deleted_at IS NULL
      AND (@instanceId IS NULL OR i.instance_id = @instanceId)
      AND (@name IS NULL OR instr(lower(i.instance_name), lower(@name)) > 0)`,
} as const;
