// SPEC §3 idempotency and §7 extensions end to end: real HTTP, the worker, SQLite and the
// simulator's journal as the witness of what ran.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createRetentionPurger } from '../../src/dispatch/index.js';
import { collectSse, type JobJson, openSse, type ServiceHarness, type SseEvent, startServiceHarness, until } from '../support/index.js';

let h: ServiceHarness;

before(async () => {
  h = await startServiceHarness({ instances: 100 });
});
after(async () => {
  await h?.close();
});

test('20 concurrent submissions with one x-request-id: one task, one run per instance', async () => {
  const ids = h.ids.slice(0, 10);
  const body = { command: 'echo once', instance_ids: ids };
  const answers = await Promise.all(
    Array.from({ length: 20 }, () => h.call('POST', '/v1/instances/async-command', body, { 'x-request-id': 'retry-storm' })),
  );
  for (const a of answers) assert.equal(a.status, 200, JSON.stringify(a.body));
  const taskIds = new Set(answers.map((a) => a.body.data.task_id as string));
  assert.equal(taskIds.size, 1, 'every answer names the same task');
  for (const a of answers) assert.deepEqual(a.body, answers[0]!.body);
  const [taskId] = taskIds;
  await h.waitTask(taskId!);
  for (const i of ids.keys()) {
    assert.equal(h.fleet.instances[i]!.journal().filter((e) => e.command === 'echo once').length, 1, `instance ${i} ran it once`);
  }
  const list = await h.call('GET', '/v1/instances/tasks?limit=100');
  assert.equal(list.body.data.tasks.filter((t: { command: string }) => t.command === 'echo once').length, 1);
});

/** Reads a Server-Sent Events stream to its end. */
async function readEvents(path: string): Promise<SseEvent[]> {
  const res = await openSse(`${h.url}${path}`, { 'x-auth-token': h.token, 'x-request-id': randomUUID() });
  assert.equal(res.statusCode, 200);
  return (await collectSse(res)).events;
}

test('events: a 100-job task streams queued, running, succeeded for every job, in order, then done', async () => {
  // A first command holds every instance, so the watched task's jobs are all seen queued.
  await h.call('POST', '/v1/instances/async-command', { command: 'sleep 0.5', instance_ids: h.ids });
  const r = await h.call('POST', '/v1/instances/async-command', { command: 'getprop ro.serialno', instance_ids: h.ids });
  const taskId: string = r.body.data.task_id;
  const events = await readEvents(`/v1/instances/tasks/${taskId}/events`);
  assert.deepEqual(events.at(-1), { event: 'done', data: JSON.stringify({ task_id: taskId }) });
  const states = new Map<string, string[]>();
  for (const e of events.slice(0, -1)) {
    assert.equal(e.event, 'job');
    const job = JSON.parse(e.data) as JobJson;
    states.set(job.instance_id, [...(states.get(job.instance_id) ?? []), job.state]);
  }
  assert.equal(states.size, 100);
  for (const [id, seen] of states) assert.deepEqual(seen, ['queued', 'running', 'succeeded'], id);

  // Connecting after the end: the final state of each job, then done.
  const late = await readEvents(`/v1/instances/tasks/${taskId}/events`);
  assert.equal(late.length, 101);
  assert.ok(late.slice(0, -1).every((e) => (JSON.parse(e.data) as JobJson).state === 'succeeded'));
  assert.equal(late.at(-1)?.event, 'done');
});

test('output endpoint: a 2 MB output is stored up to 1 MiB, with the full count', async () => {
  const r = await h.call('POST', '/v1/instances/async-command', { command: 'seq 1 320000', instance_ids: [h.ids[40]!] });
  const [job] = await h.waitTask(r.body.data.task_id);
  const out = await h.call('GET', `/v1/instances/tasks/${r.body.data.task_id}/jobs/${job!.job_id}/output`);
  assert.equal(out.status, 200);
  const expected = Array.from({ length: 320000 }, (_, i) => `${i + 1}\n`).join('');
  assert.equal(out.body.data.output_bytes, expected.length);
  assert.equal(out.body.data.output_truncated, true);
  assert.equal(out.body.data.exit_code, 0);
  assert.equal(out.body.data.combined, expected.slice(0, 1024 * 1024));
  assert.equal(out.body.data.stdout, out.body.data.combined);
  assert.equal(out.body.data.stderr, '');
});

