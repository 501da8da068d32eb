// The operator's API (/admin/v1), authenticated with the admin token as a bearer token.
import { Transport, type Call, type ClientOptions } from './http.js';
import type { AdminInstance, Answer, AuditPage, AuditQuery, InstanceEntry, Tenant } from './types.js';

export interface AdminClient {
  listTenants(): Promise<Tenant[]>;
  /** the tenant and its first token (shown once) */
  createTenant(name: string): Promise<Answer<'/admin/v1/tenants', 'post'>>;
  issueToken(tenantId: string): Promise<Answer<'/admin/v1/tenants/{tenant_id}/tokens', 'post'>>;
  revokeToken(tenantId: string, prefix: string): Promise<Answer<'/admin/v1/tenants/{tenant_id}/tokens/{token_prefix}', 'delete'>>;
  listInstances(): Promise<AdminInstance[]>;
  createInstance(i: InstanceEntry): Promise<AdminInstance>;
  /** all or nothing: an entry at fault refuses the whole list */
  bulkInstances(list: InstanceEntry[]): Promise<Answer<'/admin/v1/instances/bulk', 'post'>>;
  /** null takes the instance from its tenant */
  assignInstance(instanceId: string, tenantId: string | null): Promise<AdminInstance>;
  deleteInstance(instanceId: string): Promise<Answer<'/admin/v1/instances/{instance_id}', 'delete'>>;
  /** one page of the audit log, newest first; pass its next_cursor as `cursor` for the next */
  audit(q?: AuditQuery): Promise<AuditPage>;
}

const PREFIX = '/admin/v1';
const seg = encodeURIComponent;

export function createAdminClient(opts: ClientOptions): AdminClient {
  const t = new Transport(opts, { authorization: `Bearer ${opts.token}` });
  const call = async <T>(c: Call): Promise<T> => (await t.json({ ...c, path: `${PREFIX}${c.path}` })) as T;
  return {
    listTenants: async () => (await call<{ tenants: Tenant[] }>({ method: 'GET', path: '/tenants' })).tenants,
    createTenant: (name) => call({ method: 'POST', path: '/tenants', body: { name } }),
    issueToken: (tenantId) => call({ method: 'POST', path: `/tenants/${seg(tenantId)}/tokens` }),
    revokeToken: (tenantId, prefix) => call({ method: 'DELETE', path: `/tenants/${seg(tenantId)}/tokens/${seg(prefix)}` }),
    listInstances: async () => (await call<{ instances: AdminInstance[] }>({ method: 'GET', path: '/instances' })).instances,
    createInstance: (i) => call({ method: 'POST', path: '/instances', body: i }),
    bulkInstances: (list) => call({ method: 'POST', path: '/instances/bulk', body: { instances: list } }),
    assignInstance: (instanceId, tenantId) => call({ method: 'PUT', path: `/instances/${seg(instanceId)}/tenant`, body: { tenant_id: tenantId } }),
    deleteInstance: (instanceId) => call({ method: 'DELETE', path: `/instances/${seg(instanceId)}` }),
    audit: (q = {}) => call({ method: 'GET', path: '/audit', query: q }),
  };
}
