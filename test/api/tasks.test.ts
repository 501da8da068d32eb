// SPEC §4 and §7: task view, task list, job output, cancel. Jobs are moved through the real
// store's worker-side calls (markRunning, finishJobs) the way the worker would.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { hashToken } from '../../src/core/ids.js';
import type { JobResult } from '../../src/store/index.js';
import { type ApiHarness, envelope, startApiHarness } from '../support/index.js';

let h: ApiHarness;
let tokenA: string;
let tenantKeyA: number;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

before(async () => {
  h = await startApiHarness();
  const a = await h.tenant('alpha');
  tokenA = a.token;
  tenantKeyA = (await h.store.findToken(hashToken(tokenA)))?.tenantKey ?? -1;
  for (const id of ['a1', 'a2', 'a3']) await h.instance(id, a.tenantId);
});
after(async () => {
  await h.close();
});

async function submit(command = 'ls', ids = ['a1', 'a2']): Promise<{ taskId: string; jobIds: string[] }> {
  const res = await h.call(tokenA, 'POST', '/v1/instances/async-command', { command, instance_ids: ids });
  assert.equal(res.statusCode, 200, res.body);
  const data = res.json().data;
  return { taskId: data.task_id, jobIds: data.cmd_jobs.map((j: { job_id: string }) => j.job_id) };
}

function finished(jobKey: number, over: Partial<JobResult> = {}): JobResult {
  const combined = Buffer.from('hello\nworld\n');
  return {
    jobKey, state: 'succeeded', errorCode: '0', errorMsg: 'ok', exitCode: 0, executeMsg: combined.toString(),
    outputBytes: combined.length, outputTruncated: false, finishedAt: Date.now(),
    output: { stdout: Buffer.from('hello\n'), stderr: Buffer.from('world\n'), combined }, ...over,
  };
}

test('GET task: queued jobs in cmd_jobs order with every SPEC §4 field', async () => {
  const { taskId, jobIds } = await submit('ls', ['a2', 'a1']);
  const res = await h.call(tokenA, 'GET', `/v1/instances/tasks/${taskId}`);
  assert.equal(res.statusCode, 200);
  const body = res.json();
  assert.equal(body.error_code, '0');
  assert.equal(body.error_msg, 'ok');
  const jobs = body.data.jobs;
  assert.deepEqual(jobs.map((j: { job_id: string }) => j.job_id), jobIds);
  assert.deepEqual(jobs.map((j: { instance_id: string }) => j.instance_id), ['a2', 'a1']);
  for (const j of jobs) {
    assert.deepEqual(Object.keys(j).sort(), [
      'created_at', 'error_code', 'error_msg', 'execute_msg', 'exit_code', 'finished_at', 'instance_id', 'job_id',
      'output_bytes', 'output_truncated', 'started_at', 'state', 'status',
    ]);
    assert.equal(j.status, 1);
    assert.equal(j.state, 'queued');
    assert.equal(j.error_code, '');
    assert.equal(j.exit_code, null);
    assert.match(j.created_at, ISO);
    assert.equal(j.started_at, null);
    assert.equal(j.finished_at, null);
    assert.equal(j.output_bytes, 0);
    assert.equal(j.output_truncated, false);
  }
});

