// Settings: defaults, ADBFLEET_* variables, flags over both; a bad value names its variable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG, type Config } from '../../src/core/index.js';
import { SETTINGS, loadConfig, readSettings } from '../../src/cli/config.js';
import { adbKey } from '../../src/cli/service.js';

test('defaults are SPEC §9 and ARCHITECTURE.md values', () => {
  const c = loadConfig({});
  assert.deepEqual(c, { ...DEFAULT_CONFIG });
  assert.equal(c.maxOutputBytes, 1024 * 1024);
  assert.equal(c.perInstanceConcurrency, 1);
  assert.equal(c.retryWindowMs, 30_000);
  assert.equal(c.retentionMs, 7 * 24 * 3600 * 1000);
  assert.deepEqual([c.rateLimitPerSecond, c.rateLimitBurst], [100, 200]);
  assert.equal(c.shutdownGraceMs, 5_000, 'OPERATIONS.md: running jobs get 5 s on SIGTERM');
  assert.equal(c.url, `http://${c.host}:${c.port}`, "the admin CLI's default is the service's default address");
});

test('readSettings reads only the settings it is asked for', () => {
  const env = { ADBFLEET_URL: 'https://ops.example/adbfleet/', ADBFLEET_PORT: 'not a port', ADBFLEET_DATA: '' };
  assert.deepEqual(readSettings(env, ['url', 'adminToken', 'dataDir']), {
    url: 'https://ops.example/adbfleet/',
    adminToken: null,
    dataDir: './data',
  });
  assert.throws(() => readSettings(env, ['port']), /^Error: ADBFLEET_PORT/);
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
  assert.equal(loadConfig({ ADBFLEET_METRICS_PUBLIC: 'true' }).metricsPublic, true);
  assert.equal(loadConfig({ ADBFLEET_METRICS_PUBLIC: 'false' }).metricsPublic, false);
  // Hosts alone or with a port, lowercased, blanks and repeats dropped.
  assert.deepEqual(loadConfig({ ADBFLEET_URL_ALLOWLIST: ' Pkg.Example.com, 10.0.0.5:8080,[fd00::5]:443,,pkg.example.com ' }).urlAllowlist, [
    'pkg.example.com',
    '10.0.0.5:8080',
    '[fd00::5]:443',
  ]);
});

for (const [name, raw] of [
  ['ADBFLEET_PORT', '70000'],
  ['ADBFLEET_PORT', 'http'],
  ['ADBFLEET_MAX_OUTPUT_BYTES', '10'],
  ['ADBFLEET_INSTANCE_CONCURRENCY', '0'],
  ['ADBFLEET_RETRY_WINDOW_SECONDS', '1.5'],
  ['ADBFLEET_SHUTDOWN_GRACE_SECONDS', '-1'],
  ['ADBFLEET_HEALTH_TIMEOUT_SECONDS', '0'],
  ['ADBFLEET_RATE_LIMIT', '-1'],
  ['ADBFLEET_SQLITE_SYNCHRONOUS', 'OFF'],
  ['ADBFLEET_LOG_LEVEL', 'verbose'],
  ['ADBFLEET_METRICS_PUBLIC', 'yes'],
  ['ADBFLEET_URL_ALLOWLIST', 'http://pkg.example.com'],
  ['ADBFLEET_URL_ALLOWLIST', 'pkg.example.com:port'],
] as const) {
  test(`${name}=${raw} is refused, naming the variable`, () => {
    assert.throws(() => loadConfig({ [name]: raw }), (e: Error) => e.message.startsWith(name) && e.message.includes(raw));
  });
}

test('ADBFLEET_ADB_KEY: "~/" is the home directory, and a key that cannot be used names the variable', () => {
  assert.equal(loadConfig({ ADBFLEET_ADB_KEY: '~/.android/adbkey' }).adbKeyPath, join(homedir(), '.android/adbkey'));
  assert.equal(loadConfig({ ADBFLEET_ADB_KEY: '/etc/adbkey' }).adbKeyPath, '/etc/adbkey');
  const dir = mkdtempSync(join(tmpdir(), 'adbfleet-config-'));
  try {
    const path = join(dir, 'adbkey');
    writeFileSync(path, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
    assert.equal(adbKey({ dataDir: join(dir, 'data'), adbKeyPath: path }).path, path);
    assert.throws(() => adbKey({ dataDir: dir, adbKeyPath: join(dir, 'missing') }), /^Error: ADBFLEET_ADB_KEY: cannot read .*missing: ENOENT/);
    assert.equal(adbKey({ dataDir: join(dir, 'data'), adbKeyPath: null }).path, join(dir, 'data', 'adbkey'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** docs/OPERATIONS.md's settings table: variable -> its default column, backticks dropped. */
function documentedSettings(): Map<string, string> {
  const doc = readFileSync('docs/OPERATIONS.md', 'utf8');
  const section = doc.slice(doc.indexOf('## Configuration'), doc.indexOf('\n## ', doc.indexOf('## Configuration') + 1));
  const rows = new Map<string, string>();
  for (const m of section.matchAll(/^\| `(ADBFLEET_[A-Z_]+)` \|[^|]*\| ([^|]+) \|/gm)) {
    assert.ok(!rows.has(m[1]!), `${m[1]} is listed once`);
    rows.set(m[1]!, m[2]!.trim().replaceAll('`', ''));
  }
  return rows;
}

test('docs/OPERATIONS.md lists exactly the settings, each with its default', () => {
  const documented = documentedSettings();
  const table = new Map(
    (Object.entries(SETTINGS) as Array<[keyof Config, (typeof SETTINGS)[keyof Config]]>).map(([key, s]) => [s.variable, s.show(DEFAULT_CONFIG[key])]),
  );
  assert.equal(table.size, Object.keys(DEFAULT_CONFIG).length, 'one variable per setting');
  assert.deepEqual([...documented.keys()].sort(), [...table.keys()].sort());
  for (const [variable, shown] of table) assert.equal(documented.get(variable), shown, `${variable}'s documented default`);
});

test('every ADBFLEET_* variable the docs and the code name is a setting', () => {
  const settings = new Set(Object.values(SETTINGS).map((s) => s.variable));
  const files = ['README.md', 'docs/OPERATIONS.md', 'docs/API.md', 'docs/CLI.md', ...['admin', 'demo', 'serve', 'service', 'tenant/connection'].map((f) => `src/cli/${f}.ts`)];
  for (const file of files) {
    for (const [name] of readFileSync(file, 'utf8').matchAll(/ADBFLEET_[A-Z_]+/g)) {
      assert.ok(settings.has(name), `${file} names ${name}, which is not in the settings table`);
    }
  }
});
