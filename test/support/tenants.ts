// A tenant's internal key, found the way the auth hook finds it: through a token.
import { hashToken, newTenantToken } from '../../src/core/ids.js';
import type { Store } from '../../src/store/index.js';

/** The key of the tenant that owns this token. */
export async function tenantKeyOfToken(store: Store, token: string): Promise<number> {
  const principal = await store.findToken(hashToken(token));
  if (principal === null) throw new Error('unknown token');
  return principal.tenantKey;
}

/** The tenant's key, through a token added for the purpose. */
export async function tenantKeyOf(store: Store, tenantId: string): Promise<number> {
  const { token, hash, prefix } = newTenantToken();
  await store.addToken(tenantId, hash, prefix);
  return tenantKeyOfToken(store, token);
}
