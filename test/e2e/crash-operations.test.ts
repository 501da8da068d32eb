// Device operations keep a command's crash rules (SPEC §4, §10): kill -9 the service while pushes
// are under way and more operations wait behind them, restart it on the same data dir, and check
// every job's end against the simulator's journal, which records each transfer when it starts.
// A push cut by the kill is 1006 and never sent again; the queued push and screenshots run once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type JobJson, request, startServeProcess, startSimProcess, until } from '../support/index.js';

interface JournalRow {
  serial: string;
  command: string;
  service: string;
  end: string;
  exitCode: number | null;
}

const INSTANCES = 20;
const MIB = 1024 * 1024;

test('kill -9 during pushes: after restart every operation is final, no transfer ran twice, the queued ones ran once', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'adbfleet-crash-ops-'));
  const adminToken = `adm_${randomUUID()}`;
  const env = { ADBFLEET_DATA: dataDir, ADBFLEET_ADMIN_TOKEN: adminToken, ADBFLEET_RATE_LIMIT: '0', ADBFLEET_LOG_LEVEL: 'info' };
  const sim = await startSimProcess(INSTANCES);
  let service = await startServeProcess(env);
  try {
    const admin = (method: string, path: string, body?: unknown) =>
      request(service.url, method, `/admin/v1${path}`, body, { authorization: `Bearer ${adminToken}` });
    const tenant = await admin('POST', '/tenants', { name: 'crash-ops' });
    const ids = sim.addresses.map((_, i) => `ops-${i}`);
    for (const [i, address] of sim.addresses.entries()) {
      const r = await admin('POST', '/instances', { instance_id: ids[i], adb_address: address, tenant_id: tenant.body.tenant_id });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    const call = (method: string, path: string, body?: unknown) =>
      request(service.url, method, path, body, { 'x-auth-token': tenant.body.token, 'x-request-id': randomUUID() });
    const up = await fetch(`${service.url}/v1/artifacts`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', 'x-auth-token': tenant.body.token, 'x-request-id': randomUUID() },
      body: Buffer.alloc(48 * MIB, 'crash '),
    });
    assert.equal(up.status, 200);
    const artifactId = ((await up.json()) as { data: { artifact_id: string } }).data.artifact_id;

    // Per instance, in this order: a push the kill cuts (or that finishes first), then a
    // screenshot and a second push that wait behind it.
    const submit = async (path: string, body: unknown): Promise<string> => {
      const r = await call('POST', path, body);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.data.task_id as string;
    };
    const first = await submit('/v1/instances/files/push', { artifact_id: artifactId, path: '/sdcard/first.bin', instance_ids: ids });
    const shot = await submit('/v1/instances/screenshot', { instance_ids: ids });
    const second = await submit('/v1/instances/files/push', { artifact_id: artifactId, path: '/sdcard/second.bin', instance_ids: ids });

    const journal = async (): Promise<JournalRow[]> => (await (await fetch(`${sim.control}/journal`)).json()) as JournalRow[];
    await until('pushes to be under way', async () => (await journal()).filter((e) => e.command === 'SEND /sdcard/first.bin' && e.end === 'running').length >= 3, 60_000, 10);
    await service.child.kill('SIGKILL');

    service = await startServeProcess(env);
    const jobsOf = new Map<string, JobJson[]>();
    for (const taskId of [first, shot, second]) {
      await until(
        `task ${taskId} to finish after the restart`,
        async () => {
          const r = await call('GET', `/v1/instances/tasks/${taskId}`);
          assert.equal(r.status, 200, JSON.stringify(r.body));
          jobsOf.set(taskId, r.body.data.jobs);
          return (r.body.data.jobs as JobJson[]).every((j) => j.state !== 'queued' && j.state !== 'running');
        },
        120_000,
        200,
      );
    }

    const rows = await journal();
    const serials = ((await (await fetch(`${sim.control}/instances`)).json()) as { serial: string }[]).map((i) => i.serial);
    const ran = (serial: string, command: string): JournalRow[] => rows.filter((e) => e.serial === serial && e.command === command);
    let interrupted = 0;
    for (const [i, serial] of serials.entries()) {
      const push = jobsOf.get(first)![i]!;
      const sends = ran(serial, 'SEND /sdcard/first.bin');
      assert.ok(sends.length <= 1, `${serial}: the first push was sent ${sends.length} times`);
      if (push.error_code === 'KOOPHONE.JOB.1006') {
        interrupted++;
        assert.equal(push.state, 'failed');
        // Started before the kill, or taken from the queue and never sent: not sent since.
        assert.notDeepEqual(sends.map((e) => [e.end, e.exitCode]), [['exit', 0]], `${serial}: a push marked interrupted completed`);
      } else {
        assert.equal(push.state, 'succeeded', `${serial}: ${JSON.stringify(push)}`);
        assert.deepEqual(sends.map((e) => [e.end, e.exitCode]), [['exit', 0]], `${serial}: the first push ran once`);
      }
      // Queued at the kill: each ran once, after the restart.
      assert.equal(jobsOf.get(shot)![i]!.state, 'succeeded', `${serial}: ${JSON.stringify(jobsOf.get(shot)![i])}`);
      assert.equal(ran(serial, 'screencap -p').length, 1, `${serial}: one screenshot`);
      assert.equal(jobsOf.get(second)![i]!.state, 'succeeded', `${serial}: ${JSON.stringify(jobsOf.get(second)![i])}`);
      assert.deepEqual(ran(serial, 'SEND /sdcard/second.bin').map((e) => [e.end, e.exitCode]), [['exit', 0]], `${serial}: the second push ran once`);
    }
    assert.ok(interrupted > 0, 'the pushes running at the kill were marked 1006');
  } finally {
    await service.child.kill('SIGKILL');
    await sim.child.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
