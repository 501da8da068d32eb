// `adbfleet demo` (what `npm start` runs): the service and a simulated fleet registered to a demo
// tenant; a second run on the same data dir reuses the tenant and its token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { request, startChild } from '../support/index.js';

async function runDemo(dataDir: string): Promise<{ url: string; tenant: string; stop: () => Promise<number | null> }> {
  const child = startChild(['demo', '--port', '0', '--data', dataDir, '--instances', '3', '--sim-base-port', '0'], {
    ADBFLEET_LOG_LEVEL: 'warn',
  });
  const ready = await child.waitFor(/^adbfleet demo ready at (\S+)/);
  const tenant = (await child.waitFor(/tenant (t_[0-9a-f]+)/))[1]!;
  await child.waitFor(/curl -s -X POST/);
  return { url: ready[1]!, tenant, stop: () => child.kill('SIGTERM') };
}

test('demo: a ready service with a simulated fleet, its token on disk, reused on the next run', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'adbfleet-demo-'));
  try {
    const first = await runDemo(dataDir);
    const token = readFileSync(join(dataDir, 'demo-token'), 'utf8').trim();
    assert.equal(statSync(join(dataDir, 'demo-token')).mode & 0o777, 0o600);
    assert.equal(statSync(join(dataDir, 'admin-token')).mode & 0o777, 0o600);
    const headers = () => ({ 'x-auth-token': token, 'x-request-id': randomUUID() });
    const r = await request(first.url, 'POST', '/v1/instances/sync-command', { command: 'getprop ro.serialno', instance_ids: ['demo-001', 'demo-003'] }, headers());
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.data.cmd_results.map((x: { status: number }) => x.status), [2, 2]);
    assert.equal(await first.stop(), 0, 'SIGTERM stops the demo cleanly');

    // Second run: the fleet has new ports; the same tenant and token work against it.
    const second = await runDemo(dataDir);
    try {
      assert.equal(second.tenant, first.tenant);
      assert.equal(readFileSync(join(dataDir, 'demo-token'), 'utf8').trim(), token);
      const again = await request(second.url, 'POST', '/v1/instances/sync-command', { command: 'echo hi', instance_ids: ['demo-002'] }, headers());
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.equal(again.body.data.cmd_results[0].execute_msg, 'hi\n');
    } finally {
      await second.stop();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
