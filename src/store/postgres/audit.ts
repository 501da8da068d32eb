// The audit log on PostgreSQL: the batch's entries in one INSERT (run by the shared write batch,
// inside its transaction), pages newest first, purge oldest first. Targets are jsonb: what they
// name varies by action, and nothing filters on them yet.
import type pg from 'pg';
import type { AuditAction } from '../../core/index.js';
import { cutPage, pageBefore } from '../cursor.js';
import { StoreError, StoreErrorCode } from '../errors.js';
import type { AuditEntry, AuditQuery, AuditRecord, AuditTargets } from '../types.js';
import { AuditSql } from './audit.sql.js';
import type { Queryable } from './db.js';

interface AuditRow {
  id: number;
  at: number;
  actor: string | null;
  tokenPrefix: string | null;
  source: string;
  requestId: string;
  action: string;
  targets: AuditTargets;
  status: number;
  errorCode: string;
  taskId: string | null;
  replayed: boolean;
}

/** Entries in append order, one statement, in the caller's transaction (the write batch's). */
export async function appendAudit(c: Queryable, entries: readonly AuditEntry[]): Promise<void> {
  const values = [
    entries.map((e) => e.at),
    entries.map((e) => e.actor),
    entries.map((e) => e.tokenPrefix),
    entries.map((e) => e.source),
    entries.map((e) => e.requestId),
    entries.map((e) => e.action),
    entries.map((e) => JSON.stringify(e.targets)),
    entries.map((e) => e.outcome.status),
    entries.map((e) => e.outcome.errorCode),
    entries.map((e) => e.outcome.taskId),
    entries.map((e) => e.outcome.replayed),
  ];
  // Named (prepared once per connection, see task-writer.ts): one in nearly every batch.
  await c.query({ name: 'audit-insert', text: AuditSql.insert, values });
}

export async function listAudit(
  pool: pg.Pool,
  query: AuditQuery,
  limit: number,
  cursor: string | null,
): Promise<{ entries: AuditRecord[]; nextCursor: string | null }> {
  const before = pageBefore(limit, cursor);
  const rows = (await pool.query<AuditRow>(AuditSql.page(query), [before, limit + 1, ...AuditSql.params(query)])).rows;
  const { page, nextCursor } = cutPage(rows, limit);
  return { entries: page.map(toRecord), nextCursor };
}

/** Deletes up to batchSize entries whose `at` is before `before`, oldest first; returns how many. */
export async function purgeAudit(pool: pg.Pool, before: number, batchSize: number): Promise<number> {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new StoreError(StoreErrorCode.InvalidArgument, 'batchSize must be a positive integer');
  return (await pool.query(AuditSql.purgeBatch, [before, batchSize])).rowCount ?? 0;
}

function toRecord(r: AuditRow): AuditRecord {
  return {
    id: r.id,
    at: r.at,
    actor: r.actor,
    tokenPrefix: r.tokenPrefix,
    source: r.source,
    requestId: r.requestId,
    // Written from an AuditAction by appendAudit, and never changed.
    action: r.action as AuditAction,
    targets: r.targets,
    outcome: { status: r.status, errorCode: r.errorCode, taskId: r.taskId, replayed: r.replayed },
  };
}
