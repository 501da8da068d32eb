// Tenants and their API tokens. Tokens are stored only as SHA-256 hashes.

export const TenantSql = {
  insert: 'INSERT INTO tenants (tenant_id, name, created_at) VALUES ($1, $2, $3)',
  byPublicId: 'SELECT id, tenant_id AS "tenantId", name, created_at AS "createdAt" FROM tenants WHERE tenant_id = $1',
  list: 'SELECT tenant_id AS "tenantId", name, created_at AS "createdAt" FROM tenants ORDER BY id',
} as const;

export const TokenSql = {
  insert: 'INSERT INTO tokens (token_hash, prefix, tenant, created_at) VALUES ($1, $2, $3, $4)',
  revoke: 'UPDATE tokens SET revoked_at = $1 WHERE tenant = $2 AND prefix = $3 AND revoked_at IS NULL',
  findLive: `SELECT k.tenant AS "tenantKey", t.tenant_id AS "tenantId", k.token_hash AS "tokenHash"
    FROM tokens k JOIN tenants t ON t.id = k.tenant
    WHERE k.token_hash = $1 AND k.revoked_at IS NULL`,
} as const;
