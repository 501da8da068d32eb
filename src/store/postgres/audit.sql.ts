// The audit log on PostgreSQL (migration 2): appended inside the shared write batch
// (write-batch.ts), read newest first, keyset-paged on the key, purged oldest first.
import type { AuditQuery } from '../types.js';

/** the columns of an AuditRow (audit.ts) */
const AUDIT_ROW = `id, at, actor, token_prefix AS "tokenPrefix", source, request_id AS "requestId", action,
  targets, status, error_code AS "errorCode", task_id AS "taskId", replayed`;

/** One condition per filter; a filter not given adds none, so each combination is planned with the
 * index that suits it (a "$n IS NULL OR" form would be planned for none). */
const CONDITIONS: Readonly<Record<keyof AuditQuery, string>> = {
  actor: 'actor = $',
  action: 'action = $',
  requestId: 'request_id = $',
  since: 'at >= $',
  until: 'at < $',
};
const FILTERS = Object.keys(CONDITIONS) as (keyof AuditQuery)[];

export const AuditSql = {
  /** many entries, one statement: the columns as arrays, in append order (ids follow it) */
  insert: `INSERT INTO audit_log (at, actor, token_prefix, source, request_id, action, targets, status, error_code, task_id, replayed)
    SELECT at, actor, token_prefix, source, request_id, action, targets, status, error_code, task_id, replayed
    FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::int[], $9::text[], $10::text[], $11::boolean[])
    WITH ORDINALITY AS e(at, actor, token_prefix, source, request_id, action, targets, status, error_code, task_id, replayed, n)
    ORDER BY n`,
  /** A page newest first: entries below $1 matching the filters present in `query`, at most $2.
   * The filters' values follow as $3... in FILTERS order (auditParams); never written into the text. */
  page(query: AuditQuery): string {
    let n = 2;
    const where = ['id < $1', ...FILTERS.filter((f) => query[f] !== undefined).map((f) => `${CONDITIONS[f]}${++n}`)];
    return `SELECT ${AUDIT_ROW} FROM audit_log WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT $2`;
  },
  /** the values of page(query)'s filters, in its order */
  params(query: AuditQuery): Array<string | number> {
    return FILTERS.flatMap((f) => (query[f] !== undefined ? [query[f]] : []));
  },
  /** retention: the oldest entries before a time, a batch at a time; a concurrent purge skips them */
  purgeBatch: `DELETE FROM audit_log WHERE id IN (
      SELECT id FROM audit_log WHERE at < $1 ORDER BY at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
} as const;
