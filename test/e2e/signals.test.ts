// A second signal during the shutdown grace exits at once (documented in docs/OPERATIONS.md): the
// process does not sit out a long grace when the operator or the orchestrator insists, and the job
// it left running is stored as interrupted (1006) at the next start, as after kill -9.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { request, startServeProcess, startSimProcess, until } from '../support/index.js';

for (const [first, second, code] of [
  ['SIGTERM', 'SIGTERM', 143],
  ['SIGINT', 'SIGTERM', 143],
] as const) {
  test(`${first} then ${second} during a 60 s grace: exits at once with ${code}, the running job is 1006 after restart`, async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'adbfleet-signals-'));
    const adminToken = `adm_${randomUUID()}`;
    const env = { ADBFLEET_DATA: dataDir, ADBFLEET_ADMIN_TOKEN: adminToken, ADBFLEET_SHUTDOWN_GRACE_SECONDS: '60', ADBFLEET_LOG_LEVEL: 'info' };
    const sim = await startSimProcess(1);
    let service = await startServeProcess(env);
    try {
      const admin = (method: string, path: string, body?: unknown) =>
        request(service.url, method, `/admin/v1${path}`, body, { authorization: `Bearer ${adminToken}` });
      const tenant = await admin('POST', '/tenants', { name: 'signals' });
      assert.equal(tenant.status, 200);
      const r = await admin('POST', '/instances', { instance_id: 'p1', adb_address: sim.addresses[0], tenant_id: tenant.body.tenant_id });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const call = (method: string, path: string, body?: unknown) =>
        request(service.url, method, path, body, { 'x-auth-token': tenant.body.token, 'x-request-id': randomUUID() });
      const task = await call('POST', '/v1/instances/async-command', { command: 'sleep 40', instance_ids: ['p1'] });
      assert.equal(task.status, 200);
      const taskId: string = task.body.data.task_id;
      await until('the job to run', async () => (await call('GET', `/v1/instances/tasks/${taskId}`)).body.data.jobs[0].state === 'running', 10_000, 50);

      service.child.proc.kill(first);
      await service.child.waitFor(/"msg":"shutting down"/, 10_000);
      const sentAt = Date.now();
      const exitCode = await service.child.kill(second);
      const ms = Date.now() - sentAt;
      t.diagnostic(`exited ${ms} ms after the second signal`);
      assert.equal(exitCode, code);
      assert.ok(ms < 5_000, `${ms} ms`);

      service = await startServeProcess(env);
      const after = await call('GET', `/v1/instances/tasks/${taskId}`);
      assert.equal(after.body.data.jobs[0].error_code, 'KOOPHONE.JOB.1006', JSON.stringify(after.body));
    } finally {
      await service.child.kill('SIGKILL');
      await sim.child.kill('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}
