// The API error registry, as Fastify's lib/errors.js: every error the HTTP API answers with, its
// stable code, its status and its message template. `{name}` placeholders take the values given
// to `new ApiError(name, values)`; nothing else writes an error message. docs/API.md's registry
// table is checked against this one (test/api/error-registry.test.ts).
import { LIMITS } from './limits.js';

interface ErrorSpec {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  /** Values echoed from the request are cut to this many characters (a hostile path stays short). */
  readonly clip?: number;
}

const BAD_REQUEST = 'KOOPHONE.API.1000';

export const API_ERRORS = {
  MISSING_REQUEST_ID: {
    status: 400,
    code: 'KOOPHONE.API.0002',
    message: `x-request-id: header is required (1-${LIMITS.requestIdChars} printable ASCII characters)`,
  },
  INVALID_REQUEST_ID: {
    status: 400,
    code: 'KOOPHONE.API.0002',
    message: `x-request-id: must be 1-${LIMITS.requestIdChars} printable ASCII characters`,
  },
  UNAUTHORIZED: { status: 401, code: 'APIGW.0301', message: 'X-Auth-Token: missing, unknown or revoked token' },
  ADMIN_UNAUTHORIZED: { status: 401, code: 'APIGW.0301', message: 'Authorization: missing or wrong admin bearer token' },
  RATE_LIMITED: { status: 429, code: 'KOOPHONE.API.1429', message: 'tenant: over {perSecond} requests per second' },

  // The request as a whole.
  INVALID_HTTP: { status: 400, code: BAD_REQUEST, message: 'request: not valid HTTP (a header holds a character HTTP forbids)' },
  HEADERS_TOO_LARGE: { status: 431, code: BAD_REQUEST, message: 'headers: larger than the server accepts' },
  REQUEST_TIMEOUT: { status: 408, code: BAD_REQUEST, message: 'request: not received in time' },
  HOST_REQUIRED: { status: 400, code: BAD_REQUEST, message: 'host: HTTP/1.1 requires a Host header' },
  EXPECTATION_FAILED: { status: 417, code: BAD_REQUEST, message: 'expect: only 100-continue is supported' },
  INVALID_REQUEST: { status: 400, code: BAD_REQUEST, message: 'request: is not valid' },
  INVALID_URL: { status: 400, code: BAD_REQUEST, message: 'route: the URL is not valid' },
  PATH_PARAM_TOO_LONG: { status: 400, code: BAD_REQUEST, message: 'route: a path parameter is too long' },
  NO_SUCH_ROUTE: { status: 404, code: BAD_REQUEST, message: 'route: {method} {path} does not exist', clip: LIMITS.echoedPathChars },

  // The body.
  PAYLOAD_TOO_LARGE: { status: 413, code: BAD_REQUEST, message: `body: larger than ${LIMITS.bodyBytes / 1024} KiB` },
  BODY_NOT_JSON: { status: 400, code: BAD_REQUEST, message: 'body: is not valid JSON' },
  BODY_EMPTY: { status: 400, code: BAD_REQUEST, message: 'body: must be a JSON object' },
  BODY_MEDIA_TYPE: { status: 400, code: BAD_REQUEST, message: 'body: content-type must be application/json' },
  BODY_LENGTH_MISMATCH: { status: 400, code: BAD_REQUEST, message: 'body: content-length does not match the body' },
  // An upload (POST /v1/artifacts): the body is the file, not JSON.
  ARTIFACT_TOO_LARGE: { status: 413, code: BAD_REQUEST, message: 'body: larger than the artifact limit of {limit} bytes' },
  ARTIFACT_MEDIA_TYPE: {
    status: 400,
    code: BAD_REQUEST,
    message: 'body: content-type must be application/octet-stream (or application/vnd.android.package-archive, or none)',
  },
  /** A Range header past the end of the file; answered with `Content-Range: bytes *\/size`. */
  RANGE_NOT_SATISFIABLE: { status: 416, code: BAD_REQUEST, message: 'range: not satisfiable for a file of {size} bytes' },
  /** A field (of the body or the query) that breaks a rule; the rule's words come from the schema. */
  INVALID_FIELD: { status: 400, code: BAD_REQUEST, message: '{field}: {rule}' },
  /** The rule comes from adbAddressProblem (validation.ts): which part of the address is wrong. */
  INVALID_ADB_ADDRESS: { status: 400, code: BAD_REQUEST, message: 'adb_address: {rule}' },
  INVALID_CURSOR: { status: 400, code: BAD_REQUEST, message: 'cursor: is not a cursor this API returned' },
  IDEMPOTENCY_CONFLICT: { status: 409, code: BAD_REQUEST, message: 'x-request-id: already used for another request' },

  // What the request names. Missing, malformed and another tenant's answer alike (SPEC §4).
  NO_SUCH_TASK: { status: 400, code: BAD_REQUEST, message: 'task_id {taskId} does not exist', clip: LIMITS.echoedIdChars },
  NO_SUCH_JOB: { status: 400, code: BAD_REQUEST, message: 'job_id {jobId} does not exist', clip: LIMITS.echoedIdChars },
  /** An artifact_id in a body or a path: missing, another tenant's, malformed or purged (SPEC §10). */
  NO_SUCH_ARTIFACT: { status: 400, code: BAD_REQUEST, message: 'artifact_id {artifactId} does not exist', clip: LIMITS.echoedIdChars },
  /** The job exists but made no file: not a pull or screenshot, not finished, or failed. A 404: the
   * path names a resource that is not there (the task and job are, so this is no "does not exist"). */
  NO_ARTIFACT_FOR_JOB: {
    status: 404,
    code: BAD_REQUEST,
    message: 'job_id {jobId} has no artifact (only a succeeded pull or screenshot has one)',
    clip: LIMITS.echoedIdChars,
  },
  INSTANCE_NOT_FOUND: {
    status: 400,
    code: 'KOOPHONE.API.1001',
    message: 'instance_ids: these instances do not exist or are not yours: {ids}',
  },
  /** KooPhone's app install names its instances instance_id_list. */
  INSTANCE_LIST_NOT_FOUND: {
    status: 400,
    code: 'KOOPHONE.API.1001',
    message: 'instance_id_list: these instances do not exist or are not yours: {ids}',
  },
  INSTANCE_NOT_RUNNING: { status: 400, code: 'KOOPHONE.API.5005', message: 'instance_ids: instances are not running: {ids}' },

  // Device operations (SPEC §10). KooPhone answers an unknown install task (ZGCA...) with 1323.
  NO_SUCH_INSTALL_TASK: { status: 404, code: 'KOOPHONE.API.1323', message: 'task_id {taskId} does not exist', clip: LIMITS.echoedIdChars },
  URL_FETCH_DISABLED: {
    status: 400,
    code: BAD_REQUEST,
    message: 'install_package_url: the operator has not allowed fetching URLs; upload the APK (POST /v1/artifacts) and give artifact_id instead',
  },
  /** The reason is the fetcher's, in words the tenant can act on (src/artifacts: FetchError). */
  PACKAGE_FETCH_FAILED: { status: 400, code: BAD_REQUEST, message: 'install_package_url: could not be fetched: {reason}' },
  /** The field is install_package_url or artifact_id; the reason is the APK reader's. */
  NOT_AN_APK: { status: 400, code: BAD_REQUEST, message: '{field}: is not an APK: {reason}' },
  CONTENT_MD5_MISMATCH: { status: 400, code: BAD_REQUEST, message: 'content_md5: does not match the package, whose MD5 is {md5}' },
  PACKAGE_NAME_MISMATCH: {
    status: 400,
    code: BAD_REQUEST,
    message: 'object_name: {given} is not the package the APK holds ({actual})',
    clip: LIMITS.echoedPathChars,
  },

  // Admin API (SPEC §8): 404 for what the path names, 409 for a duplicate.
  UNKNOWN_TENANT: { status: 400, code: BAD_REQUEST, message: 'tenant_id {tenantId} does not exist' },
  NO_SUCH_TENANT: { status: 404, code: BAD_REQUEST, message: 'tenant_id {tenantId} does not exist' },
  NO_SUCH_TOKEN: { status: 404, code: BAD_REQUEST, message: 'token_prefix {prefix} matches no token of this tenant' },
  NO_SUCH_INSTANCE: { status: 404, code: BAD_REQUEST, message: 'instance_id {instanceId} does not exist' },
  INSTANCE_EXISTS: { status: 409, code: BAD_REQUEST, message: 'instance_id: {instanceId} already exists' },
  // Bulk registration: all or nothing, and the entries at fault named as "[index] instance_id".
  BULK_PAYLOAD_TOO_LARGE: { status: 413, code: BAD_REQUEST, message: `body: larger than ${LIMITS.bulkBodyBytes / 1024} KiB` },
  BULK_INVALID_ADB_ADDRESS: {
    status: 400,
    code: BAD_REQUEST,
    message: 'instances: adb_address must be host:port or adb-server://host:port/serial in entries {entries}',
  },
  BULK_DUPLICATE_ID: { status: 400, code: BAD_REQUEST, message: 'instances: instance_id repeats an earlier entry in entries {entries}' },
  BULK_INSTANCES_EXIST: { status: 409, code: BAD_REQUEST, message: 'instances: instance_id already exists in entries {entries}' },

  CONSOLE_NOT_BUILT: { status: 503, code: 'KOOPHONE.API.1503', message: 'console: the console is not built: run npm run build' },
  SHUTTING_DOWN: { status: 503, code: 'KOOPHONE.API.1503', message: 'service: shutting down; retry shortly (another node, or this one once restarted)' },
  INTERNAL: { status: 500, code: 'KOOPHONE.API.9999', message: 'internal error (request {requestId})' },
} as const satisfies Record<string, ErrorSpec>;
export type ApiErrorName = keyof typeof API_ERRORS;

