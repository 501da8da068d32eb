// SPEC §7 event streams shared per task, over a real socket and a real store: every stream of a
// task gets the same events from one watch, a late stream starts from the task's current state,
// streams come and go without disturbing each other, and the watch ends with the last of them.
// The jobs are moved by hand through the store (no worker), so each step is known.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore, type Store, type TaskView } from '../../src/store/index.js';
import type { TaskService } from '../../src/tasks/index.js';
import { type ApiHarness, type SseEvent, followSse, openSse, startApiHarness, tenantKeyOfToken, until } from '../support/index.js';

interface Watched {
  h: ApiHarness;
  task: TaskView;
  /** the task's tenant's token */
  token: string;
  /** opens one more stream of the task */
  open(): Promise<IncomingMessage>;
  /** how many watches the task service was asked for */
  watches(): number;
}

/** The API on a real socket, one tenant's two-job task (both queued: no worker runs them). */
async function twoJobTask(opts: Parameters<typeof startApiHarness>[0] = {}): Promise<Watched> {
  const h = await startApiHarness(opts);
  try {
    await h.app.listen({ port: 0, host: '127.0.0.1' });
    const port = (h.app.server.address() as AddressInfo).port;
    const t = await h.tenant('shared');
    await h.instance('p1', t.tenantId);
    await h.instance('p2', t.tenantId);
    const res = await h.call(t.token, 'POST', '/v1/instances/async-command', { command: 'ls', instance_ids: ['p1', 'p2'] });
    const taskId = res.json().data.task_id as string;
    const task = (await h.store.getTask(await tenantKeyOfToken(h.store, t.token), taskId))!;
    let watches = 0;
    const watch = h.tasks.watch.bind(h.tasks);
    h.tasks.watch = ((...args: Parameters<TaskService['watch']>) => {
      watches += 1;
      return watch(...args);
    }) as TaskService['watch'];
    const open = (): Promise<IncomingMessage> =>
      openSse(`http://127.0.0.1:${port}/v1/instances/tasks/${taskId}/events`, { 'x-request-id': 'sse-shared', 'x-auth-token': t.token });
    return { h, task, token: t.token, open, watches: () => watches };
  } catch (err) {
    await h.close();
    throw err;
  }
}

/** The store's writes are each their own turn of the event loop (as the worker's are): the
 * next write waits for the next turn. */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function run(store: Store, jobKey: number): Promise<void> {
  assert.deepEqual(await store.markRunning([jobKey], Date.now()), [jobKey]);
  await nextTurn();
}

async function succeed(store: Store, jobKey: number): Promise<void> {
  await store.finishJobs([{
    jobKey, state: 'succeeded', errorCode: '0', errorMsg: 'ok', exitCode: 0, executeMsg: 'x\n',
    outputBytes: 2, outputTruncated: false, finishedAt: Date.now(), output: null,
  }]);
  await nextTurn();
}

/** [job id, state] of each event ('done' for the end). */
function steps(events: readonly SseEvent[]): string[][] {
  return events.map((e) => {
    if (e.event !== 'job') return [e.event];
    const job = JSON.parse(e.data) as { job_id: string; state: string };
    return [job.job_id, job.state];
  });
}

test('events: two streams of one task share one watch and get identical events', async () => {
  const w = await twoJobTask();
  const [j1, j2] = w.task.jobs;
  try {
    const a = followSse(await w.open());
    const b = followSse(await w.open());
    assert.equal(w.watches(), 1, 'the second stream joins the first one\'s watch');
    await until('both snapshots', () => a.events.length === 2 && b.events.length === 2);
    await run(w.h.store, j1!.jobKey);
    await succeed(w.h.store, j1!.jobKey);
    await run(w.h.store, j2!.jobKey);
    await succeed(w.h.store, j2!.jobKey);
    await Promise.all([a.ended, b.ended]);
    assert.deepEqual(steps(a.events), [
      [j1!.jobId, 'queued'], [j2!.jobId, 'queued'],
      [j1!.jobId, 'running'], [j1!.jobId, 'succeeded'],
      [j2!.jobId, 'running'], [j2!.jobId, 'succeeded'],
      ['done'],
    ]);
    assert.deepEqual(b.events, a.events, 'the same events, byte for byte');
    assert.equal(w.h.store.changes.watching(w.task.taskKey), false, 'the watch ends with the task');
  } finally {
    await w.h.close();
  }
});

