// Every id adbfleet mints, and its tokens: one place says what each looks like.
import { randomBytes, randomUUID, createHash, timingSafeEqual } from 'node:crypto';

/** task_id and job_id: 32 lowercase hex characters (128 random bits). */
export function newHexId(): string {
  return randomBytes(16).toString('hex');
}

/** n ids like newHexId's from one call into the random source: a task's jobs are minted together. */
export function newHexIds(n: number): string[] {
  const hex = randomBytes(16 * n).toString('hex');
  const ids = new Array<string>(n);
  for (let i = 0; i < n; i++) ids[i] = hex.slice(32 * i, 32 * i + 32);
  return ids;
}

export const HEX_ID = /^[0-9a-f]{32}$/;

/** tenant_id: "t_" and 12 lowercase hex characters (48 random bits; a handful of tenants, chosen by an operator). */
export function newTenantId(): string {
  return `t_${randomBytes(6).toString('hex')}`;
}

/** The x-request-id of a request that came without one (a UUID, as the API has always answered). */
export function newRequestId(): string {
  return randomUUID();
}

/** Tokens are shown once and stored only as SHA-256 hashes. */
export function newToken(prefix: string): string {
  return `${prefix}_${randomBytes(24).toString('base64url')}`;
}

/** A tenant token's first characters: shown with it, and how an operator names it to revoke it. */
export const TOKEN_PREFIX_CHARS = 12;

/** A new tenant token, with what the store keeps of it (its hash and display prefix). */
export function newTenantToken(): { token: string; hash: Buffer; prefix: string } {
  const token = newToken('afk');
  return { token, hash: hashToken(token), prefix: token.slice(0, TOKEN_PREFIX_CHARS) };
}

/** What a tenant token looks like (newToken('afk')): "afk_" and 32 base64url characters. */
const TENANT_TOKEN = /^afk_[A-Za-z0-9_-]{32}$/;

/**
 * The display prefix of a presented credential shaped like a tenant token, else null: the audit
 * log names the token a request used (or tried) by it. Anything else (the admin token, a string
 * of another shape) gets no prefix, since its first characters may be most of a secret.
 */
export function tokenPrefixOf(credential: unknown): string | null {
  return typeof credential === 'string' && TENANT_TOKEN.test(credential) ? credential.slice(0, TOKEN_PREFIX_CHARS) : null;
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Constant-time comparison of two token hashes. */
export function hashesEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
