// `adbfleet admin ...` against a running `adbfleet serve`: tenants, tokens and instances from the
// command line, with the admin token read from the data dir.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, runCli, startServeProcess } from '../support/index.js';

test('admin CLI: create a tenant, issue and revoke a token, register, assign and list instances', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'adbfleet-admin-'));
  const service = await startServeProcess({ ADBFLEET_DATA: dataDir, ADBFLEET_LOG_LEVEL: 'info' });
  const admin = async (...args: string[]): Promise<{ code: number | null; out: string; err: string }> => {
    const r = await runCli(['admin', '--url', service.url, '--data', dataDir, ...args], { ADBFLEET_ADMIN_TOKEN: '' });
    return { code: r.code, out: r.stdout, err: r.stderr };
  };
  try {
    const created = await admin('tenant', 'create', 'acme');
    assert.equal(created.code, 0, created.err);
    const tenant = JSON.parse(created.out) as { tenant_id: string; token: string };
    assert.match(tenant.tenant_id, /^t_[0-9a-f]{12}$/);

    const issued = JSON.parse((await admin('token', 'create', tenant.tenant_id)).out) as { token: string; prefix: string };
    assert.ok(issued.token.startsWith(issued.prefix));
    assert.deepEqual(JSON.parse((await admin('token', 'revoke', tenant.tenant_id, issued.prefix)).out), { revoked: 1 });

    const added = await admin('instance', 'add', 'phone-01', '192.168.7.20:5555', '--tenant', tenant.tenant_id, '--name', 'Pixel 7');
    assert.equal(added.code, 0, added.err);
    const dup = await admin('instance', 'add', 'phone-01', '192.168.7.20:5555');
    assert.equal(dup.code, 1);
    assert.match(dup.err, /HTTP 409/);
    const bad = await admin('instance', 'add', 'phone-02', 'no-port-here');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /adb_address/);

    assert.equal((await admin('instance', 'assign', 'phone-01', 'none')).code, 0);
    const list = JSON.parse((await admin('instance', 'list')).out) as { instances: { instance_id: string; tenant_id: string | null; instance_name: string }[] };
    assert.deepEqual(
      list.instances.map((i) => [i.instance_id, i.tenant_id, i.instance_name]),
      [['phone-01', null, 'Pixel 7']],
    );
    assert.equal((await admin('instance', 'remove', 'phone-01')).code, 0);
    assert.deepEqual(JSON.parse((await admin('instance', 'list')).out), { instances: [] });
  } finally {
    await service.child.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('admin CLI: a service that cannot be reached is named, with where its URL comes from', async () => {
  const url = `http://127.0.0.1:${await freePort()}`;
  const err = await runCli(['admin', '--url', url, '--token', 'x', 'tenant', 'list']);
  assert.equal(err.code, 1);
  assert.equal(err.stdout, '');
  assert.equal(err.stderr, `adbfleet: cannot reach the service at ${url} (--url/ADBFLEET_URL): ECONNREFUSED\n`);

  const unsafe = await runCli(['admin', '--url', 'http://127.0.0.1:6665', '--token', 'x', 'tenant', 'list']);
  assert.deepEqual(
    [unsafe.code, unsafe.stderr],
    [1, "adbfleet: cannot reach the service at http://127.0.0.1:6665 (--url/ADBFLEET_URL): port 6665 is one Node's fetch refuses (unsafe port); use another port\n"],
  );
});
