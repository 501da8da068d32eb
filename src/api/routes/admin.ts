// SPEC §8: the operator's API. Plain JSON on success; errors in SPEC's envelope.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, isValidAdbAddress, newTenantToken } from '../../core/index.js';
import type { Instance } from '../../store/index.js';
import { adminAuth } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { ASSIGN_BODY, INSTANCE_BODY, TENANT_BODY } from '../schemas.js';
import { adminInstanceJson, iso } from '../views.js';

/** Characters of a token kept in clear to name it (e.g. for revocation). */

type InstanceBody = {
  instance_id: string;
  adb_address: string;
  instance_name?: string;
  zone?: string;
  tenant_id?: string | null;
};

export async function adminRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
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

  app.post<{ Body: { name: string } }>('/tenants', { schema: { body: TENANT_BODY } }, async (request) => {
    const tenant = await store.createTenant(request.body.name);
    const issued = await issueToken(tenant.tenantId);
    if (issued === null) throw new Error(`tenant ${tenant.tenantId} vanished after creation`);
    return { tenant_id: tenant.tenantId, name: tenant.name, token: issued.token };
  });

  app.get('/tenants', async () => ({
    tenants: (await store.listTenants()).map((t) => ({ tenant_id: t.tenantId, name: t.name, created_at: iso(t.createdAt) })),
  }));

  app.post<{ Params: { tenant_id: string } }>('/tenants/:tenant_id/tokens', async (request) => {
    const issued = await issueToken(request.params.tenant_id);
    if (issued === null) throw new ApiError('NO_SUCH_TENANT', { tenantId: request.params.tenant_id });
    return issued;
  });

  app.delete<{ Params: { tenant_id: string; token_prefix: string } }>(
    '/tenants/:tenant_id/tokens/:token_prefix',
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

  app.post<{ Body: InstanceBody }>('/instances', { schema: { body: INSTANCE_BODY } }, async (request) => {
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

  app.put<{ Params: { instance_id: string }; Body: { tenant_id: string | null } }>(
    '/instances/:instance_id/tenant',
    { schema: { body: ASSIGN_BODY } },
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

  app.delete<{ Params: { instance_id: string } }>('/instances/:instance_id', async (request) => {
    const id = request.params.instance_id;
    if (!(await store.deleteInstance(id))) throw new ApiError('NO_SUCH_INSTANCE', { instanceId: id });
    refreshMonitor(request);
    return { instance_id: id, deleted: true };
  });

  app.get('/instances', async () => ({
    instances: (await store.listInstances()).map((i) => adminInstanceJson(i, monitor.status(i.instanceId))),
  }));
}
