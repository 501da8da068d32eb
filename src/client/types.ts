// The client's types, all taken from the types generated from the OpenAPI document
// (openapi-types.ts), so they follow the route schemas.
import type { components, paths } from './openapi-types.js';

type Schemas = components['schemas'];
export type Job = Schemas['Job'];
export type TaskSummary = Schemas['TaskSummary'];
export type InstanceRow = Schemas['InstanceRow'];
export type Tenant = Schemas['Tenant'];
export type AdminInstance = Schemas['AdminInstance'];
export type CommandResult = Schemas['CommandResult'];
export type JobOutput = Schemas['JobOutput'];
/** One instance to register (admin createInstance and bulkInstances). */
export type InstanceEntry = Schemas['InstanceEntry'];

type Method = 'get' | 'post' | 'put' | 'delete';
/** The JSON body of a route's 200 answer. */
export type Answer<P extends keyof paths, M extends Method> = paths[P][M] extends {
  responses: { 200: { content: { 'application/json': infer B } } };
}
  ? B
  : never;
/** The `data` of a tenant route's 200 envelope. */
export type Data<P extends keyof paths, M extends Method> = Answer<P, M> extends { data: infer D } ? D : never;
/** A route's JSON request body. */
export type RequestBody<P extends keyof paths, M extends Method> = paths[P][M] extends {
  requestBody: { content: { 'application/json': infer B } };
}
  ? B
  : never;
/** A route's query parameters. */
export type Query<P extends keyof paths, M extends Method> = paths[P][M] extends { parameters: { query?: infer Q } }
  ? NonNullable<Q>
  : never;

export type CommandRequest = RequestBody<'/v1/instances/async-command', 'post'>;
export type SyncCommandRequest = RequestBody<'/v1/instances/sync-command', 'post'>;
export type RunCommandResult = Data<'/v1/instances/async-command', 'post'>;
export type SyncCommandResult = Data<'/v1/instances/sync-command', 'post'>;
export type TaskJobs = Data<'/v1/instances/tasks/{task_id}', 'get'>;
export type TaskPage = Data<'/v1/instances/tasks', 'get'>;
export type TaskListQuery = Query<'/v1/instances/tasks', 'get'>;
export type InstancePage = Data<'/v1/instances/batch-query', 'get'>;
export type InstanceQuery = Query<'/v1/instances/batch-query', 'get'>;
export type InstanceStatusRow = Data<'/v1/instances/batch-query-status', 'post'>['status_results'][number];
/** GET /admin/v1/audit's filters and paging (`limit` as the query string carries it). */
export type AuditQuery = Query<'/admin/v1/audit', 'get'>;
/** A page of the audit log, newest first; `next_cursor` is null on the last. */
export type AuditPage = Answer<'/admin/v1/audit', 'get'>;
export type AuditEntry = AuditPage['entries'][number];

export type Artifact = Schemas['Artifact'];
export type InstalledPackage = Schemas['InstalledPackage'];
export type InstallRequest = RequestBody<'/v1/instances/app/install', 'post'>;
/** The task, and the artifact and package it installs. */
export type InstallResult = Data<'/v1/instances/app/install', 'post'>;
export type UninstallRequest = RequestBody<'/v1/instances/app/uninstall', 'post'>;
export type PushFileRequest = RequestBody<'/v1/instances/files/push', 'post'>;
export type PullFileRequest = RequestBody<'/v1/instances/files/pull', 'post'>;
export type ScreenshotRequest = RequestBody<'/v1/instances/screenshot', 'post'>;
/** uninstall, push, pull and screenshot answer as async-command does. */
export type OperationResult = Data<'/v1/instances/files/push', 'post'>;
