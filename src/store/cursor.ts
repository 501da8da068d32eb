// Keyset pages newest first (listTasks, listAudit) and their opaque cursors: a row key, as
// base64url text. A cursor that does not decode to a key this encoding produced is refused, not
// guessed at.
import { StoreError, StoreErrorCode } from './errors.js';

/** The key a page reads below (every key for the first page), once the limit is checked. Throws
 * INVALID_ARGUMENT for a limit below 1, INVALID_CURSOR for a cursor encodeCursor did not produce. */
export function pageBefore(limit: number, cursor: string | null): number {
  if (!Number.isInteger(limit) || limit < 1) throw new StoreError(StoreErrorCode.InvalidArgument, 'limit must be a positive integer');
  return cursor === null ? Number.MAX_SAFE_INTEGER : decodeCursor(cursor);
}

/** Rows read newest first with LIMIT limit + 1: the page, and the cursor past its last row (null
 * when no row is left after it). */
export function cutPage<T extends { id: number }>(rows: T[], limit: number): { page: T[]; nextCursor: string | null } {
  if (rows.length <= limit) return { page: rows, nextCursor: null };
  const page = rows.slice(0, limit);
  return { page, nextCursor: encodeCursor(page[limit - 1]!.id) };
}

function encodeCursor(key: number): string {
  return Buffer.from(String(key), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[1-9][0-9]{0,15}$/.test(text) || encodeCursor(Number(text)) !== cursor) {
    throw new StoreError(StoreErrorCode.InvalidCursor, 'cursor is not valid');
  }
  return Number(text);
}
