// docs/API.md's "Limits and defaults" table and core's LIMITS (with the configurable defaults)
// say the same: every row is backed by the code, and every limit has a row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEFAULT_CONFIG, LIMITS } from '../../src/core/index.js';

type LimitKey = keyof typeof LIMITS;
const range = (r: { min: number; max: number; default: number }): string => `${r.min}-${r.max}, default ${r.default}`;
const s = (ms: number): string => `${ms / 1000} s`;

/** Row label -> the limits it shows and how the code's values read in the value column. */
const ROWS: Record<string, { uses: LimitKey[]; value: string }> = {
  'request body': { uses: ['bodyBytes'], value: `${LIMITS.bodyBytes / 1024} KiB (413 past it)` },
  'instances per request': { uses: ['instancesPerRequest'], value: `1-${LIMITS.instancesPerRequest}` },
  command: { uses: ['commandBytes'], value: `1-${LIMITS.commandBytes} bytes` },
  '`x-request-id`': { uses: ['requestIdChars'], value: `1-${LIMITS.requestIdChars} printable ASCII characters` },
  'async `timeout_seconds`': { uses: ['asyncTimeoutSeconds'], value: range(LIMITS.asyncTimeoutSeconds) },
  'sync `timeout_seconds`': {
    uses: ['syncTimeoutSeconds', 'syncAnswerGraceMs'],
    value: `${range(LIMITS.syncTimeoutSeconds)}; the answer waits at most ${s(LIMITS.syncAnswerGraceMs)} more`,
  },
  '`execute_msg`': { uses: ['executeMsgBytes'], value: `first ${LIMITS.executeMsgBytes} bytes of output` },
  'stored output per job': { uses: [], value: `${DEFAULT_CONFIG.maxOutputBytes / (1024 * 1024)} MiB (configurable)` },
  'idempotency window': { uses: ['idempotencyWindowMs'], value: `${LIMITS.idempotencyWindowMs / 3_600_000} h` },
  'requests per tenant': {
    uses: [],
    value: `${DEFAULT_CONFIG.rateLimitPerSecond}/s, burst ${DEFAULT_CONFIG.rateLimitBurst} (configurable; 0 = off)`,
  },
  'task list `limit`': { uses: ['taskListLimit'], value: range(LIMITS.taskListLimit) },
  'batch-query `page_size`': { uses: ['pageSize'], value: range(LIMITS.pageSize) },
  'SSE heartbeat': { uses: ['sseHeartbeatMs'], value: s(LIMITS.sseHeartbeatMs) },
  'cancel waits for running jobs': { uses: ['cancelWaitMs'], value: s(LIMITS.cancelWaitMs) },
};

function documentedRows(): Map<string, string> {
  const doc = readFileSync('docs/API.md', 'utf8');
  const start = doc.indexOf('\n## Limits and defaults\n');
  assert.ok(start >= 0, 'docs/API.md has "Limits and defaults"');
  const section = doc.slice(start, doc.indexOf('\n## ', start + 1));
  const rows = new Map<string, string>();
  // Table lines after the header row and its |---| rule.
  const lines = section.split('\n').filter((l) => l.startsWith('|')).slice(2);
  for (const line of lines) {
    const [what, value] = line.split('|').slice(1, -1).map((c) => c.trim());
    rows.set(what!, value!);
  }
  return rows;
}

test('every row of docs/API.md "Limits and defaults" reads what the code holds', () => {
  const rows = documentedRows();
  assert.deepEqual([...rows.keys()].sort(), Object.keys(ROWS).sort(), 'the table has exactly the known rows');
  for (const [what, { value }] of Object.entries(ROWS)) assert.equal(rows.get(what), value, what);
});

test('every limit in LIMITS has a row', () => {
  const shown = new Set(Object.values(ROWS).flatMap((r) => r.uses));
  assert.deepEqual(Object.keys(LIMITS).filter((k) => !shown.has(k as LimitKey)), []);
});
