// Every limit of the API that a caller can see, in one table: the request schemas, the query
// parsing, the error messages and the waits read it from here, and a test checks that
// docs/API.md's "Limits and defaults" states each value. Limits an operator may change
// (stored output, rate limit) are settings: their defaults are in DEFAULT_CONFIG.

/** An integer a request may give, within [min, max], and what it is when absent. */
export interface IntRange {
  readonly min: number;
  readonly max: number;
  readonly default: number;
}

export const LIMITS = Object.freeze({
  /** request body, bytes (413 past it) */
  bodyBytes: 64 * 1024,
  /** x-request-id, printable ASCII characters */
  requestIdChars: 128,
  /** X-Auth-Token and the admin bearer token, characters */
  tokenChars: 512,
  /** instance ids named in one request */
  instancesPerRequest: 100,
  /** one instance id, characters from A-Z a-z 0-9 _ - */
  instanceIdChars: 32,
  /** command, bytes (its character set is ASCII, so characters too) */
  commandBytes: 1024,
  asyncTimeoutSeconds: Object.freeze({ min: 1, max: 21_600, default: 300 }) as IntRange,
  syncTimeoutSeconds: Object.freeze({ min: 1, max: 60, default: 30 }) as IntRange,
  /** how long sync-command waits past its timeout for the results to be stored */
  syncGraceMs: 1_000,
  /** how long cancel waits for running jobs to report their end before answering */
  cancelWaitMs: 2_000,
  /** SPEC §10: a device path (files/push, files/pull), bytes */
  devicePathBytes: 1024,
  /** SPEC §10: install_package_url, characters */
  packageUrlChars: 2000,
  /** SPEC §10: package_name (app/uninstall), characters */
  packageNameChars: 255,
  /** a job's execute_msg: the first bytes of its output */
  executeMsgBytes: 1024,
  /** x-request-id idempotency window */
  idempotencyWindowMs: 24 * 3600 * 1000,
  /** GET /v1/instances/tasks `limit` */
  taskListLimit: Object.freeze({ min: 1, max: 100, default: 20 }) as IntRange,
  /** GET /v1/instances/tasks `cursor`, characters */
  cursorChars: 256,
  /** batch-query `page_no` (no upper bound: a page past the end is empty) */
  pageNo: Object.freeze({ min: 1, max: Number.MAX_SAFE_INTEGER, default: 1 }) as IntRange,
  /** batch-query `page_size` */
  pageSize: Object.freeze({ min: 1, max: 100, default: 10 }) as IntRange,
  /** batch-query `instance_id` and `instance_name` filters, characters */
  filterChars: 128,
  /** Server-Sent Events heartbeat (also how often a stream re-reads the store) */
  sseHeartbeatMs: 15_000,
  /** admin: tenant name and instance_name, characters */
  nameChars: 128,
  /** admin: zone, characters */
  zoneChars: 64,
  /** admin: tenant_id in a body, characters */
  tenantIdChars: 64,
  /** admin: adb_address, characters */
  adbAddressChars: 300,
  /** admin: instances in one bulk registration */
  instancesPerBulk: 10_000,
  /** admin: a bulk registration's body, bytes (10,000 entries at every field's longest fit) */
  bulkBodyBytes: 8 * 1024 * 1024,
  /** admin: entries a bulk registration's error names at most (then "and N more") */
  echoedEntries: 10,
  /** admin: GET /admin/v1/audit `limit` */
  auditListLimit: Object.freeze({ min: 1, max: 500, default: 50 }) as IntRange,
  /** admin: instance ids an audit entry keeps of a request (then only their count) */
  auditTargetIds: 100,
  /** ids echoed in a "does not exist" message are cut to this many characters */
  echoedIdChars: 64,
  /** a path echoed in the unknown-route message is cut to this many characters */
  echoedPathChars: 200,
});
