import { randomBytes, createHash, timingSafeEqual } from 'node:crypto';

/** task_id and job_id: 32 lowercase hex characters (128 random bits). */
export function newHexId(): string {
  return randomBytes(16).toString('hex');
}

export const HEX_ID = /^[0-9a-f]{32}$/;
export const INSTANCE_ID = /^[A-Za-z0-9_-]{1,32}$/;

/** Tokens are shown once and stored only as SHA-256 hashes. */
export function newToken(prefix: string): string {
  return `${prefix}_${randomBytes(24).toString('base64url')}`;
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** Constant-time comparison of two token hashes. */
export function hashesEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
