// A 200 means stored, and no job runs twice: kill -9 the service while 1,000 jobs run, restart
// it on the same data dir, and check every job's end against the simulator's journal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { type JobJson, request, startServeProcess, startSimProcess, until } from '../support/index.js';

interface JournalRow {
  serial: string;
  command: string;
  end: string;
}

test('kill -9 during 1,000 running jobs: after restart every job is final, none ran twice', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'adbfleet-crash-'));
  const adminToken = `adm_${randomUUID()}`;
  const env = {
    ADBFLEET_DATA: dataDir,
    ADBFLEET_ADMIN_TOKEN: adminToken,
    ADBFLEET_RATE_LIMIT: '0',
    ADBFLEET_RETRY_WINDOW_SECONDS: '10',
    ADBFLEET_LOG_LEVEL: 'info',
  };
  const sim = await startSimProcess(100);
  let service = await startServeProcess(env);
  try {
    const admin = (url: string, method: string, path: string, body?: unknown) =>
      request(url, method, `/admin/v1${path}`, body, { authorization: `Bearer ${adminToken}` });
    const tenant = await admin(service.url, 'POST', '/tenants', { name: 'crash' });
    assert.equal(tenant.status, 200);
    const ids = sim.addresses.map((_, i) => `crash-${i}`);
    for (const [i, address] of sim.addresses.entries()) {
      const r = await admin(service.url, 'POST', '/instances', {
        instance_id: ids[i],
        adb_address: address,
        tenant_id: tenant.body.tenant_id,
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    const call = (url: string, method: string, path: string, body?: unknown) =>
      request(url, method, path, body, { 'x-auth-token': tenant.body.token, 'x-request-id': randomUUID() });

    // Ten tasks of 100 jobs; a unique command per task tells the journal's entries apart.
    const commands = Array.from({ length: 10 }, (_, k) => `sleep 0.3${k}`);
    const taskIds: string[] = [];
    for (const command of commands) {
      const r = await call(service.url, 'POST', '/v1/instances/async-command', { command, instance_ids: ids });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      taskIds.push(r.body.data.task_id);
    }
    // Once every instance has finished a job and started its next, kill the service outright.
    const journalNow = async (): Promise<JournalRow[]> => (await (await fetch(`${sim.control}/journal`)).json()) as JournalRow[];
    let started = 0;
    await until(
      () => `jobs to get going: ${started} started`,
      async () => {
        const rows = await journalNow();
        started = rows.length;
        return rows.length >= 200 && rows.some((e) => e.end === 'running');
      },
      60_000,
      25,
    );
    await service.child.kill('SIGKILL');

    service = await startServeProcess(env);
    const deadline = Date.now() + 90_000;
    const jobsByTask = new Map<string, JobJson[]>();
    for (const taskId of taskIds) {
      const finished = async (): Promise<boolean> => {
        const r = await call(service.url, 'GET', `/v1/instances/tasks/${taskId}`);
        assert.equal(r.status, 200, `task ${taskId} survived the crash: ${JSON.stringify(r.body)}`);
        const jobs: JobJson[] = r.body.data.jobs;
        jobsByTask.set(taskId, jobs);
        return jobs.every((j) => j.state !== 'queued' && j.state !== 'running');
      };
      await until(`task ${taskId} to finish after the restart`, finished, Math.max(0, deadline - Date.now()), 200);
    }

    const journal = (await (await fetch(`${sim.control}/journal`)).json()) as JournalRow[];
    const runs = new Map<string, number>();
    for (const e of journal) runs.set(`${e.serial}|${e.command}`, (runs.get(`${e.serial}|${e.command}`) ?? 0) + 1);
    for (const [key, n] of runs) assert.equal(n, 1, `${key} ran ${n} times`);

    const serials = ((await (await fetch(`${sim.control}/instances`)).json()) as { serial: string }[]).map((i) => i.serial);
    let interrupted = 0;
    let succeeded = 0;
    for (const [k, taskId] of taskIds.entries()) {
      const jobs = jobsByTask.get(taskId)!;
      assert.equal(jobs.length, 100);
      for (const [i, job] of jobs.entries()) {
        const ran = runs.get(`${serials[i]}|${commands[k]}`) ?? 0;
        if (job.error_code === 'KOOPHONE.JOB.1006') {
          interrupted++;
          assert.equal(job.state, 'failed');
          assert.ok(ran <= 1);
        } else {
          assert.equal(job.state, 'succeeded', `${job.instance_id} ${commands[k]}: ${JSON.stringify(job)}`);
          assert.equal(ran, 1, `${serials[i]} ran ${commands[k]} once`);
          succeeded++;
        }
      }
    }
    assert.ok(interrupted > 0, 'the jobs running at the kill were marked 1006');
    assert.ok(succeeded > 0);
    assert.equal(interrupted + succeeded, 1000);
  } finally {
    await service.child.kill('SIGKILL');
    await sim.child.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
