// GET /admin/v1/audit: the audit log for the operator (registered inside the admin routes, behind
// their bearer token). Tenants have no route to it. Filters are parsed here, each refusal naming
// its parameter; paging is the task list's (an opaque cursor, newest first).
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { ApiError, isValidRequestId, LIMITS, parseQueryInt, parseQueryTime } from '../../core/index.js';
import type { AuditQuery } from '../../store/index.js';
import type { ApiDeps } from '../deps.js';
import { AUDIT_LIST } from '../schemas/index.js';
import { auditEntryJson } from '../views.js';
import { queryCursor } from './cursor.js';

export async function auditRoutes(fastify: FastifyInstance, deps: ApiDeps): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { store } = deps;

  app.get('/audit', { schema: AUDIT_LIST }, async (request) => {
    const q = request.query;
    const limit = parseQueryInt(q.limit, LIMITS.auditListLimit);
    if (!limit.ok) throw new ApiError('INVALID_FIELD', { field: 'limit', rule: limit.message });
    const query: AuditQuery = {};
    if (q.tenant_id !== undefined && q.tenant_id !== '') query.actor = q.tenant_id;
    if (q.action !== undefined) query.action = q.action;
    if (q.request_id !== undefined) {
      if (!isValidRequestId(q.request_id)) {
        throw new ApiError('INVALID_FIELD', { field: 'request_id', rule: `must be 1-${LIMITS.requestIdChars} printable ASCII characters` });
      }
      query.requestId = q.request_id;
    }
    for (const name of ['since', 'until'] as const) {
      const time = parseQueryTime(q[name]);
      if (!time.ok) throw new ApiError('INVALID_FIELD', { field: name, rule: time.message });
      if (time.value !== undefined) query[name] = time.value;
    }
    if (query.since !== undefined && query.until !== undefined && query.until <= query.since) {
      throw new ApiError('INVALID_FIELD', { field: 'until', rule: 'must be later than since' });
    }
    const page = await store.listAudit(query, limit.value, queryCursor(q.cursor));
    return { entries: page.entries.map(auditEntryJson), next_cursor: page.nextCursor };
  });
}
