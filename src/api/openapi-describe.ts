// What the OpenAPI document says about each route beyond the schemas the route itself compiles:
// the tokens, the required x-request-id header, the hand-parsed query parameters, the SSE answer
// and the error statuses. All of it is added to a copy for the document only: a `querystring` or
// `headers` schema on the route would change how Fastify validates the request (the query is
// parsed by hand so "1.5" is told apart from a number out of range), and a response schema would
// change how it serializes the answer.
import { Type, type TSchema } from '@sinclair/typebox';
import { LIMITS } from '../core/index.js';
import { QUERY_ID_PATHS, REQUEST_ID_HEADER } from './request-id.js';
import { ErrorBody } from './schemas/index.js';

type RouteSchema = Record<string, unknown> & { response?: Record<string, unknown> };

const TENANT_PREFIX = '/v1/';
const ADMIN_PREFIX = '/admin/';
/** Behind the admin token unless the operator opened it; its own schema says so. */
const METRICS_PATH = '/metrics';

/** What each error status means here; the codes and messages are docs/API.md's error registry. */
const ERROR_STATUSES: Readonly<Record<string, string>> = {
  400: 'Refused: the request, a field or what it names (error_msg names it; docs/API.md, API error registry)',
  401: 'Token missing, unknown or revoked (APIGW.0301)',
  404: 'What the path names does not exist',
  408: 'The request did not arrive in time; the connection is closed',
  409: 'Conflict: the x-request-id was used for another request, or the instance exists already',
  413: 'Body larger than the route accepts',
  416: 'The Range asks for bytes past the end of the file; Content-Range says its size',
  429: 'Over the tenant\'s request rate (KOOPHONE.API.1429); Retry-After says when to retry',
  500: 'Internal error (KOOPHONE.API.9999); the server logged it under the request id',
  503: 'The service is shutting down (KOOPHONE.API.1503); retry shortly',
  '4XX': 'Any other refusal (417, 431 ...), in the same envelope',
};

const requestIdSchema = (description: string) =>
  Type.String({ minLength: 1, maxLength: LIMITS.requestIdChars, pattern: '^[\\x20-\\x7E]+$', description });

/** The query parameters of the two listing routes, as their handlers read them. */
const QUERIES: Readonly<Record<string, TSchema>> = {
  'GET /v1/instances/tasks': Type.Object({
    limit: Type.Optional(
      Type.Integer({ minimum: LIMITS.taskListLimit.min, maximum: LIMITS.taskListLimit.max, default: LIMITS.taskListLimit.default }),
    ),
    cursor: Type.Optional(Type.String({ maxLength: LIMITS.cursorChars, description: 'next_cursor of the previous page' })),
  }),
  'GET /v1/instances/batch-query': Type.Object({
    page_no: Type.Optional(Type.Integer({ minimum: LIMITS.pageNo.min, default: LIMITS.pageNo.default })),
    page_size: Type.Optional(
      Type.Integer({ minimum: LIMITS.pageSize.min, maximum: LIMITS.pageSize.max, default: LIMITS.pageSize.default }),
    ),
    instance_id: Type.Optional(Type.String({ maxLength: LIMITS.filterChars })),
    instance_name: Type.Optional(Type.String({ maxLength: LIMITS.filterChars })),
    [REQUEST_ID_HEADER]: Type.Optional(requestIdSchema('KooPhone\'s place for the request id here; the x-request-id header, when valid, wins')),
  }),
};

