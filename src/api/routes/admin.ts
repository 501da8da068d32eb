// SPEC §8: the operator's API. Plain JSON on success; errors in SPEC's envelope.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError, isValidAdbAddress, newTenantToken } from '../../core/index.js';
import { adminAuth } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import { ASSIGN_BODY, INSTANCE_BODY, TENANT_BODY } from '../schemas.js';
import { adminInstanceJson, iso } from '../views.js';

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

  // A tenant named in the path or the body that does not exist, an instance id that does not or
  // already exists: the store throws, the error handler answers (404, 400 or 409).

  async function issueToken(tenantId: string): Promise<{ token: string; prefix: string }> {
    const { token, hash, prefix } = newTenantToken();
    await store.addToken(tenantId, hash, prefix);
    return { token, prefix };
  }

  // The monitor re-reads the registry in the background: an admin call never waits for it.
  function refreshMonitor(request: FastifyRequest): void {
    monitor.refresh().catch((err: unknown) => request.log.error({ err }, 'health monitor refresh failed'));
  }

  app.post<{ Body: { name: string } }>('/tenants', { schema: { body: TENANT_BODY } }, async (request) => {
    const tenant = await store.createTenant(request.body.name);
    const issued = await issueToken(tenant.tenantId);
    return { tenant_id: tenant.tenantId, name: tenant.name, token: issued.token };
  });

  app.get('/tenants', async () => ({
    tenants: (await store.listTenants()).map((t) => ({ tenant_id: t.tenantId, name: t.name, created_at: iso(t.createdAt) })),
  }));

  app.post<{ Params: { tenant_id: string } }>('/tenants/:tenant_id/tokens', async (request) => issueToken(request.params.tenant_id));

  app.delete<{ Params: { tenant_id: string; token_prefix: string } }>(
    '/tenants/:tenant_id/tokens/:token_prefix',
    async (request) => {
      const { tenant_id: tenantId, token_prefix: prefix } = request.params;
      const revoked = await store.revokeToken(tenantId, prefix);
      if (revoked === 0) throw new ApiError('NOT_FOUND', `token_prefix ${prefix} matches no token of this tenant`);
      return { revoked };
    },
  );

  app.post<{ Body: InstanceBody }>('/instances', { schema: { body: INSTANCE_BODY } }, async (request) => {
    const b = request.body;
    if (!isValidAdbAddress(b.adb_address)) {
      throw new ApiError('INVALID_REQUEST', 'adb_address: must be host:port (hostname, IPv4 or [IPv6]; port 1-65535)');
    }
    const inst = await store.createInstance({
      instanceId: b.instance_id,
      adbAddress: b.adb_address,
      instanceName: b.instance_name ?? b.instance_id,
      zone: b.zone ?? 'local',
      tenantId: b.tenant_id ?? null,
    });
    refreshMonitor(request);
    return adminInstanceJson(inst, monitor.status(inst.instanceId));
  });

  app.put<{ Params: { instance_id: string }; Body: { tenant_id: string | null } }>(
    '/instances/:instance_id/tenant',
    { schema: { body: ASSIGN_BODY } },
    async (request) => {
      const id = request.params.instance_id;
      const inst = await store.assignInstance(id, request.body.tenant_id);
      refreshMonitor(request);
      return adminInstanceJson(inst, monitor.status(id));
    },
  );

  app.delete<{ Params: { instance_id: string } }>('/instances/:instance_id', async (request) => {
    const id = request.params.instance_id;
    await store.deleteInstance(id);
    refreshMonitor(request);
    return { instance_id: id, deleted: true };
  });

  app.get('/instances', async () => ({
    instances: (await store.listInstances()).map((i) => adminInstanceJson(i, monitor.status(i.instanceId))),
  }));
}
