// End to end through the real HTTP server, the worker, SQLite and the simulator over TCP.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { type ServiceHarness, startServiceHarness, until } from '../support/index.js';

let h: ServiceHarness;

before(async () => {
  h = await startServiceHarness({ instances: 100 });
});
after(async () => {
  await h?.close();
});

async function submit(command: string, ids: string[], extra: Record<string, unknown> = {}): Promise<string> {
  const r = await h.call('POST', '/v1/instances/async-command', { command, instance_ids: ids, ...extra });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.error_code, '0');
  assert.equal(r.body.data.cmd_jobs.length, ids.length);
  return r.body.data.task_id;
}

test('ls -l /system on 100 instances: every job succeeds with the listing; its output and the task list agree', async () => {
  const r = await h.call('POST', '/v1/instances/async-command', { command: 'ls -l /system', instance_ids: h.ids });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const taskId: string = r.body.data.task_id;
  const jobs = await h.waitTask(taskId);
  assert.deepEqual(jobs.map((j) => j.instance_id), h.ids, 'jobs in cmd_jobs order');
  assert.deepEqual(jobs.map((j) => j.job_id), r.body.data.cmd_jobs.map((j: { job_id: string }) => j.job_id));
  for (const j of jobs) {
    assert.equal(j.state, 'succeeded', JSON.stringify(j));
    assert.equal(j.status, 2);
    assert.equal(j.error_code, '0');
    assert.equal(j.error_msg, 'ok');
    assert.equal(j.exit_code, 0);
    assert.match(j.execute_msg, /build\.prop/);
    assert.equal(j.output_bytes, Buffer.byteLength(j.execute_msg));
    assert.ok(j.started_at !== null && j.finished_at !== null);
  }
  const first = jobs[0]!;
  const out = await h.call('GET', `/v1/instances/tasks/${taskId}/jobs/${first.job_id}/output`);
  assert.equal(out.status, 200);
  assert.deepEqual(out.body.data, {
    stdout: first.execute_msg, stderr: '', combined: first.execute_msg, exit_code: 0, output_bytes: first.output_bytes, output_truncated: false,
  });
  const list = (await h.call('GET', '/v1/instances/tasks?limit=1')).body.data;
  assert.equal(list.tasks[0].task_id, taskId);
  assert.equal(list.tasks[0].counts.succeeded, h.ids.length);
});

test('non-zero exit, stderr and an unknown command', async () => {
  const ids = h.ids.slice(0, 3);
  const [exit3, missing, unknown] = await Promise.all([
    submit('exit 3', [ids[0]!]),
    submit('ls /nonexistent', [ids[1]!]),
    submit('frobnicate now', [ids[2]!]),
  ]);
  const [j1] = await h.waitTask(exit3);
  assert.equal(j1?.state, 'failed');
  assert.equal(j1?.status, -1);
  assert.equal(j1?.error_code, 'KOOPHONE.JOB.1001');
  assert.equal(j1?.error_msg, 'exit status 3');
  assert.equal(j1?.exit_code, 3);

  const [j2] = await h.waitTask(missing);
  assert.equal(j2?.error_code, 'KOOPHONE.JOB.1001');
  assert.equal(j2?.exit_code, 1);
  assert.match(j2?.execute_msg ?? '', /No such file or directory/);

  const [j3] = await h.waitTask(unknown);
  assert.equal(j3?.exit_code, 127);
  assert.equal(j3?.error_msg, 'exit status 127');
  assert.match(j3?.execute_msg ?? '', /frobnicate: inaccessible or not found/);
});

test('a 2 MB output: execute_msg cut at 1024 bytes, full count, stored output capped', async () => {
  const taskId = await submit('seq 1 320000', [h.ids[5]!]);
  const [j] = await h.waitTask(taskId);
  assert.equal(j?.state, 'succeeded');
  const expected = Array.from({ length: 320000 }, (_, i) => `${i + 1}\n`).join('');
  assert.ok(expected.length > 2_000_000);
  assert.equal(j?.output_bytes, expected.length);
  assert.equal(j?.output_truncated, true);
  assert.equal(j?.execute_msg, expected.slice(0, 1024));
});

test('a command past timeout_seconds ends timed_out (1003)', async () => {
  const taskId = await submit('sleep 30', [h.ids[6]!], { timeout_seconds: 1 });
  const [j] = await h.waitTask(taskId, 20_000);
  assert.equal(j?.state, 'timed_out');
  assert.equal(j?.status, -1);
  assert.equal(j?.error_code, 'KOOPHONE.JOB.1003');
  const entries = h.fleet.instances[6]!.journal().filter((e) => e.command === 'sleep 30');
  assert.equal(entries.length, 1);
  assert.notEqual(entries[0]!.end, 'exit', 'the remote command was ended, not left to finish');
});