test('GET task: running, succeeded and failed jobs show status 1/2/-1 and their codes', async () => {
  const { taskId } = await submit('ls', ['a1', 'a2', 'a3']);
  const task = await h.store.getTask(tenantKeyA, taskId);
  assert.ok(task);
  const [j1, j2, j3] = task.jobs;
  assert.ok(j1 && j2 && j3);
  await h.store.markRunning([j1.jobKey, j2.jobKey, j3.jobKey], Date.now());
  await h.store.finishJobs([
    finished(j1.jobKey),
    finished(j2.jobKey, { state: 'failed', errorCode: 'KOOPHONE.JOB.1001', errorMsg: 'exit status 3', exitCode: 3 }),
  ]);
  const jobs = (await h.call(tokenA, 'GET', `/v1/instances/tasks/${taskId}`)).json().data.jobs;
  assert.equal(jobs[0].status, 2);
  assert.equal(jobs[0].state, 'succeeded');
  assert.equal(jobs[0].error_code, '0');
  assert.equal(jobs[0].execute_msg, 'hello\nworld\n');
  assert.equal(jobs[0].exit_code, 0);
  assert.match(jobs[0].started_at, ISO);
  assert.match(jobs[0].finished_at, ISO);
  assert.equal(jobs[0].output_bytes, 12);
  assert.equal(jobs[1].status, -1);
  assert.equal(jobs[1].state, 'failed');
  assert.equal(jobs[1].error_code, 'KOOPHONE.JOB.1001');
  assert.equal(jobs[1].error_msg, 'exit status 3');
  assert.equal(jobs[1].exit_code, 3);
  assert.equal(jobs[2].status, 1);
  assert.equal(jobs[2].state, 'running');
  assert.match(jobs[2].started_at, ISO);
  assert.equal(jobs[2].finished_at, null);
});

for (const [name, id] of [
  ['random hex', 'f'.repeat(32)],
  ['uppercase hex', 'F'.repeat(32)],
  ['too short', 'abc'],
  ['not hex', 'z'.repeat(32)],
] as const) {
  test(`GET task with ${name} id -> 400 KOOPHONE.API.1000 "task_id ... does not exist"`, async () => {
    const res = await h.call(tokenA, 'GET', `/v1/instances/tasks/${id}`);
    assert.equal(res.statusCode, 400);
    assert.equal(envelope(res).error_code, 'KOOPHONE.API.1000');
    assert.equal(envelope(res).error_msg, `task_id ${id} does not exist`);
  });
}

