// SPEC §6: the caller's instances: status, paged listing, reboot.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { ApiError, InstanceStatus, LIMITS, parseQueryInt } from '../../core/index.js';
import { principalOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { requireOwned } from '../ownership.js';
import { BATCH_QUERY, BATCH_QUERY_STATUS, REBOOT } from '../schemas/index.js';
import { ok, tenantInstanceJson } from '../views.js';


function optionalFilter(raw: unknown, name: string): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string' || raw.length > LIMITS.filterChars) {
    throw new ApiError('INVALID_FIELD', { field: name, rule: `must be a string of at most ${LIMITS.filterChars} characters` });
  }
  return raw;
}

export async function instanceRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { store, monitor } = deps;
  const api = app.withTypeProvider<TypeBoxTypeProvider>();

  api.post(
    '/v1/instances/batch-query-status',
    { schema: BATCH_QUERY_STATUS },
    async (request) => {
      const { tenantKey } = principalOf(request);
      const targets = await requireOwned(store, tenantKey, request.body.instance_ids);
      return ok({
        status_results: targets.map((t) => ({ instance_id: t.instanceId, status: monitor.status(t.instanceId) })),
      });
    },
  );

  api.get<{ Querystring: Record<string, unknown> }>('/v1/instances/batch-query', { schema: BATCH_QUERY }, async (request) => {
    const { tenantKey } = principalOf(request);
    const q = request.query;
    const pageNo = parseQueryInt(q['page_no'], LIMITS.pageNo);
    if (!pageNo.ok) throw new ApiError('INVALID_FIELD', { field: 'page_no', rule: pageNo.message });
    const pageSize = parseQueryInt(q['page_size'], LIMITS.pageSize);
    if (!pageSize.ok) throw new ApiError('INVALID_FIELD', { field: 'page_size', rule: pageSize.message });
    const instanceId = optionalFilter(q['instance_id'], 'instance_id');
    const instanceName = optionalFilter(q['instance_name'], 'instance_name');
    const page = await store.pageInstances(tenantKey, {
      pageNo: pageNo.value,
      pageSize: pageSize.value,
      ...(instanceId === undefined ? {} : { instanceId }),
      ...(instanceName === undefined ? {} : { instanceName }),
    });
    return ok({
      result: page.items.map((i) => tenantInstanceJson(i, monitor.status(i.instanceId))),
      page_no: pageNo.value,
      page_size: pageSize.value,
      total_count: page.total,
    });
  });

  api.post(
    '/v1/instances/reboot',
    { schema: REBOOT, config: { audit: 'instance.reboot' } },
    async (request) => {
      const { tenantKey } = principalOf(request);
      const targets = await requireOwned(store, tenantKey, request.body.instance_ids);
      const notRunning = targets.filter((t) => monitor.status(t.instanceId) !== InstanceStatus.Running);
      if (notRunning.length > 0) {
        throw new ApiError('INSTANCE_NOT_RUNNING', { ids: notRunning.map((t) => t.instanceId) });
      }
      await Promise.all(targets.map((t) => monitor.reboot(t)));
      return ok();
    },
  );
}
