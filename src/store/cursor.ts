// Opaque page cursors (listTasks, listAudit): a row key, as base64url text. A cursor that does not
// decode to a key this encoding produced is refused, not guessed at.
import { StoreError, StoreErrorCode } from './errors.js';

export function encodeCursor(key: number): string {
  return Buffer.from(String(key), 'utf8').toString('base64url');
}

/** The key a cursor names. Throws INVALID_CURSOR for anything encodeCursor did not produce. */
export function decodeCursor(cursor: string): number {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!/^[1-9][0-9]{0,15}$/.test(text) || encodeCursor(Number(text)) !== cursor) {
    throw new StoreError(StoreErrorCode.InvalidCursor, 'cursor is not valid');
  }
  return Number(text);
}