test('task list: newest first, counts, cursor paging to the end', async () => {
  const h2 = await startApiHarness();
  try {
    const t = await h2.tenant('lister');
    await h2.instance('l1', t.tenantId);
    await h2.instance('l2', t.tenantId);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await h2.call(t.token, 'POST', '/v1/instances/async-command', { command: `echo ${i}`, instance_ids: ['l1', 'l2'] });
      ids.push(res.json().data.task_id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const url: string = `/v1/instances/tasks?limit=2${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const res = await h2.call(t.token, 'GET', url);
      assert.equal(res.statusCode, 200, res.body);
      const data = res.json().data;
      assert.ok(data.tasks.length <= 2);
      for (const task of data.tasks) {
        seen.push(task.task_id);
        assert.match(task.command, /^echo \d$/);
        assert.match(task.created_at, ISO);
        assert.deepEqual(task.counts, { queued: 2, running: 0, succeeded: 0, failed: 0, timed_out: 0, cancelled: 0 });
      }
      cursor = data.next_cursor;
      pages += 1;
    } while (cursor !== null && pages < 10);
    assert.deepEqual(seen, [...ids].reverse());
    const all = (await h2.call(t.token, 'GET', '/v1/instances/tasks')).json().data;
    assert.equal(all.tasks.length, 5);
    assert.equal(all.next_cursor, null);
  } finally {
    await h2.close();
  }
});

for (const [query, field] of [
  ['limit=0', 'limit'], ['limit=101', 'limit'], ['limit=abc', 'limit'], ['limit=1.5', 'limit'], ['limit=-1', 'limit'],
  ['limit=1&limit=2', 'limit'], ['cursor=garbage', 'cursor'], ['cursor=%00%01', 'cursor'], ['cursor=MA', 'cursor'],
] as const) {
  test(`task list ?${query} -> 400 KOOPHONE.API.1000 naming ${field}`, async () => {
    const res = await h.call(tokenA, 'GET', `/v1/instances/tasks?${query}`);
    assert.equal(res.statusCode, 400, res.body);
    assert.equal(envelope(res).error_code, 'KOOPHONE.API.1000');
    assert.ok(envelope(res).error_msg.startsWith(field), envelope(res).error_msg);
  });
}

test('job output: stdout, stderr, combined, invalid UTF-8 replaced', async () => {
  const { taskId, jobIds } = await submit('cat /x', ['a1']);
  const task = await h.store.getTask(tenantKeyA, taskId);
  const job = task?.jobs[0];
  assert.ok(job);
  await h.store.markRunning([job.jobKey], Date.now());
  const bad = Buffer.from([0x61, 0xff, 0x62]);
  await h.store.finishJobs([
    finished(job.jobKey, {
      state: 'failed', errorCode: 'KOOPHONE.JOB.1001', errorMsg: 'exit status 1', exitCode: 1, outputBytes: 5000, outputTruncated: true,
      output: { stdout: bad, stderr: Buffer.from('err'), combined: Buffer.concat([bad, Buffer.from('err')]) },
    }),
  ]);
  const res = await h.call(tokenA, 'GET', `/v1/instances/tasks/${taskId}/jobs/${jobIds[0]}/output`);
  assert.equal(res.statusCode, 200, res.body);
  assert.deepEqual(res.json().data, {
    stdout: 'a\ufffdb', stderr: 'err', combined: 'a\ufffdberr', exit_code: 1, output_bytes: 5000, output_truncated: true,
  });
});

test('job output: missing job -> "job_id ... does not exist"; missing task -> "task_id ..."', async () => {
  const { taskId, jobIds } = await submit();
  const missingJob = 'e'.repeat(32);
  const r1 = await h.call(tokenA, 'GET', `/v1/instances/tasks/${taskId}/jobs/${missingJob}/output`);
  assert.equal(r1.statusCode, 400);
  assert.equal(envelope(r1).error_code, 'KOOPHONE.API.1000');
  assert.equal(envelope(r1).error_msg, `job_id ${missingJob} does not exist`);
  const r2 = await h.call(tokenA, 'GET', `/v1/instances/tasks/${'d'.repeat(32)}/jobs/${jobIds[0]}/output`);
  assert.equal(r2.statusCode, 400);
  assert.match(envelope(r2).error_msg, /^task_id d+ does not exist$/);
  const r3 = await h.call(tokenA, 'GET', `/v1/instances/tasks/${taskId}/jobs/nothex/output`);
  assert.equal(envelope(r3).error_msg, 'job_id nothex does not exist');
});

test('cancel: queued jobs become cancelled 1004, finished ones untouched, running ones handed to the worker; twice is harmless', async () => {
  const { taskId } = await submit('ls', ['a1', 'a2', 'a3']);
  const task = await h.store.getTask(tenantKeyA, taskId);
  assert.ok(task);
  const [j1, j2] = task.jobs;
  assert.ok(j1 && j2);
  await h.store.markRunning([j1.jobKey, j2.jobKey], Date.now());
  await h.store.finishJobs([finished(j1.jobKey)]);
  const res = await h.call(tokenA, 'POST', `/v1/instances/tasks/${taskId}/cancel`);
  assert.equal(res.statusCode, 200, res.body);
  const jobs = res.json().data.jobs;
  assert.deepEqual(jobs.map((j: { state: string }) => j.state), ['succeeded', 'running', 'cancelled']);
  assert.equal(jobs[2].error_code, 'KOOPHONE.JOB.1004');
  assert.equal(jobs[2].status, -1);
  assert.ok(h.feed.cancelledRunning.includes(j2.jobKey), 'the store told the worker to stop the running job');
  const again = await h.call(tokenA, 'POST', `/v1/instances/tasks/${taskId}/cancel`);
  assert.equal(again.statusCode, 200);
  assert.deepEqual(again.json().data.jobs.map((j: { state: string }) => j.state), ['succeeded', 'running', 'cancelled']);
});

test('cancel of a missing task -> 400 "task_id ... does not exist"', async () => {
  for (const id of ['0'.repeat(32), 'xyz']) {
    const res = await h.call(tokenA, 'POST', `/v1/instances/tasks/${id}/cancel`);
    assert.equal(res.statusCode, 400);
    assert.equal(envelope(res).error_msg, `task_id ${id} does not exist`);
  }
});
