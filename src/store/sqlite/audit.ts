// The audit log on SQLite: appends (run by the shared write batch, inside its transaction), pages
// newest first (retention.ts purges them). Targets are kept as one JSON text: what they name varies
// by action, and nothing filters on them.
import type { AuditAction } from '../../core/index.js';
import type { AuditEntry, AuditQuery, AuditRecord, AuditTargets } from '../types.js';
import { AuditSql } from './audit.sql.js';
import { cutPage, pageBefore } from '../cursor.js';
import type { StatementCache } from './db.js';

interface AuditRow {
  id: number;
  at: number;
  actor: string | null;
  tokenPrefix: string | null;
  source: string;
  requestId: string;
  action: string;
  targets: string;
  status: number;
  errorCode: string;
  taskId: string | null;
  replayed: number;
}

export class AuditLog {
  readonly #stmts: StatementCache;

  constructor(stmts: StatementCache) {
    this.#stmts = stmts;
  }

  /** One entry, in the caller's transaction (the write batch's). */
  append(e: AuditEntry): void {
    this.#stmts
      .get(AuditSql.insert)
      .run(
        e.at,
        e.actor,
        e.tokenPrefix,
        e.source,
        e.requestId,
        e.action,
        JSON.stringify(e.targets),
        e.outcome.status,
        e.outcome.errorCode,
        e.outcome.taskId,
        e.outcome.replayed ? 1 : 0,
      );
  }

  list(query: AuditQuery, limit: number, cursor: string | null): { entries: AuditRecord[]; nextCursor: string | null } {
    const params: Record<string, string | number> = { before: pageBefore(limit, cursor), limit: limit + 1 };
    for (const [key, value] of Object.entries(query) as [keyof AuditQuery, string | number | undefined][]) {
      if (value !== undefined) params[key] = value;
    }
    const rows = this.#stmts.get(AuditSql.page(query)).all(params) as AuditRow[];
    const { page, nextCursor } = cutPage(rows, limit);
    return { entries: page.map(toRecord), nextCursor };
  }
}

function toRecord(r: AuditRow): AuditRecord {
  return {
    id: r.id,
    at: r.at,
    actor: r.actor,
    tokenPrefix: r.tokenPrefix,
    source: r.source,
    requestId: r.requestId,
    // Written from an AuditAction by append, and never changed.
    action: r.action as AuditAction,
    targets: JSON.parse(r.targets) as AuditTargets,
    outcome: { status: r.status, errorCode: r.errorCode, taskId: r.taskId, replayed: r.replayed === 1 },
  };
}