test('cancel: the queued jobs at once, the running sleep ended on the device, finished ones untouched', async () => {
  const [done, busy, waiting] = [h.ids[50]!, h.ids[51]!, h.ids[52]!];
  const blocker = await h.call('POST', '/v1/instances/async-command', { command: 'sleep 30', instance_ids: [waiting] });
  const first = await h.call('POST', '/v1/instances/async-command', { command: 'echo fast', instance_ids: [done] });
  await h.waitTask(first.body.data.task_id);
  const r = await h.call('POST', '/v1/instances/async-command', { command: 'sleep 40', instance_ids: [busy, waiting] });
  const taskId: string = r.body.data.task_id;
  const sim = h.fleet.instances[51]!;
  await until('sleep 40 to start', () => sim.journal().some((e) => e.command === 'sleep 40'), 10_000, 25);
  const c = await h.call('POST', `/v1/instances/tasks/${taskId}/cancel`);
  assert.equal(c.status, 200, JSON.stringify(c.body));
  assert.equal(c.body.data.jobs[1].state, 'cancelled', 'the queued job is cancelled in the answer');
  const jobs = await h.waitTask(taskId);
  assert.deepEqual(jobs.map((j) => [j.state, j.error_code]), [['cancelled', 'KOOPHONE.JOB.1004'], ['cancelled', 'KOOPHONE.JOB.1004']]);
  assert.equal(jobs[1]?.started_at, null, 'the queued one never ran');
  assert.equal(h.fleet.instances[52]!.journal().filter((e) => e.command === 'sleep 40').length, 0);
  assert.equal(sim.journal().find((e) => e.command === 'sleep 40')?.end, 'closed', 'the device hung up the running shell');
  const again = await h.call('POST', `/v1/instances/tasks/${taskId}/cancel`);
  assert.equal(again.status, 200);
  const untouched = await h.call('POST', `/v1/instances/tasks/${first.body.data.task_id}/cancel`);
  assert.equal(untouched.body.data.jobs[0].state, 'succeeded');
  await h.call('POST', `/v1/instances/tasks/${blocker.body.data.task_id}/cancel`);
});

test('retention purges old finished tasks while new ones are submitted and run', async () => {
  const old: string[] = [];
  for (let i = 0; i < 30; i++) {
    const r = await h.call('POST', '/v1/instances/async-command', { command: `echo old-${i}`, instance_ids: h.ids.slice(60, 70) });
    old.push(r.body.data.task_id);
  }
  for (const t of old) await h.waitTask(t);
  const cutoff = Date.now() + 1;
  await new Promise((r) => setTimeout(r, 5));
  const purger = createRetentionPurger({ store: h.service.store, config: { retentionMs: Date.now() - cutoff }, batchSize: 7 });
  const [purged, fresh] = await Promise.all([
    purger.runOnce(),
    Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        const r = await h.call('POST', '/v1/instances/async-command', { command: `echo new-${i}`, instance_ids: h.ids.slice(70, 80) });
        assert.equal(r.status, 200);
        return r.body.data.task_id as string;
      }),
    ),
  ]);
  assert.ok(purged.tasks >= old.length, `purged ${purged.tasks}`);
  for (const t of old) assert.equal((await h.call('GET', `/v1/instances/tasks/${t}`)).status, 400, `${t} is gone`);
  for (const t of fresh) {
    const jobs = await h.waitTask(t);
    assert.ok(jobs.every((j) => j.state === 'succeeded'));
  }
});

test("an instance given to another tenant never runs the first tenant's queued jobs", async () => {
  const other = await h.admin('POST', '/tenants', { name: 'other' });
  const id = h.ids[90]!;
  const sim = h.fleet.instances[90]!;
  await h.call('POST', '/v1/instances/async-command', { command: 'sleep 1', instance_ids: [id] });
  const queued = await h.call('POST', '/v1/instances/async-command', { command: 'echo was-here', instance_ids: [id] });
  const moved = await h.admin('PUT', `/instances/${id}/tenant`, { tenant_id: other.body.tenant_id });
  assert.equal(moved.status, 200, JSON.stringify(moved.body));
  const [job] = await h.waitTask(queued.body.data.task_id);
  assert.deepEqual([job?.state, job?.error_code], ['cancelled', 'KOOPHONE.JOB.1004']);
  await new Promise((r) => setTimeout(r, 1_500)); // past the sleep: the instance is free again
  assert.equal(sim.journal().filter((e) => e.command === 'echo was-here').length, 0);
});
