// Tenants and their API tokens. Tokens are stored only as SHA-256 hashes.

export const TenantSql = {
  insert: 'INSERT INTO tenants (tenant_id, name, created_at) VALUES (?, ?, ?)',
  byPublicId: 'SELECT id, tenant_id AS tenantId, name, created_at AS createdAt FROM tenants WHERE tenant_id = ?',
  list: 'SELECT tenant_id AS tenantId, name, created_at AS createdAt FROM tenants ORDER BY id',
} as const;

export const TokenSql = {
  insert: 'INSERT INTO tokens (token_hash, prefix, tenant, created_at) VALUES (?, ?, ?, ?)',
  revoke: `UPDATE tokens SET revoked_at = ?
    WHERE tenant = ? AND prefix = ? AND revoked_at IS NULL`,
  findLive: `SELECT k.tenant AS tenantKey, t.tenant_id AS tenantId, k.token_hash AS tokenHash
    FROM tokens k JOIN tenants t ON t.id = k.tenant
    WHERE k.token_hash = ? AND k.revoked_at IS NULL`,
} as const;
