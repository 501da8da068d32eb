// adbfleet's typed HTTP client (`adbfleet/client`): the tenant API and the operator's API over
// fetch, for Node 20 and browsers. It imports nothing of the service: its types are generated
// from the OpenAPI document (openapi-types.ts, `npm run gen:openapi`).
export { createAdminClient, type AdminClient } from './admin.js';
export { AdbfleetError } from './errors.js';
export type { ClientOptions } from './http.js';
export { createClient, type TenantClient } from './tenant.js';
export type {
  AdminInstance,
  AuditEntry,
  AuditPage,
  AuditQuery,
  CommandRequest,
  CommandResult,
  InstanceEntry,
  InstancePage,
  InstanceRow,
  InstanceStatusRow,
  Job,
  JobOutput,
  RunCommandResult,
  SyncCommandResult,
  TaskJobs,
  TaskPage,
  TaskSummary,
  Tenant,
} from './types.js';
export type { components, paths } from './openapi-types.js';
