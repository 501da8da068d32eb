// SPEC §8: the operator's API. Plain JSON on success; errors in SPEC's envelope.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { ApiError, isValidAdbAddress, newTenantToken } from '../../core/index.js';
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

  // A tenant named in the path or the body that does not exist, an instance id that does not or
  // already exists: the store throws, the error handler answers (404, 400 or 409).

  async function issueToken(tenantId: string): Promise<{ token: string; prefix: string }> {
    const { token, hash, prefix } = newTenantToken();
    await store.addToken(tenantId, hash, prefix);
    return { token, prefix };
  }

  app.post('/tenants', { schema: CREATE_TENANT }, async (request) => {
    const tenant = await store.createTenant(request.body.name);
    const issued = await issueToken(tenant.tenantId);
    return { tenant_id: tenant.tenantId, name: tenant.name, token: issued.token };
  });

  app.get('/tenants', { schema: LIST_TENANTS }, async () => ({
    tenants: (await store.listTenants()).map((t) => ({ tenant_id: t.tenantId, name: t.name, created_at: iso(t.createdAt) })),
  }));

  app.post('/tenants/:tenant_id/tokens', { schema: ISSUE_TOKEN }, async (request) => issueToken(request.params.tenant_id));

  app.delete(
    '/tenants/:tenant_id/tokens/:token_prefix',
    { schema: REVOKE_TOKEN },
    async (request) => {
      const { tenant_id: tenantId, token_prefix: prefix } = request.params;
      const revoked = await store.revokeToken(tenantId, prefix);
      if (revoked === 0) throw new ApiError('NO_SUCH_TOKEN', { prefix });
      return { revoked };
    },
  );

  app.post('/instances', { schema: CREATE_INSTANCE }, async (request) => {
    const b = request.body;
    if (!isValidAdbAddress(b.adb_address)) throw new ApiError('INVALID_ADB_ADDRESS');
    const inst = await store.createInstance({
      instanceId: b.instance_id,
      adbAddress: b.adb_address,
      instanceName: b.instance_name ?? b.instance_id,
      zone: b.zone ?? 'local',
      tenantId: b.tenant_id ?? null,
    });
    return adminInstanceJson(inst, monitor.status(inst.instanceId));
  });

  app.put(
    '/instances/:instance_id/tenant',
    { schema: ASSIGN_INSTANCE },
    async (request) => {
      const id = request.params.instance_id;
      const inst = await store.assignInstance(id, request.body.tenant_id);
        return adminInstanceJson(inst, monitor.status(id));
    },
  );

  app.delete('/instances/:instance_id', { schema: DELETE_INSTANCE }, async (request) => {
    const id = request.params.instance_id;
    await store.deleteInstance(id);
    return { instance_id: id, deleted: true };
  });

  app.get('/instances', { schema: LIST_INSTANCES }, async () => ({
    instances: (await store.listInstances()).map((i) => adminInstanceJson(i, monitor.status(i.instanceId))),
  }));
}