test('events: a stream that joins mid-task starts from the current state, then only advances', async () => {
  const w = await twoJobTask();
  const [j1, j2] = w.task.jobs;
  try {
    const a = followSse(await w.open());
    await until('the first snapshot', () => a.events.length === 2);
    await run(w.h.store, j1!.jobKey);
    await until('the first stream sees job 1 running', () => a.events.length === 3);
    const b = followSse(await w.open());
    await until('the late snapshot', () => b.events.length === 2);
    // The snapshot: every job once, as it is now, in the task's job order.
    assert.deepEqual(b.events, [a.events[2], a.events[1]]);
    await succeed(w.h.store, j1!.jobKey);
    await run(w.h.store, j2!.jobKey);
    await succeed(w.h.store, j2!.jobKey);
    await Promise.all([a.ended, b.ended]);
    assert.deepEqual(b.events.slice(2), a.events.slice(3), 'then exactly what the first stream got after it joined');
    assert.deepEqual(steps(b.events), [
      [j1!.jobId, 'running'], [j2!.jobId, 'queued'],
      [j1!.jobId, 'succeeded'], [j2!.jobId, 'running'], [j2!.jobId, 'succeeded'],
      ['done'],
    ]);
    assert.equal(w.watches(), 1);
  } finally {
    await w.h.close();
  }
});

test('events: streams leaving do not disturb the one that stays', async () => {
  const w = await twoJobTask({ sseHeartbeatMs: 50 });
  const [j1, j2] = w.task.jobs;
  try {
    const first = await w.open();
    const b = followSse(await w.open());
    const third = await w.open();
    const c = followSse(third);
    await until('the snapshots', () => b.events.length === 2 && c.events.length === 2);
    first.destroy();
    await until('heartbeats after the first stream left', () => b.comments() >= 2);
    assert.ok(w.h.store.changes.watching(w.task.taskKey), 'two streams still follow the task');
    await run(w.h.store, j1!.jobKey);
    await until('job 1 running on both', () => b.events.length === 3 && c.events.length === 3);
    third.destroy(); // mid-task
    await succeed(w.h.store, j1!.jobKey);
    await run(w.h.store, j2!.jobKey);
    await succeed(w.h.store, j2!.jobKey);
    await b.ended;
    assert.deepEqual(steps(b.events), [
      [j1!.jobId, 'queued'], [j2!.jobId, 'queued'],
      [j1!.jobId, 'running'], [j1!.jobId, 'succeeded'],
      [j2!.jobId, 'running'], [j2!.jobId, 'succeeded'],
      ['done'],
    ]);
    assert.equal(w.watches(), 1, 'one watch served all three');
  } finally {
    await w.h.close();
  }
});

test('events: the last stream leaving releases the watch; the next stream watches afresh', async () => {
  const w = await twoJobTask({ sseHeartbeatMs: 50 });
  const [j1] = w.task.jobs;
  try {
    const a = await w.open();
    const b = await w.open();
    const followB = followSse(b);
    await until('the snapshot', () => followB.events.length === 2);
    a.destroy();
    await until('heartbeats after one stream left', () => followB.comments() >= 2);
    assert.ok(w.h.store.changes.watching(w.task.taskKey), 'one stream still follows the task');
    b.destroy();
    await until('the watch released after the last stream left', () => !w.h.store.changes.watching(w.task.taskKey), 10_000);
    await run(w.h.store, j1!.jobKey);
    const c = followSse(await w.open());
    await until('the new snapshot', () => c.events.length === 2);
    assert.equal(w.watches(), 2, 'a new watch for the new stream');
    assert.deepEqual(steps(c.events).map((s) => s[1]), ['running', 'queued']);
    assert.ok(w.h.store.changes.watching(w.task.taskKey));
  } finally {
    await w.h.close();
  }
});