/** The placeholder names of a message template, as a union ('taskId' | ...). */
type Placeholders<T extends string> = T extends `${string}{${infer P}}${infer Rest}` ? P | Placeholders<Rest> : never;
type ErrorValue = string | number | readonly string[];
type ValuesOf<N extends ApiErrorName> = { readonly [P in Placeholders<(typeof API_ERRORS)[N]['message']>]: ErrorValue };
/** A template without placeholders takes no values. */
type ErrorArgs<N extends ApiErrorName> = [Placeholders<(typeof API_ERRORS)[N]['message']>] extends [never]
  ? [values?: Record<string, never>, headers?: Record<string, string>]
  : [values: ValuesOf<N>, headers?: Record<string, string>];

/** The message of `name` with its placeholders filled (lists joined with ", "). */
export function formatApiError(name: ApiErrorName, values: Readonly<Record<string, ErrorValue>> = {}): string {
  const spec: ErrorSpec = API_ERRORS[name];
  return spec.message.replace(/\{(\w+)\}/g, (_, key: string) => {
    const v = values[key];
    if (v === undefined) throw new Error(`API error ${name}: no value for {${key}}`);
    const text = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : v.join(', ');
    return spec.clip === undefined ? text : text.slice(0, spec.clip);
  });
}

export class ApiError<N extends ApiErrorName = ApiErrorName> extends Error {
  readonly status: number;
  readonly code: string;
  readonly errorName: N;
  readonly headers: Readonly<Record<string, string>>;
  constructor(name: N, ...[values, headers = {}]: ErrorArgs<N>) {
    super(formatApiError(name, values));
    this.name = 'ApiError';
    this.errorName = name;
    this.status = API_ERRORS[name].status;
    this.code = API_ERRORS[name].code;
    this.headers = headers;
  }
}
