// SPEC §8: the operator's API. Plain JSON on success; errors in SPEC's envelope.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, isValidAdbAddress, newTenantToken } from '../../core/index.js';
import type { Instance } from '../../store/index.js';
import { adminAuth } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import {
  ASSIGN_INSTANCE,
  CREATE_INSTANCE,
  CREATE_TENANT,
  DELETE_INSTANCE,
  ISSUE_TOKEN,
  LIST_INSTANCES,
  LIST_TENANTS,
  REVOKE_TOKEN,
} from '../schemas/index.js';
import { adminInstanceJson, iso } from '../views.js';

export async function adminRoutes(fastify: FastifyInstance, deps: ApiDeps): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const { store, monitor } = deps;
  app.addHook('onRequest', adminAuth(deps.adminTokenHash));

  async function issueToken(tenantId: string): Promise<{ token: string; prefix: string } | null> {
    const { token, hash, prefix } = newTenantToken();
    return (await store.addToken(tenantId, hash, prefix)) ? { token, prefix } : null;
  }

  // The monitor re-reads the registry in the background: an admin call never waits for it.
  function refreshMonitor(request: FastifyRequest): void {
    monitor.refresh().catch((err: unknown) => request.log.error({ err }, 'health monitor refresh failed'));
  }

  async function findInstance(instanceId: string): Promise<Instance | null> {
    return store.getInstance(instanceId);
  }

  app.post('/tenants', { schema: CREATE_TENANT }, async (request) => {
    const tenant = await store.createTenant(request.body.name);
    const issued = await issueToken(tenant.tenantId);
    if (issued === null) throw new Error(`tenant ${tenant.tenantId} vanished after creation`);
    return { tenant_id: tenant.tenantId, name: tenant.name, token: issued.token };
  });

  app.get('/tenants', { schema: LIST_TENANTS }, async () => ({
    tenants: (await store.listTenants()).map((t) => ({ tenant_id: t.tenantId, name: t.name, created_at: iso(t.createdAt) })),
  }));

  app.post('/tenants/:tenant_id/tokens', { schema: ISSUE_TOKEN }, async (request) => {
    const issued = await issueToken(request.params.tenant_id);
    if (issued === null) throw new ApiError('NO_SUCH_TENANT', { tenantId: request.params.tenant_id });
    return issued;
  });

  app.delete(
    '/tenants/:tenant_id/tokens/:token_prefix',
    { schema: REVOKE_TOKEN },
    async (request) => {
      const { tenant_id: tenantId, token_prefix: prefix } = request.params;
      if ((await store.getTenant(tenantId)) === null) {
        throw new ApiError('NO_SUCH_TENANT', { tenantId });
      }
      const revoked = await store.revokeToken(tenantId, prefix);
      if (revoked === 0) throw new ApiError('NO_SUCH_TOKEN', { prefix });
      return { revoked };
    },
  );

  app.post('/instances', { schema: CREATE_INSTANCE }, async (request) => {
    const b = request.body;
    if (!isValidAdbAddress(b.adb_address)) throw new ApiError('INVALID_ADB_ADDRESS');
    const tenantId = b.tenant_id ?? null;
    if (tenantId !== null && (await store.getTenant(tenantId)) === null) {
      throw new ApiError('UNKNOWN_TENANT', { tenantId });
    }
    const created = await store.createInstance({
      instanceId: b.instance_id,
      adbAddress: b.adb_address,
      instanceName: b.instance_name ?? b.instance_id,
      zone: b.zone ?? 'local',
      tenantId,
    });
    if (!created) throw new ApiError('INSTANCE_EXISTS', { instanceId: b.instance_id });
    refreshMonitor(request);
    const inst = await findInstance(b.instance_id);
    if (inst === null) throw new Error(`instance ${b.instance_id} vanished after creation`);
    return adminInstanceJson(inst, monitor.status(inst.instanceId));
  });

  app.put(
    '/instances/:instance_id/tenant',
    { schema: ASSIGN_INSTANCE },
    async (request) => {
      const id = request.params.instance_id;
      const res = await store.assignInstance(id, request.body.tenant_id);
      if (res === 'no-instance') throw new ApiError('NO_SUCH_INSTANCE', { instanceId: id });
      if (res === 'no-tenant') throw new ApiError('UNKNOWN_TENANT', { tenantId: String(request.body.tenant_id) });
      refreshMonitor(request);
      const inst = await findInstance(id);
      if (inst === null) throw new ApiError('NO_SUCH_INSTANCE', { instanceId: id });
      return adminInstanceJson(inst, monitor.status(id));
    },
  );

  app.delete('/instances/:instance_id', { schema: DELETE_INSTANCE }, async (request) => {
    const id = request.params.instance_id;
    if (!(await store.deleteInstance(id))) throw new ApiError('NO_SUCH_INSTANCE', { instanceId: id });
    refreshMonitor(request);
    return { instance_id: id, deleted: true };
  });

  app.get('/instances', { schema: LIST_INSTANCES }, async () => ({
    instances: (await store.listInstances()).map((i) => adminInstanceJson(i, monitor.status(i.instanceId))),
  }));
}