const SUMMARIES: Readonly<Record<string, string>> = {
  'POST /v1/instances/async-command': 'Run a shell command on instances (asynchronous)',
  'POST /v1/instances/sync-command': 'Run a shell command on instances and wait for the results',
  'GET /v1/instances/tasks': 'List the caller\'s tasks, newest first',
  'GET /v1/instances/tasks/{task_id}': 'A task\'s jobs',
  'GET /v1/instances/tasks/{task_id}/jobs/{job_id}/output': 'One job\'s stored output',
  'POST /v1/instances/tasks/{task_id}/cancel': 'Cancel a task\'s unfinished jobs',
  'GET /v1/instances/tasks/{task_id}/events': 'A task\'s job state changes (Server-Sent Events)',
  'POST /v1/instances/batch-query-status': 'Instance statuses',
  'GET /v1/instances/batch-query': 'The caller\'s instances, paged',
  'POST /v1/instances/reboot': 'Reboot instances',
  'POST /v1/artifacts': 'Upload a file (the body is the file\'s bytes)',
  'GET /v1/artifacts/{artifact_id}': 'An uploaded file\'s id, hash, size and type',
  'GET /v1/instances/tasks/{task_id}/jobs/{job_id}/artifact': 'The file a job produced (pull, screenshot); byte ranges',
  'POST /v1/instances/app/install': 'Install an APK on instances, from a URL or an uploaded artifact (KooPhone\'s InstallApp)',
  'POST /v1/instances/app/uninstall': 'Uninstall a package from instances',
  'POST /v1/instances/files/push': 'Write an uploaded artifact to a path on instances',
  'POST /v1/instances/files/pull': 'Read a file from instances (each job keeps it as its artifact)',
  'POST /v1/instances/screenshot': 'Take a screenshot of instances (each job keeps a PNG artifact)',
  'GET /healthz': 'Liveness',
  'GET /readyz': 'Readiness (the store answers)',
  'GET /metrics': 'Prometheus metrics (text format)',
};

const SSE_ROUTE = 'GET /v1/instances/tasks/{task_id}/events';
const UPLOAD_ROUTE = 'POST /v1/artifacts';
const JOB_ARTIFACT_ROUTE = 'GET /v1/instances/tasks/{task_id}/jobs/{job_id}/artifact';
/** An upload's body: the file itself, read by the route (no body schema there). */
const UPLOAD_BODY = {
  type: 'string',
  format: 'binary',
  description: 'The file\'s bytes, streamed; at most the operator\'s artifact limit (2 GiB by default). content-type application/octet-stream, application/vnd.android.package-archive or none',
};
const FILE_CONTENT = { schema: { type: 'string', format: 'binary' } };
/** The job's file: its own content type (a screenshot is image/png, a pulled file application/octet-stream). */
const JOB_FILE_REPLIES = {
  200: {
    description: 'The file, with Content-Length, Accept-Ranges: bytes and its sha256 as the ETag',
    content: { 'application/octet-stream': FILE_CONTENT, 'image/png': FILE_CONTENT },
  },
  206: {
    description: 'The one byte range the Range header asked for (Content-Range says which); several ranges are answered whole',
    content: { 'application/octet-stream': FILE_CONTENT, 'image/png': FILE_CONTENT },
  },
};
const SSE_DESCRIPTION =
  'text/event-stream: one `event: job` per job with its current state, then one per state change (`data`: the job ' +
  'as GET task shows it; per job the states only advance); `event: done` with `data: {"task_id": ...}` once every ' +
  'job is final, and the stream ends. A `: ping` comment is the heartbeat.';

/** The device operations (SPEC §10): each answers a task, idempotent on its x-request-id. */
const OPERATION_PATHS: ReadonlySet<string> = new Set([
  '/v1/instances/app/install',
  '/v1/instances/app/uninstall',
  '/v1/instances/files/push',
  '/v1/instances/files/pull',
  '/v1/instances/screenshot',
]);
/** KooPhone's 404 (KOOPHONE.API.1323) for an install task that does not exist. */
const TASK_PATH = '/v1/instances/tasks/{task_id}';

/** A tag per route family (the reference UI groups by it). */
function tagOf(url: string): string | null {
  if (url === '/healthz' || url === '/readyz') return 'health';
  if (url === METRICS_PATH) return 'metrics';
  if (url.startsWith(ADMIN_PREFIX)) return 'admin';
  if (url.startsWith('/v1/instances/tasks')) return 'tasks';
  if (url.endsWith('-command')) return 'commands';
  if (url.startsWith('/v1/artifacts')) return 'artifacts';
  if (OPERATION_PATHS.has(url)) return 'operations';
  if (url.startsWith(TENANT_PREFIX)) return 'instances';
  return null;
}