test('a command cut short keeps what it printed: timed out, and a dropped connection', async () => {
  const taskId = await submit('seq 1 100000000', [h.ids[11]!], { timeout_seconds: 1 });
  const [j] = await h.waitTask(taskId, 20_000);
  assert.equal(j?.state, 'timed_out');
  assert.ok(j!.output_bytes > 1024, `output_bytes ${j?.output_bytes}`);
  assert.ok(j?.execute_msg.startsWith('1\n2\n3\n'));
  assert.ok(Buffer.byteLength(j!.execute_msg) <= 1024);
  const out = await h.call('GET', `/v1/instances/tasks/${taskId}/jobs/${j!.job_id}/output`);
  assert.equal(out.status, 200);
  assert.ok(out.body.data.combined.startsWith('1\n2\n3\n'));
  assert.equal(out.body.data.stdout, out.body.data.combined);

  const sim = h.fleet.instances[12]!;
  sim.setFault({ kind: 'drop', afterBytes: 5000 });
  try {
    const dropped = await submit('seq 1 100000', [h.ids[12]!]);
    const [d] = await h.waitTask(dropped);
    assert.equal(d?.error_code, 'KOOPHONE.JOB.1005');
    assert.ok(d!.output_bytes > 0 && d!.output_bytes < 5000, `output_bytes ${d?.output_bytes}`);
    assert.ok(d?.execute_msg.startsWith('1\n2\n'));
  } finally {
    sim.setFault(null);
  }
});

test('an offline instance fails with 1002 after the retry window', async () => {
  const sim = h.fleet.instances[7]!;
  sim.setFault({ kind: 'offline', ms: 60_000 });
  try {
    // Submitted once the service sees it offline: the fault ends an open connection
    // asynchronously, and a job handed to that connection before it closed had started.
    await until(
      `${h.ids[7]!} offline`,
      async () => (await h.call('POST', '/v1/instances/batch-query-status', { instance_ids: [h.ids[7]!] })).body.data.status_results[0].status === 3,
      20_000,
      50,
    );
    const taskId = await submit('echo hi', [h.ids[7]!]);
    const [j] = await h.waitTask(taskId, 30_000);
    assert.equal(j?.state, 'failed');
    assert.equal(j?.error_code, 'KOOPHONE.JOB.1002');
    assert.equal(j?.started_at, null, 'it never started');
    assert.equal(sim.journal().filter((e) => e.command === 'echo hi').length, 0);
  } finally {
    sim.setFault(null);
  }
});

test('a connection dropped mid-command fails with 1005 and other instances keep working', async () => {
  const sim = h.fleet.instances[8]!;
  sim.setFault({ kind: 'drop', afterBytes: 1000 });
  try {
    const taskId = await submit('seq 1 100000', [h.ids[8]!, h.ids[9]!]);
    const [dropped, fine] = await h.waitTask(taskId);
    assert.equal(dropped?.state, 'failed');
    assert.equal(dropped?.error_code, 'KOOPHONE.JOB.1005');
    assert.equal(fine?.state, 'succeeded');
  } finally {
    sim.setFault(null);
  }
});

test('jobs on one instance run in submission order, never overlapping', async () => {
  const id = h.ids[10]!;
  const sim = h.fleet.instances[10]!;
  const tasks: string[] = [];
  for (let i = 1; i <= 8; i++) tasks.push(await submit(`echo order-${i}`, [id]));
  for (const t of tasks) await h.waitTask(t);
  const runs = sim.journal().filter((e) => e.command.startsWith('echo order-'));
  assert.deepEqual(runs.map((e) => e.command), [1, 2, 3, 4, 5, 6, 7, 8].map((i) => `echo order-${i}`));
  for (let i = 1; i < runs.length; i++) {
    assert.ok(runs[i]!.startedAt >= (runs[i - 1]!.endedAt ?? Infinity), 'no overlap');
  }
});

test('reboot: 5005 when an instance is offline or still starting; otherwise starting, then running again', async () => {
  const [a, b] = [h.ids[30]!, h.ids[31]!];
  const sim = h.fleet.instances[31]!;
  const status = async (id: string): Promise<number> => {
    const r = await h.call('POST', '/v1/instances/batch-query-status', { instance_ids: [id] });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.data.status_results[0].status;
  };
  const reach = (id: string, want: number): Promise<void> => until(`${id} at status ${want}`, async () => (await status(id)) === want, 20_000, 50);
  await reach(a, 2);
  sim.setFault({ kind: 'offline', ms: 60_000 });
  await reach(b, 3);
  const refused = await h.call('POST', '/v1/instances/reboot', { instance_ids: [a, b] });
  assert.equal(refused.status, 400);
  assert.equal(refused.body.error_code, 'KOOPHONE.API.5005');
  assert.match(refused.body.error_msg, new RegExp(b));
  assert.equal(h.fleet.instances[30]!.journal().filter((e) => e.service === 'reboot').length, 0, 'nothing rebooted');
  sim.setFault(null);

  const ok = await h.call('POST', '/v1/instances/reboot', { instance_ids: [a] });
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.deepEqual(ok.body, { error_code: '0', error_msg: 'ok' });
  assert.equal(await status(a), 4);
  const again = await h.call('POST', '/v1/instances/reboot', { instance_ids: [a] });
  assert.equal(again.status, 400, 'starting is not running');
  assert.equal(again.body.error_code, 'KOOPHONE.API.5005');
  await reach(a, 2);
  const page = await h.call('GET', `/v1/instances/batch-query?instance_id=${a}`);
  assert.equal(page.body.data.result[0].running_status, 2);
});
