// adbfleet's typed HTTP client (`adbfleet/client`): the tenant API and the operator's API over
// fetch, for Node 20 and browsers. It imports nothing of the service: its types are generated
// from the OpenAPI document (openapi-types.ts, `npm run gen:openapi`).
export { createAdminClient, type AdminClient } from './admin.js';
export { AdbfleetError } from './errors.js';
export type { ClientOptions, UploadBody } from './http.js';
export type { Idempotent, JobFile, OperationsClient } from './operations.js';
export { createClient, type TenantClient } from './tenant.js';
export type {
  AdminInstance,
  Artifact,
  AuditEntry,
  AuditPage,
  AuditQuery,
  CommandRequest,
  CommandResult,
  InstanceEntry,
  InstancePage,
  InstanceRow,
  InstallRequest,
  InstallResult,
  InstalledPackage,
  InstanceStatusRow,
  Job,
  JobOutput,
  OperationResult,
  PullFileRequest,
  PushFileRequest,
  RunCommandResult,
  ScreenshotRequest,
  SyncCommandResult,
  TaskJobs,
  TaskPage,
  TaskSummary,
  Tenant,
  UninstallRequest,
} from './types.js';
export type { components, paths } from './openapi-types.js';