/** The error statuses a route can answer with (the error handler and the hooks in front of it). */
function errorStatuses(method: string, url: string, schema: RouteSchema): string[] {
  const statuses = ['400', '408', '500', '503'];
  const hasParams = url.includes('{');
  if (url.startsWith(TENANT_PREFIX)) statuses.push('401', '429');
  if (url.startsWith(ADMIN_PREFIX) || url === METRICS_PATH) statuses.push('401');
  if (schema['body'] !== undefined || `${method} ${url}` === UPLOAD_ROUTE) statuses.push('413');
  if (`${method} ${url}` === JOB_ARTIFACT_ROUTE) statuses.push('404', '416');
  if (url.startsWith(ADMIN_PREFIX) && hasParams) statuses.push('404');
  if (method === 'GET' && url === TASK_PATH) statuses.push('404');
  if (method === 'POST' && (url === '/v1/instances/async-command' || OPERATION_PATHS.has(url) || url.startsWith('/admin/v1/instances'))) {
    statuses.push('409');
  }
  return [...statuses.sort(), '4XX'];
}

/** The envelope, with the status's meaning as the response's description (@fastify/swagger's key,
 * taken off the schema so the one Error schema stays the same everywhere). */
const errorReply = (status: string) => ({ ...ErrorBody, 'x-response-description': ERROR_STATUSES[status] ?? 'Error' });

/** The document's view of one route: its own schema plus what only the document needs. */
export function describeRoute(method: string, fastifyUrl: string, schema: RouteSchema | undefined): RouteSchema | undefined {
  if (schema === undefined || schema['hide'] === true) return schema;
  const url = fastifyUrl.replace(/:(\w+)/g, '{$1}');
  const key = `${method} ${url}`;
  const out: RouteSchema = { ...schema };
  const tag = tagOf(url);
  if (tag !== null) out['tags'] = [tag];
  const summary = SUMMARIES[key];
  if (summary !== undefined) out['summary'] = summary;
  if (url.startsWith(TENANT_PREFIX)) {
    out['security'] = [{ tenantToken: [] }];
    const requestId = requestIdSchema('Names the request (echoed on the answer); on async-command and the device operations, a retry with the same id gets the first answer');
    // Where the query may carry it instead (batch-query: QUERIES), the header is optional.
    out['headers'] = Type.Object({ [REQUEST_ID_HEADER]: QUERY_ID_PATHS.has(url) ? Type.Optional(requestId) : requestId });
  }
  if (url.startsWith(ADMIN_PREFIX)) out['security'] = [{ adminToken: [] }];
  const query = QUERIES[key];
  if (query !== undefined) out['querystring'] = query;
  if (key === UPLOAD_ROUTE) {
    out['body'] = UPLOAD_BODY;
    out['consumes'] = ['application/octet-stream', 'application/vnd.android.package-archive'];
  }
  if (schema.response !== undefined && '4xx' in schema.response) {
    const { '4xx': _4xx, '5xx': _5xx, ...rest } = schema.response;
    const response: Record<string, unknown> = { ...rest };
    if (key === SSE_ROUTE) {
      response['200'] = { description: SSE_DESCRIPTION, content: { 'text/event-stream': { schema: { type: 'string' } } } };
    }
    if (key === JOB_ARTIFACT_ROUTE) Object.assign(response, JOB_FILE_REPLIES);
    for (const status of errorStatuses(method, url, schema)) response[status] = errorReply(status);
    out.response = response;
  }
  return out;
}

/**
 * Moves every schema with a title (Job, Tenant ...: see the schemas' `title`) into
 * components.schemas and refers to it, so the document and the client's types name them once.
 */
export function hoistTitledSchemas(document: Record<string, unknown>): void {
  const components = (document['components'] ??= {}) as Record<string, unknown>;
  const named = (components['schemas'] ??= {}) as Record<string, unknown>;
  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit);
    if (node === null || typeof node !== 'object') return node;
    const obj: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(node)) obj[k] = visit(v);
    const title = obj['title'];
    if (typeof title !== 'string' || obj['type'] === undefined) return obj;
    const seen = named[title];
    if (seen !== undefined && JSON.stringify(seen) !== JSON.stringify(obj)) {
      throw new Error(`OpenAPI: two different schemas are titled ${title}`);
    }
    named[title] = obj;
    return { $ref: `#/components/schemas/${title}` };
  };
  document['paths'] = visit(document['paths']);
}
