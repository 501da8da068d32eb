// SPEC §7 Server-Sent Events over a real socket: snapshot, live changes in order without
// duplicates, `done`, heartbeats, and a closed client costs nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore } from '../../src/store/index.js';
import { type ApiHarness, collectSse, openSse, startApiHarness, startLiveApi, tenantKeyOfToken, until } from '../support/index.js';

async function listen(app: FastifyInstance): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return (app.server.address() as AddressInfo).port;
}

function open(port: number, path: string, token: string): Promise<IncomingMessage> {
  return openSse(`http://127.0.0.1:${port}${path}`, { 'x-request-id': 'sse-1', 'x-auth-token': token });
}

const collect = collectSse;

/** The API on a real socket (no worker: the task stays queued), one tenant's task (`ls` on one
 * instance), and that task's event stream, open: its headers come after it subscribed. */
async function watchQueuedTask(opts: Parameters<typeof startApiHarness>[0] = {}): Promise<{
  h: ApiHarness;
  t: { tenantId: string; token: string };
  port: number;
  taskId: string;
  stream: IncomingMessage;
}> {
  const h = await startApiHarness(opts);
  try {
    const port = await listen(h.app);
    const t = await h.tenant('sse');
    await h.instance('e1', t.tenantId);
    const res = await h.call(t.token, 'POST', '/v1/instances/async-command', { command: 'ls', instance_ids: ['e1'] });
    const taskId = res.json().data.task_id as string;
    const stream = await open(port, `/v1/instances/tasks/${taskId}/events`, t.token);
    return { h, t, port, taskId, stream };
  } catch (err) {
    await h.close();
    throw err;
  }
}

const RANK: Record<string, number> = { queued: 0, running: 1, succeeded: 2, failed: 2, timed_out: 2, cancelled: 2 };

test('events: every job advances queued/running/final in order, no duplicates, then done', async () => {
  const live = await startLiveApi({ count: 2 });
  try {
    const port = await listen(live.app);
    const ids = live.ids;
    // Two commands per instance: the second waits behind the first, so its stream starts queued.
    await live.call(live.token, 'POST', '/v1/instances/async-command', { command: 'sleep 0.5', instance_ids: ids });
    const res = await live.call(live.token, 'POST', '/v1/instances/async-command', { command: 'echo hi', instance_ids: ids });
    const taskId = res.json().data.task_id as string;
    const stream = await open(port, `/v1/instances/tasks/${taskId}/events`, live.token);
    assert.equal(stream.statusCode, 200);
    assert.match(String(stream.headers['content-type']), /^text\/event-stream/);
    assert.equal(stream.headers['cache-control'], 'no-cache');
    assert.equal(stream.headers['x-accel-buffering'], 'no');
    assert.equal(stream.headers['x-request-id'], 'sse-1');
    const { events } = await collect(stream);
    const last = events.at(-1);
    assert.deepEqual(last, { event: 'done', data: JSON.stringify({ task_id: taskId }) });
    const jobEvents = events.slice(0, -1);
    assert.ok(jobEvents.every((e) => e.event === 'job'));
    const seen = new Map<string, string[]>();
    for (const e of jobEvents) {
      const job = JSON.parse(e.data) as { job_id: string; state: string; status: number; execute_msg: string };
      const states = seen.get(job.job_id) ?? [];
      const prev = states.at(-1);
      if (prev !== undefined) assert.ok(RANK[job.state]! > RANK[prev]!, `${prev} then ${job.state}`);
      states.push(job.state);
      seen.set(job.job_id, states);
      if (job.state === 'succeeded') assert.equal(job.execute_msg, 'hi\n');
    }
    assert.equal(seen.size, 2);
    for (const states of seen.values()) {
      assert.equal(states[0], 'queued', 'the snapshot shows the job waiting behind the sleep');
      assert.equal(states.at(-1), 'succeeded');
    }
    // A finished task: the snapshot and done at once.
    const again = await collect(await open(port, `/v1/instances/tasks/${taskId}/events`, live.token));
    assert.deepEqual(again.events.map((e) => e.event), ['job', 'job', 'done']);
  } finally {
    await live.close();
  }
});

test('events: a task cancelled while watched ends the stream with cancelled jobs', async () => {
  const { h, t, taskId, stream } = await watchQueuedTask();
  try {
    const done = collect(stream);
    await h.call(t.token, 'POST', `/v1/instances/tasks/${taskId}/cancel`);
    const { events } = await done;
    assert.deepEqual(events.map((e) => [e.event, e.event === 'job' ? JSON.parse(e.data).state : '']), [
      ['job', 'queued'], ['job', 'cancelled'], ['done', ''],
    ]);
  } finally {
    await h.close();
  }
});

test('events: heartbeats; a closed client unsubscribes at once; missing task is 400 before streaming', async () => {
  const { h, t, port, taskId, stream } = await watchQueuedTask({ sseHeartbeatMs: 50 });
  try {
    const taskKey = (await h.store.getTask(await tenantKeyOfToken(h.store, t.token), taskId))!.taskKey;
    assert.ok(h.store.changes.watching(taskKey), 'the open stream watches its task');
    const { events, comments } = await collect(stream, (_e, c) => c >= 2);
    assert.equal(events.length, 1, 'one snapshot event for the queued job');
    assert.ok(comments >= 2);
    await until('the watch removed after the client left', () => !h.store.changes.watching(taskKey), 10_000);
    const missing = await open(port, `/v1/instances/tasks/${'a'.repeat(32)}/events`, t.token);
    assert.equal(missing.statusCode, 400);
    assert.match(String(missing.headers['content-type']), /json/);
    missing.resume();
  } finally {
    await h.close();
  }
});

test('events: a change another process committed (no notice here) is picked up at the next heartbeat', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'adbfleet-sse-'));
  const path = join(dir, 'db.sqlite');
  const { h, t, taskId, stream } = await watchQueuedTask({
    store: createSqliteStore({ path, synchronous: 'NORMAL' }),
    closeStore: true,
    sseHeartbeatMs: 100,
  });
  // A second store on the same file: its commits do not reach this process's change feed.
  const other = createSqliteStore({ path, synchronous: 'NORMAL' });
  try {
    await other.open();
    const done = collect(stream);
    const task = await other.getTask(await tenantKeyOfToken(other, t.token), taskId);
    const job = task?.jobs[0];
    assert.ok(job);
    await other.markRunning([job.jobKey], Date.now());
    await other.finishJobs([{
      jobKey: job.jobKey, state: 'succeeded', errorCode: '0', errorMsg: 'ok', exitCode: 0, executeMsg: 'x\n',
      outputBytes: 2, outputTruncated: false, finishedAt: Date.now(), output: null,
    }]);
    const { events } = await done;
    assert.equal(events.at(-1)?.event, 'done');
    const states = events.filter((e) => e.event === 'job').map((e) => JSON.parse(e.data).state as string);
    assert.equal(states[0], 'queued');
    assert.equal(states.at(-1), 'succeeded');
  } finally {
    await other.close();
    await h.close();
    await rm(dir, { recursive: true, force: true });
  }
});
