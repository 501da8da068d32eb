// The opaque `cursor` query parameter of the paged lists (tasks, the audit log).
import { ApiError, LIMITS } from '../../core/index.js';

/** The cursor to resume after, or null for the first page (absent or empty). Only its length is
 * checked here: the store tells a malformed one (StoreError INVALID_CURSOR, mapped to 400). */
export function queryCursor(raw: unknown): string | null {
  if (raw === undefined || raw === '') return null;
  if (typeof raw !== 'string' || raw.length > LIMITS.cursorChars) throw new ApiError('INVALID_CURSOR');
  return raw;
}
