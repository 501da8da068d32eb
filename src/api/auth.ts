// Tenant tokens (X-Auth-Token) and the operator's bearer token. Only SHA-256 hashes are stored
// and compared, in constant time.
import type { FastifyRequest } from 'fastify';
import { ApiError, hashesEqual, hashToken, LIMITS } from '../core/index.js';
import type { Principal, Store } from '../store/index.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    /** the admin bearer token was accepted (the audit log's actor 'admin') */
    admin: boolean;
  }
}

export function tenantAuth(store: Store) {
  return async function authenticate(request: FastifyRequest): Promise<void> {
    const token = request.headers['x-auth-token'];
    if (typeof token !== 'string' || token.length === 0 || token.length > LIMITS.tokenChars) {
      throw new ApiError('UNAUTHORIZED');
    }
    const hash = hashToken(token);
    const found = await store.findToken(hash);
    if (found === null || !hashesEqual(found.tokenHash, hash)) {
      throw new ApiError('UNAUTHORIZED');
    }
    request.principal = { tenantKey: found.tenantKey, tenantId: found.tenantId };
  };
}

const BEARER = new RegExp(`^Bearer +(\\S{1,${LIMITS.tokenChars}})$`, 'i');

export function adminAuth(adminTokenHash: Buffer) {
  return async function authenticateAdmin(request: FastifyRequest): Promise<void> {
    const header = request.headers.authorization;
    const m = typeof header === 'string' ? BEARER.exec(header) : null;
    if (m === null || !hashesEqual(hashToken(m[1] ?? ''), adminTokenHash)) {
      throw new ApiError('ADMIN_UNAUTHORIZED');
    }
    request.admin = true;
  };
}

/** The credential a request presents: its X-Auth-Token, else its bearer token (the audit log
 * names it by prefix, accepted or not). */
export function presentedCredential(request: FastifyRequest): string | undefined {
  const token = request.headers['x-auth-token'];
  if (typeof token === 'string') return token;
  const header = request.headers.authorization;
  return typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
}

/** The authenticated tenant of a tenant route (the auth hook ran). */
export function principalOf(request: FastifyRequest): Principal {
  if (request.principal === null) throw new Error('tenant route without authentication');
  return request.principal;
}
