// SPEC §8: the operator's API. Plain JSON on success; errors in SPEC's envelope.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import type { Static } from '@sinclair/typebox';
import { ApiError, LIMITS, adbAddressProblem, isValidAdbAddress, newTenantToken } from '../../core/index.js';
import { StoreError, StoreErrorCode, type Instance } from '../../store/index.js';
import { noteAudit } from '../audit.js';
import { adminAuth } from '../auth.js';
import type { ApiDeps } from '../deps.js';
import {
  ASSIGN_INSTANCE,
  BULK_INSTANCES,
  CREATE_INSTANCE,
  CREATE_TENANT,
  DELETE_INSTANCE,
  ISSUE_TOKEN,
  type InstanceBody,
  LIST_INSTANCES,
  LIST_TENANTS,
  REVOKE_TOKEN,
} from '../schemas/index.js';
import { adminInstanceJson, iso } from '../views.js';
import { auditRoutes } from './audit.js';

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

  app.post('/tenants', { schema: CREATE_TENANT, config: { audit: 'tenant.create' } }, async (request) => {
    const tenant = await store.createTenant(request.body.name);
    noteAudit(request, { tenantId: tenant.tenantId });
    const issued = await issueToken(tenant.tenantId);
    noteAudit(request, { tokenPrefix: issued.prefix });
    return { tenant_id: tenant.tenantId, name: tenant.name, token: issued.token };
  });

  app.get('/tenants', { schema: LIST_TENANTS }, async () => ({
    tenants: (await store.listTenants()).map((t) => ({ tenant_id: t.tenantId, name: t.name, created_at: iso(t.createdAt) })),
  }));

  app.post('/tenants/:tenant_id/tokens', { schema: ISSUE_TOKEN, config: { audit: 'token.issue' } }, async (request) => {
    const issued = await issueToken(request.params.tenant_id);
    noteAudit(request, { tokenPrefix: issued.prefix });
    return issued;
  });

  app.delete(
    '/tenants/:tenant_id/tokens/:token_prefix',
    { schema: REVOKE_TOKEN, config: { audit: 'token.revoke' } },
    async (request) => {
      const { tenant_id: tenantId, token_prefix: prefix } = request.params;
      const revoked = await store.revokeToken(tenantId, prefix);
      if (revoked === 0) throw new ApiError('NO_SUCH_TOKEN', { prefix });
      return { revoked };
    },
  );

  app.post('/instances', { schema: CREATE_INSTANCE, config: { audit: 'instance.create' } }, async (request) => {
    const b = request.body;
    const problem = adbAddressProblem(b.adb_address);
    if (problem !== null) throw new ApiError('INVALID_ADB_ADDRESS', { rule: problem });
    const inst = await store.createInstance(newInstance(b));
    return adminInstanceJson(inst, monitor.status(inst.instanceId));
  });

  // All or nothing, in one transaction: an entry at fault refuses the whole request, naming it.
  app.post('/instances/bulk', { schema: BULK_INSTANCES, bodyLimit: LIMITS.bulkBodyBytes, config: { audit: 'instance.bulk' } }, async (request) => {
    const list = request.body.instances;
    const badAddress = indexesWhere(list, (b) => !isValidAdbAddress(b.adb_address));
    if (badAddress.length > 0) throw new ApiError('BULK_INVALID_ADB_ADDRESS', { entries: entries(list, badAddress) });
    const seen = new Set<string>();
    const repeated = indexesWhere(list, (b) => {
      if (seen.has(b.instance_id)) return true;
      seen.add(b.instance_id);
      return false;
    });
    if (repeated.length > 0) throw new ApiError('BULK_DUPLICATE_ID', { entries: entries(list, repeated) });
    try {
      return { registered: (await store.createInstances(list.map(newInstance))).length };
    } catch (err) {
      if (!(err instanceof StoreError && err.code === StoreErrorCode.InstanceExists)) throw err;
      const existing = new Set(err.instanceIds);
      throw new ApiError('BULK_INSTANCES_EXIST', { entries: entries(list, indexesWhere(list, (b) => existing.has(b.instance_id))) });
    }
  });

  app.put(
    '/instances/:instance_id/tenant',
    { schema: ASSIGN_INSTANCE, config: { audit: 'instance.assign' } },
    async (request) => {
      const id = request.params.instance_id;
      const inst = await store.assignInstance(id, request.body.tenant_id);
        return adminInstanceJson(inst, monitor.status(id));
    },
  );

  app.delete('/instances/:instance_id', { schema: DELETE_INSTANCE, config: { audit: 'instance.delete' } }, async (request) => {
    const id = request.params.instance_id;
    await store.deleteInstance(id);
    return { instance_id: id, deleted: true };
  });

  app.get('/instances', { schema: LIST_INSTANCES }, async () => ({
    instances: (await store.listInstances()).map((i) => adminInstanceJson(i, monitor.status(i.instanceId))),
  }));

  await auditRoutes(fastify, deps);
}

type InstanceEntry = Static<typeof InstanceBody>;

function newInstance(b: InstanceEntry): Omit<Instance, 'createdAt'> {
  return {
    instanceId: b.instance_id,
    adbAddress: b.adb_address,
    instanceName: b.instance_name ?? b.instance_id,
    zone: b.zone ?? 'local',
    tenantId: b.tenant_id ?? null,
  };
}

function indexesWhere(list: readonly InstanceEntry[], test: (b: InstanceEntry) => boolean): number[] {
  const out: number[] = [];
  for (const [i, b] of list.entries()) if (test(b)) out.push(i);
  return out;
}

/** "[3] phone-03, [7] phone-07" for the first few, then how many more. */
function entries(list: readonly InstanceEntry[], indexes: readonly number[]): string[] {
  const named = indexes.slice(0, LIMITS.echoedEntries).map((i) => `[${i}] ${list[i]!.instance_id}`);
  const more = indexes.length - named.length;
  return more > 0 ? [...named, `and ${more} more`] : named;
}
