// The audit log (migration 3). Entries are appended inside the shared write batch
// (write-batch.ts) and read newest first, keyset-paged on the key.
import type { AuditQuery } from '../types.js';

/** the columns of an AuditRow (audit.ts) */
const AUDIT_ROW = `id, at, actor, token_prefix AS tokenPrefix, source, request_id AS requestId, action,
  targets, status, error_code AS errorCode, task_id AS taskId, replayed`;

/** One condition per filter, with its named parameter; a filter not given adds none, so each
 * combination is its own statement, planned with the index that suits it (an "@x IS NULL OR"
 * form would be planned once, for no index). */
const CONDITIONS: Readonly<Record<keyof AuditQuery, string>> = {
  actor: 'actor = @actor',
  action: 'action = @action',
  requestId: 'request_id = @requestId',
  since: 'at >= @since',
  until: 'at < @until',
};
const FILTERS = Object.keys(CONDITIONS) as (keyof AuditQuery)[];

export const AuditSql = {
  insert: `INSERT INTO audit_log
    (at, actor, token_prefix, source, request_id, action, targets, status, error_code, task_id, replayed)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  /** A page newest first: entries below @before matching the filters present in `query` (their
   * values are bound by name, never written into the text), at most @limit. */
  page(query: AuditQuery): string {
    const where = ['id < @before', ...FILTERS.filter((f) => query[f] !== undefined).map((f) => CONDITIONS[f])];
    return `SELECT ${AUDIT_ROW} FROM audit_log WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT @limit`;
  },
  /** retention: the oldest entries before a time, a batch at a time */
  purgeBatch: `DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log WHERE at < ? ORDER BY at LIMIT ?)`,
} as const;
