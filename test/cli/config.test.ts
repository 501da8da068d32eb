// Settings: defaults, ADBFLEET_* variables, flags over both; a bad value names its variable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEFAULT_CONFIG } from '../../src/core/index.js';
import { ENV_VARS, loadConfig } from '../../src/cli/config.js';

test('defaults are SPEC §9 and ARCHITECTURE.md values', () => {
  const c = loadConfig({});
  assert.deepEqual(c, { ...DEFAULT_CONFIG });
  assert.equal(c.maxOutputBytes, 1024 * 1024);
  assert.equal(c.perInstanceConcurrency, 1);
  assert.equal(c.retryWindowMs, 30_000);
  assert.equal(c.retentionMs, 7 * 24 * 3600 * 1000);
  assert.deepEqual([c.rateLimitPerSecond, c.rateLimitBurst], [100, 200]);
});

test('variables set values in their units; flags win', () => {
  const c = loadConfig(
    { ADBFLEET_PORT: '9000', ADBFLEET_RETRY_WINDOW_SECONDS: '5', ADBFLEET_RETENTION_DAYS: '2', ADBFLEET_RATE_LIMIT: '0', ADBFLEET_SQLITE_SYNCHRONOUS: 'NORMAL' },
    { port: 9100 },
  );
  assert.equal(c.port, 9100);
  assert.equal(c.retryWindowMs, 5_000);
  assert.equal(c.retentionMs, 2 * 24 * 3600 * 1000);
  assert.equal(c.rateLimitPerSecond, 0);
  assert.equal(c.sqliteSynchronous, 'NORMAL');
});

for (const [name, raw] of [
  ['ADBFLEET_PORT', '70000'],
  ['ADBFLEET_PORT', 'http'],
  ['ADBFLEET_MAX_OUTPUT_BYTES', '10'],
  ['ADBFLEET_INSTANCE_CONCURRENCY', '0'],
  ['ADBFLEET_RETRY_WINDOW_SECONDS', '1.5'],
  ['ADBFLEET_RATE_LIMIT', '-1'],
  ['ADBFLEET_SQLITE_SYNCHRONOUS', 'OFF'],
  ['ADBFLEET_LOG_LEVEL', 'verbose'],
] as const) {
  test(`${name}=${raw} is refused, naming the variable`, () => {
    assert.throws(() => loadConfig({ [name]: raw }), (e: Error) => e.message.startsWith(name) && e.message.includes(raw));
  });
}

test('docs/OPERATIONS.md lists every variable the code reads', () => {
  const doc = readFileSync('docs/OPERATIONS.md', 'utf8');
  for (const [name] of Object.values(ENV_VARS)) assert.ok(doc.includes(`\`${name}\``), `${name} is documented`);
});
