// docs/API.md's "Limits and defaults" states every value of LIMITS (src/core/limits.ts) and the
// defaults of the configurable limits, one row each, and nothing else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEFAULT_CONFIG } from '../../src/core/config.js';
import { LIMITS, type IntRange } from '../../src/core/limits.js';

const doc = readFileSync(new URL('../../docs/API.md', import.meta.url), 'utf8');

function limitsTable(): Map<string, string> {
  const start = doc.indexOf('\n## Limits and defaults\n');
  assert.ok(start >= 0, 'docs/API.md has a section "Limits and defaults"');
  const end = doc.indexOf('\n## ', start + 1);
  const rows = doc
    .slice(start, end)
    .split('\n')
    .filter((l) => l.startsWith('|') && !/^\|[-| ]+\|$/.test(l))
    .slice(1)
    .map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
  return new Map(rows.map((r) => [r[0] ?? '', r[1] ?? '']));
}

const range = (r: IntRange): string => `${r.min}-${r.max}, default ${r.default}`;
const seconds = (ms: number): string => `${ms / 1000} s`;

/** Each LIMITS key: the row that states it and the words it must read. */
const LIMIT_ROWS: Record<keyof typeof LIMITS, [row: string, value: string]> = {
  bodyBytes: ['request body', `${LIMITS.bodyBytes / 1024} KiB (413 past it)`],
  requestIdChars: ['`x-request-id`', `1-${LIMITS.requestIdChars} printable ASCII characters`],
  tokenChars: ['`X-Auth-Token`, admin bearer token', `at most ${LIMITS.tokenChars} characters`],
  instancesPerRequest: ['instances per request', `1-${LIMITS.instancesPerRequest}`],
  instanceIdChars: ['instance id', `1-${LIMITS.instanceIdChars} characters`],
  commandBytes: ['command', `1-${LIMITS.commandBytes} bytes`],
  packageUrlChars: ['`install_package_url`', `1-${LIMITS.packageUrlChars} characters`],
  packageNameChars: ['`package_name` (app/uninstall)', `1-${LIMITS.packageNameChars} characters`],
  devicePathBytes: ['device `path` (files/push, files/pull)', `1-${LIMITS.devicePathBytes} bytes`],
  asyncTimeoutSeconds: ['async `timeout_seconds`', range(LIMITS.asyncTimeoutSeconds)],
  syncTimeoutSeconds: ['sync `timeout_seconds`', range(LIMITS.syncTimeoutSeconds)],
  syncGraceMs: ['sync-command waits past `timeout_seconds`', seconds(LIMITS.syncGraceMs)],
  cancelWaitMs: ['cancel waits for running jobs', seconds(LIMITS.cancelWaitMs)],
  executeMsgBytes: ['`execute_msg`', `first ${LIMITS.executeMsgBytes} bytes of output`],
  idempotencyWindowMs: ['idempotency window', `${LIMITS.idempotencyWindowMs / 3_600_000} h`],
  taskListLimit: ['task list `limit`', range(LIMITS.taskListLimit)],
  cursorChars: ['task list `cursor`', `at most ${LIMITS.cursorChars} characters`],
  pageNo: ['batch-query `page_no`', `${LIMITS.pageNo.min} to ${LIMITS.pageNo.max === 2 ** 53 - 1 ? '2^53 - 1' : LIMITS.pageNo.max}, default ${LIMITS.pageNo.default}`],
  pageSize: ['batch-query `page_size`', range(LIMITS.pageSize)],
  filterChars: ['batch-query `instance_id`, `instance_name` filters', `at most ${LIMITS.filterChars} characters`],
  sseHeartbeatMs: ['SSE heartbeat', seconds(LIMITS.sseHeartbeatMs)],
  nameChars: ['admin: tenant `name`, `instance_name`', `1-${LIMITS.nameChars} characters`],
  zoneChars: ['admin: `zone`', `1-${LIMITS.zoneChars} characters`],
  tenantIdChars: ['admin: `tenant_id` in a body', `1-${LIMITS.tenantIdChars} characters`],
  adbAddressChars: ['admin: `adb_address`', `1-${LIMITS.adbAddressChars} characters`],
  instancesPerBulk: ['admin: instances per bulk registration', `1-${LIMITS.instancesPerBulk}`],
  bulkBodyBytes: ['admin: bulk registration body', `${LIMITS.bulkBodyBytes / 1024} KiB (413 past it)`],
  echoedEntries: ['admin: entries named in a bulk registration error', `first ${LIMITS.echoedEntries}, then "and N more"`],
  auditListLimit: ['admin: audit `limit`', range(LIMITS.auditListLimit)],
  auditTargetIds: ['admin: instance ids an audit entry keeps', `first ${LIMITS.auditTargetIds}, then only their count`],
  echoedIdChars: ['ids echoed in an error message', `first ${LIMITS.echoedIdChars} characters`],
  echoedPathChars: ['path echoed in the unknown-route message', `first ${LIMITS.echoedPathChars} characters`],
};

/** The configurable limits: their defaults are settings, not LIMITS. */
const SETTING_ROWS: [row: string, value: string][] = [
  ['stored output per job', `${DEFAULT_CONFIG.maxOutputBytes / (1024 * 1024)} MiB (configurable)`],
  ['artifact: an upload, a fetched package, a pulled file or a screenshot', `${DEFAULT_CONFIG.artifactMaxBytes / 1024 ** 3} GiB (configurable)`],
  [
    'requests per tenant',
    `${DEFAULT_CONFIG.rateLimitPerSecond}/s, burst ${DEFAULT_CONFIG.rateLimitBurst} (configurable; 0 = off)`,
  ],
];

test('the limits table states every value of LIMITS and the configurable defaults, and nothing else', () => {
  const table = limitsTable();
  const expected = [...Object.values(LIMIT_ROWS), ...SETTING_ROWS];
  for (const [row, value] of expected) assert.equal(table.get(row), value, `row "${row}"`);
  assert.deepEqual([...table.keys()].sort(), expected.map(([row]) => row).sort());
});

test('the request rules docs/API.md states per endpoint use the same values', () => {
  const rule = (field: string): string => doc.match(new RegExp(`\\n\\| \`${field}\` \\| [^|]+ \\| ([^|]+) \\|`))?.[1] ?? '';
  assert.match(rule('command'), new RegExp(`^string, 1-${LIMITS.commandBytes} bytes`));
  assert.match(rule('instance_ids'), new RegExp(`1-${LIMITS.instancesPerRequest} strings, each \`\\^\\[A-Za-z0-9_-\\]\\{1,${LIMITS.instanceIdChars}\\}\\$\``));
  const t = LIMITS.asyncTimeoutSeconds;
  assert.equal(rule('timeout_seconds').trim(), `integer ${t.min}-${t.max}, default ${t.default}`);
});
