// SPEC §6: the caller's instances: status, paged listing, reboot.
import type { FastifyInstance } from 'fastify';
import { ApiError, parseQueryInt } from '../../core/index.js';
import { InstanceStatus } from '../../dispatch/index.js';
import { principalOf } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { requireOwned } from '../ownership.js';
import { INSTANCE_IDS_BODY } from '../schemas.js';
import { ok, tenantInstanceJson } from '../views.js';

type IdsBody = { instance_ids: string[] };
const FILTER_MAX = 128;

function optionalFilter(raw: unknown, name: string): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string' || raw.length > FILTER_MAX) {
    throw new ApiError('INVALID_FIELD', { field: name, rule: `must be a string of at most ${FILTER_MAX} characters` });
  }
  return raw;
}

export async function instanceRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { store, monitor } = deps;

  app.post<{ Body: IdsBody }>(
    '/v1/instances/batch-query-status',
    { schema: { body: INSTANCE_IDS_BODY } },
    async (request) => {
      const { tenantKey } = principalOf(request);
      const targets = await requireOwned(store, tenantKey, request.body.instance_ids);
      return ok({
        status_results: targets.map((t) => ({ instance_id: t.instanceId, status: monitor.status(t.instanceId) })),
      });
    },
  );

  app.get<{ Querystring: Record<string, unknown> }>('/v1/instances/batch-query', async (request) => {
    const { tenantKey } = principalOf(request);
    const q = request.query;
    const pageNo = parseQueryInt(q['page_no'], 1, Number.MAX_SAFE_INTEGER, 1);
    if (!pageNo.ok) throw new ApiError('INVALID_FIELD', { field: 'page_no', rule: 'must be an integer >= 1' });
    const pageSize = parseQueryInt(q['page_size'], 1, 100, 10);
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

  app.post<{ Body: IdsBody }>(
    '/v1/instances/reboot',
    { schema: { body: INSTANCE_IDS_BODY } },
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
