// Commands that really run: the API on the real dispatcher, health monitor and ADB pool against
// the simulated fleet.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { envelope, type LiveApi, startLiveApi, until } from '../support/index.js';

let live: LiveApi;

before(async () => {
  live = await startLiveApi({ count: 3 });
});
after(async () => {
  await live?.close();
});

test('async-command runs on every instance; the task shows succeeded jobs with output', async () => {
  const res = await live.call(live.token, 'POST', '/v1/instances/async-command', { command: 'echo hello', instance_ids: live.ids });
  assert.equal(res.statusCode, 200, res.body);
  const { task_id: taskId, cmd_jobs: cmdJobs } = res.json().data;
  const jobs = await live.waitTask(taskId);
  assert.deepEqual(jobs.map((j) => j['job_id']), cmdJobs.map((j: { job_id: string }) => j.job_id));
  for (const j of jobs) {
    assert.equal(j['state'], 'succeeded', JSON.stringify(j));
    assert.equal(j['status'], 2);
    assert.equal(j['error_code'], '0');
    assert.equal(j['error_msg'], 'ok');
    assert.equal(j['execute_msg'], 'hello\n');
    assert.equal(j['exit_code'], 0);
    assert.equal(j['output_bytes'], 6);
    assert.notEqual(j['started_at'], null);
  }
  const out = await live.call(live.token, 'GET', `/v1/instances/tasks/${taskId}/jobs/${cmdJobs[0].job_id}/output`);
  assert.equal(out.statusCode, 200);
  assert.deepEqual(out.json().data, { stdout: 'hello\n', stderr: '', combined: 'hello\n', exit_code: 0, output_bytes: 6, output_truncated: false });
  const list = (await live.call(live.token, 'GET', '/v1/instances/tasks?limit=1')).json().data;
  assert.equal(list.tasks[0].task_id, taskId);
  assert.equal(list.tasks[0].counts.succeeded, 3);
});

test('a non-zero exit is failed KOOPHONE.JOB.1001 "exit status N"; output kept', async () => {
  const res = await live.call(live.token, 'POST', '/v1/instances/async-command', { command: 'ls /nonexistent', instance_ids: [live.ids[0]] });
  const [job] = await live.waitTask(res.json().data.task_id);
  assert.ok(job);
  assert.equal(job['state'], 'failed');
  assert.equal(job['status'], -1);
  assert.equal(job['error_code'], 'KOOPHONE.JOB.1001');
  assert.match(job['error_msg'] as string, /^exit status [1-9]/);
  assert.match(job['execute_msg'] as string, /nonexistent/);
});

test('timeout_seconds ends a long command: timed_out KOOPHONE.JOB.1003', async () => {
  const res = await live.call(live.token, 'POST', '/v1/instances/async-command', { command: 'sleep 60', instance_ids: [live.ids[1]], timeout_seconds: 1 });
  const [job] = await live.waitTask(res.json().data.task_id, 30_000);
  assert.ok(job);
  assert.equal(job['state'], 'timed_out');
  assert.equal(job['error_code'], 'KOOPHONE.JOB.1003');
});

test('sync-command answers with every result', async () => {
  const res = await live.call(live.token, 'POST', '/v1/instances/sync-command', { command: 'echo sync', instance_ids: live.ids.slice(0, 2) });
  assert.equal(res.statusCode, 200, res.body);
  const results = res.json().data.cmd_results;
  assert.deepEqual(results.map((r: { instance_id: string }) => r.instance_id), live.ids.slice(0, 2));
  for (const r of results) {
    assert.equal(r.status, 2);
    assert.equal(r.error_code, '0');
    assert.equal(r.execute_msg, 'sync\n');
    assert.equal(r.exit_code, 0);
    assert.equal(r.state, 'succeeded');
    assert.match(r.job_id, /^[0-9a-f]{32}$/);
    // "Per-instance fields as in §4": every field of a job.
    assert.deepEqual(Object.keys(r).sort(), [
      'created_at', 'error_code', 'error_msg', 'execute_msg', 'exit_code', 'finished_at', 'instance_id',
      'job_id', 'output_bytes', 'output_truncated', 'started_at', 'state', 'status',
    ]);
    assert.equal(r.output_bytes, 5);
    assert.equal(r.output_truncated, false);
  }
});

test('sync-command past its timeout reports timed_out jobs', async () => {
  const res = await live.call(live.token, 'POST', '/v1/instances/sync-command', { command: 'sleep 30', instance_ids: [live.ids[2]], timeout_seconds: 1 });
  assert.equal(res.statusCode, 200, res.body);
  const [r] = res.json().data.cmd_results;
  assert.equal(r.state, 'timed_out');
  assert.equal(r.error_code, 'KOOPHONE.JOB.1003');
  assert.equal(r.status, -1);
});

test('cancel stops a running job and cancels the queued one behind it (1004)', async () => {
  const id = live.ids[0] as string;
  const first = await live.call(live.token, 'POST', '/v1/instances/async-command', { command: 'sleep 60', instance_ids: [id] });
  const second = await live.call(live.token, 'POST', '/v1/instances/async-command', { command: 'sleep 60', instance_ids: [id] });
  const t1 = first.json().data.task_id;
  const t2 = second.json().data.task_id;
  await until('the first job running', async () => {
    const jobs = (await live.call(live.token, 'GET', `/v1/instances/tasks/${t1}`)).json().data.jobs;
    return jobs[0].state === 'running';
  });
  const c2 = await live.call(live.token, 'POST', `/v1/instances/tasks/${t2}/cancel`);
  assert.equal(c2.json().data.jobs[0].state, 'cancelled');
  const c1 = await live.call(live.token, 'POST', `/v1/instances/tasks/${t1}/cancel`);
  assert.equal(c1.statusCode, 200);
  const [job] = await live.waitTask(t1, 15_000);
  assert.ok(job);
  assert.equal(job['state'], 'cancelled');
  assert.equal(job['error_code'], 'KOOPHONE.JOB.1004');
});

test('instance status comes from the health monitor; reboot shows 4 then 2 again', async () => {
  const id = live.ids[2] as string;
  const statusOf = async (): Promise<number> =>
    (await live.call(live.token, 'POST', '/v1/instances/batch-query-status', { instance_ids: [id] })).json().data.status_results[0].status;
  await until('instance running', async () => (await statusOf()) === 2);
  const res = await live.call(live.token, 'POST', '/v1/instances/reboot', { instance_ids: [id] });
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json(), { error_code: '0', error_msg: 'ok' });
  assert.equal(await statusOf(), 4);
  const again = await live.call(live.token, 'POST', '/v1/instances/reboot', { instance_ids: [id] });
  assert.equal(again.statusCode, 400);
  assert.equal(envelope(again).error_code, 'KOOPHONE.API.5005');
  await until('instance back', async () => (await statusOf()) === 2, 30_000);
  const page = (await live.call(live.token, 'GET', `/v1/instances/batch-query?instance_id=${id}`)).json().data;
  assert.equal(page.result[0].running_status, 2);
});
