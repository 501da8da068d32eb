// GET /admin/v1/audit: the audit log, filtered, newest first, page by page. Plain JSON (admin).
import { Type } from '@sinclair/typebox';
import { AUDIT_ACTIONS, LIMITS, type AuditAction } from '../../core/index.js';
import { ERROR_REPLIES, NullableString } from './common.js';

// The query's values stay strings here (no coercion: "1.5" and a repeated parameter are refused by
// the route's own parsing, in SPEC's words); the schema states which parameters there are, their
// lengths and the actions, so each is also documented.
export const AuditListQuery = Type.Object({
  tenant_id: Type.Optional(Type.String({ maxLength: LIMITS.tenantIdChars, description: "entries whose actor is this tenant" })),
  action: Type.Optional(
    Type.Unsafe<AuditAction>({ type: 'string', enum: [...AUDIT_ACTIONS], description: 'entries of this action' }),
  ),
  request_id: Type.Optional(Type.String({ maxLength: LIMITS.requestIdChars, description: 'entries of requests with this x-request-id' })),
  since: Type.Optional(Type.String({ maxLength: 64, description: 'entries at or after this ISO 8601 time (a date alone: its midnight UTC)' })),
  until: Type.Optional(Type.String({ maxLength: 64, description: 'entries before this ISO 8601 time' })),
  limit: Type.Optional(
    Type.String({
      description: `integer ${LIMITS.auditListLimit.min}-${LIMITS.auditListLimit.max}, default ${LIMITS.auditListLimit.default}`,
    }),
  ),
  cursor: Type.Optional(Type.String({ description: "the previous page's next_cursor (opaque)" })),
});

/** What an entry says was acted on; a field appears when the request named it. */
export const AuditTargetsJson = Type.Object({
  instance_ids: Type.Optional(Type.Array(Type.String())),
  instance_count: Type.Optional(Type.Integer()),
  instance_id: Type.Optional(Type.String()),
  task_id: Type.Optional(Type.String()),
  tenant_id: Type.Optional(NullableString()),
  token_prefix: Type.Optional(Type.String()),
});

export const AuditEntryJson = Type.Object({
  id: Type.Integer(),
  at: Type.String(),
  actor: NullableString(),
  token_prefix: NullableString(),
  source: Type.String(),
  request_id: Type.String(),
  action: Type.String(),
  targets: AuditTargetsJson,
  outcome: Type.Object({ status: Type.Integer(), error_code: Type.String(), task_id: NullableString(), replayed: Type.Boolean() }),
});

export const AUDIT_LIST = {
  querystring: AuditListQuery,
  response: {
    200: Type.Object({ entries: Type.Array(AuditEntryJson), next_cursor: NullableString() }),
    ...ERROR_REPLIES,
  },
} as const;
