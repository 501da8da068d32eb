// The audit log's types (docs/API.md, "The audit log"): what appendAudit takes and listAudit
// returns. Apart from types.ts, which names them in the Store interface and re-exports them.
import type { AuditAction } from '../core/index.js';

/** What an audited request acted on, as far as the request named it (every field optional). */
export interface AuditTargets {
  /** the instances a command, reboot or bulk registration named (at most LIMITS.auditTargetIds) */
  instanceIds?: string[];
  /** how many instances it named, when more than instanceIds holds */
  instanceCount?: number;
  instanceId?: string;
  taskId?: string;
  /** null: an instance unassigned */
  tenantId?: string | null;
  tokenPrefix?: string;
}

/** One state-changing request as the audit log keeps it (docs/API.md, "The audit log"). */
export interface AuditEntry {
  /** when the answer was sent, epoch ms */
  at: number;
  /** 'admin', the tenant's public id, or null when the credential was refused or never checked */
  actor: string | null;
  /** the display prefix of the tenant token presented (never the token), else null */
  tokenPrefix: string | null;
  /** the client's address */
  source: string;
  requestId: string;
  action: AuditAction;
  targets: AuditTargets;
  /** HTTP status and error_code answered ('0' for success); the task a submit created or replayed,
   * and whether it was an idempotent replay (the same request id and body again: nothing new ran) */
  outcome: { status: number; errorCode: string; taskId: string | null; replayed: boolean };
}

/** A stored entry: its id orders the log (a later append has a larger id) and is never reused. */
export interface AuditRecord extends AuditEntry {
  id: number;
}

/** Filters of listAudit; each one given must match (absent: any). */
export interface AuditQuery {
  actor?: string;
  action?: AuditAction;
  requestId?: string;
  /** at >= since */
  since?: number;
  /** at < until */
  until?: number;
}