test('events: a task purged while watched ends every stream', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'adbfleet-sse-'));
  const path = join(dir, 'db.sqlite');
  const w = await twoJobTask({ store: createSqliteStore({ path, synchronous: 'NORMAL' }), closeStore: true, sseHeartbeatMs: 100 });
  // Another process finishes and purges the task: this one learns of it at a heartbeat's re-read.
  const other = createSqliteStore({ path, synchronous: 'NORMAL' });
  try {
    await other.open();
    const a = followSse(await w.open());
    const b = followSse(await w.open());
    await until('the snapshots', () => a.events.length === 2 && b.events.length === 2);
    for (const job of w.task.jobs) {
      await run(other, job.jobKey);
      await succeed(other, job.jobKey);
    }
    assert.equal(await other.purgeTasks(Date.now() + 1, 10), 1);
    await Promise.all([a.ended, b.ended]);
    for (const s of [a, b]) assert.deepEqual(steps(s.events).map((e) => e[1]), ['queued', 'queued'], 'the snapshot, then the end');
    assert.equal(w.h.store.changes.watching(w.task.taskKey), false);
  } finally {
    await other.close();
    await w.h.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('events: a job first seen already final gets the running event it skipped, as it read while running', async () => {
  // Another process moves the job: this one's change feed does not hear of it, and the heartbeat is
  // too far off to re-read, so nothing is read until the second stream joins (which re-reads).
  // That read finds the job queued -> succeeded: the jump a PostgreSQL re-read or another node's
  // commits can show. (The forcing needs two stores on one file: SQLite, whatever the test store.)
  const dir = await mkdtemp(join(tmpdir(), 'adbfleet-sse-'));
  const path = join(dir, 'db.sqlite');
  const w = await twoJobTask({ store: createSqliteStore({ path, synchronous: 'NORMAL' }), closeStore: true, sseHeartbeatMs: 600_000 });
  const other = createSqliteStore({ path, synchronous: 'NORMAL' });
  const [j1, j2] = w.task.jobs;
  try {
    await other.open();
    const a = followSse(await w.open());
    await until('the snapshot', () => a.events.length === 2);
    await run(other, j1!.jobKey);
    const whileRunning = await w.h.call(w.token, 'GET', `/v1/instances/tasks/${w.task.taskId}`);
    const runningJson = (whileRunning.json().data.jobs as { job_id: string }[]).find((j) => j.job_id === j1!.jobId);
    await succeed(other, j1!.jobKey);
    assert.equal(a.events.length, 2, 'nothing read yet');
    const b = followSse(await w.open());
    await until('the re-read reaches the first stream', () => a.events.length === 4);
    assert.deepEqual(steps(a.events), [
      [j1!.jobId, 'queued'], [j2!.jobId, 'queued'],
      [j1!.jobId, 'running'], [j1!.jobId, 'succeeded'],
    ]);
    assert.deepEqual(JSON.parse(a.events[2]!.data), runningJson, 'the running event is the job as GET task showed it while running');
    // A job that never ran (cancelled while queued) gets no running event.
    assert.ok(await other.cancelTask(await tenantKeyOfToken(other, w.token), w.task.taskId, Date.now()));
    const c = followSse(await w.open());
    await Promise.all([a.ended, b.ended, c.ended]);
    assert.deepEqual(steps(a.events).slice(4), [[j2!.jobId, 'cancelled'], ['done']]);
    assert.deepEqual(b.events, a.events, 'the joining stream got the snapshot before the re-read, then the same events');
  } finally {
    await other.close();
    await w.h.close();
    await rm(dir, { recursive: true, force: true });
  }
});
