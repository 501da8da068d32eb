// `serve --database-url` / ADBFLEET_DATABASE_URL: the CLI as a child process. A malformed URL or
// a server that does not answer stops it at start with one line naming the setting (no stack
// trace, no password); a reachable PostgreSQL serves. --role and --zones need it.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { request, startChild, startServeProcess } from '../support/index.js';
import { freshPostgres, postgresSkipReason } from '../support/postgres.js';

const dataDir = mkdtempSync(join(tmpdir(), 'adbfleet-dburl-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

/** Runs `serve` until it exits; its exit code and stderr. */
async function serveFails(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = startChild(['serve', '--port', '0', '--data', dataDir, ...args], env);
  let stderr = '';
  child.proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.proc.once('exit', resolve));
  return { code, stderr };
}

/** A port nothing listens on (bound, then closed). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

function assertOneLine(stderr: string, ...patterns: RegExp[]): void {
  const lines = stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line, got:\n${stderr}`);
  for (const p of patterns) assert.match(lines[0]!, p);
  assert.doesNotMatch(stderr, /secret/, 'the password is never shown');
}

test('a malformed database URL: one line naming the flag or the variable, exit 1', async () => {
  const flag = await serveFails(['--database-url', 'mysql://u:secret@db/x'], {});
  assert.equal(flag.code, 1);
  assertOneLine(flag.stderr, /--database-url must be a PostgreSQL URL/);
  const variable = await serveFails([], { ADBFLEET_DATABASE_URL: 'not a url:secret@' });
  assert.equal(variable.code, 1);
  assertOneLine(variable.stderr, /ADBFLEET_DATABASE_URL must be a PostgreSQL URL/);
});

test('an unreachable server at start: one line naming the setting and the server, exit 1', async () => {
  const port = await closedPort();
  const r = await serveFails([], { ADBFLEET_DATABASE_URL: `postgres://u:secret@127.0.0.1:${port}/adbfleet` });
  assert.equal(r.code, 1);
  assertOneLine(r.stderr, /ADBFLEET_DATABASE_URL/, new RegExp(`127\\.0\\.0\\.1:${port}/adbfleet`), /ECONNREFUSED/);
});

test('serve on PostgreSQL: ready, and /readyz answers', { skip: postgresSkipReason ?? false }, async () => {
  const { url } = await freshPostgres();
  const { child, url: base } = await startServeProcess({ ADBFLEET_DATA: dataDir, ADBFLEET_DATABASE_URL: url });
  try {
    const res = await request(base, 'GET', '/readyz', undefined, {});
    assert.equal(res.status, 200, JSON.stringify(res.body));
  } finally {
    assert.equal(await child.kill(), 0);
  }
});

test('--role api or worker, or --zones, on SQLite: one line saying PostgreSQL is needed; --zones on an API node: one line saying zones are a worker\'s; exit 1', async () => {
  for (const role of ['api', 'worker']) {
    const r = await serveFails(['--role', role], {});
    assert.equal(r.code, 1);
    assertOneLine(r.stderr, new RegExp(`--role/ADBFLEET_ROLE ${role} needs --database-url/ADBFLEET_DATABASE_URL`));
  }
  const zones = await serveFails([], { ADBFLEET_ZONES: 'a,b' });
  assert.equal(zones.code, 1);
  assertOneLine(zones.stderr, /--zones\/ADBFLEET_ZONES needs --database-url/);
  const bad = await serveFails(['--role', 'both'], {});
  assert.equal(bad.code, 1);
  assertOneLine(bad.stderr, /--role must be one of api, worker, all, got "both"/);
  // Zones are a worker's: an API node given some says so, on PostgreSQL too (refused before connecting).
  for (const [args, env] of [[['--role', 'api', '--zones', 'z1'], {}], [['--role', 'api'], { ADBFLEET_ZONES: 'z1', ADBFLEET_DATABASE_URL: 'postgres://127.0.0.1:1/none' }]] as const) {
    const r = await serveFails([...args], { ...env });
    assert.equal(r.code, 1);
    assertOneLine(r.stderr, /--zones\/ADBFLEET_ZONES applies to workers: a --role api node runs no jobs/);
  }
  const empty = await serveFails(['--zones', 'a,,b'], {});
  assert.equal(empty.code, 1);
  assertOneLine(empty.stderr, /--zones must be zone names separated by commas/);
});
