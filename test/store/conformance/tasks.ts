// Conformance: createTask (atomic, idempotent, group-committed), getTask, listTasks, outputs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StoreError, type CreatedTask } from '../../../src/store/index.js';
import { newTask, succeeded, tenantWithInstances, withStore, type MakeStore } from './fixtures.js';

export function taskTests(makeStore: MakeStore): void {
  test('createTask: one job per instance in request order; getTask shows them queued', () =>
    withStore(makeStore, async (store) => {
      const f = await tenantWithInstances(store, 5);
      const order = [...f.instanceIds].reverse();
      const t = await store.createTask(newTask(f, { instanceIds: order, command: 'ls -l /system', timeoutMs: 5000 }));
      assert.match(t.taskId, /^[0-9a-f]{32}$/);
      assert.equal(t.replayed, false);
      assert.equal(t.command, 'ls -l /system');
      assert.equal(t.timeoutMs, 5000);
      assert.deepEqual(t.jobs.map((j) => j.instanceId), order);
      assert.equal(new Set(t.jobs.map((j) => j.jobId)).size, 5);
      for (const j of t.jobs) assert.match(j.jobId, /^[0-9a-f]{32}$/);

      const v = await store.getTask(f.tenantKey, t.taskId);
      assert.ok(v);
      assert.equal(v.taskKey, t.taskKey);
      assert.equal(v.kind, 'async');
      assert.equal(v.createdAt, t.createdAt);
      assert.deepEqual(v.jobs.map((j) => [j.jobKey, j.jobId, j.instanceId]), t.jobs.map((j) => [j.jobKey, j.jobId, j.instanceId]));
      for (const j of v.jobs) {
        assert.equal(j.state, 'queued');
        assert.equal(j.errorCode, '');
        assert.equal(j.errorMsg, '');
        assert.equal(j.executeMsg, '');
        assert.equal(j.exitCode, null);
        assert.equal(j.startedAt, null);
        assert.equal(j.finishedAt, null);
        assert.equal(j.outputBytes, 0);
        assert.equal(j.outputTruncated, false);
      }
    }));

  test('getTask / getJobOutput: another tenant\'s task reads as missing', () =>
    withStore(makeStore, async (store) => {
      const a = await tenantWithInstances(store, 1, 'a');
      const b = await tenantWithInstances(store, 1, 'b');
      const t = await store.createTask(newTask(a));
      assert.equal(await store.getTask(b.tenantKey, t.taskId), null);
      assert.equal(await store.getTask(a.tenantKey, '0'.repeat(32)), null);
      const jobId = t.jobs[0]?.jobId as string;
      assert.ok(await store.getJobOutput(a.tenantKey, t.taskId, jobId));
      assert.equal(await store.getJobOutput(b.tenantKey, t.taskId, jobId), null);
      assert.equal(await store.getJobOutput(a.tenantKey, t.taskId, '0'.repeat(32)), null);
    }));

  test('createTask is atomic: an instance not owned fails the request and stores nothing', () =>
    withStore(makeStore, async (store) => {
      const a = await tenantWithInstances(store, 3, 'a');
      const b = await tenantWithInstances(store, 1, 'b');
      const foreign = b.instanceIds[0] as string;
      await assert.rejects(
        store.createTask(newTask(a, { instanceIds: [...a.instanceIds, foreign] })),
        (e: unknown) => e instanceof StoreError && e.code === 'INSTANCE_NOT_OWNED' && e.instanceIds.join() === foreign,
      );
      assert.deepEqual((await store.listTasks(a.tenantKey, 10, null)).tasks, []);
      assert.deepEqual(await store.queuedJobs(0, 1000), []);
    }));

  test('createTask: a failing request in a shared commit does not fail the others', () =>
    withStore(makeStore, async (store) => {
      const a = await tenantWithInstances(store, 2);
      const outcomes = await Promise.allSettled([
        store.createTask(newTask(a)),
        store.createTask(newTask(a, { instanceIds: ['ghost'] })),
        store.createTask(newTask(a)),
      ]);
      assert.deepEqual(outcomes.map((o) => o.status), ['fulfilled', 'rejected', 'fulfilled']);
      assert.equal((await store.listTasks(a.tenantKey, 10, null)).tasks.length, 2);
      assert.equal((await store.queuedJobs(0, 1000)).length, 4);
    }));

  test('idempotency: same request id and hash replays, another hash conflicts', () =>
    withStore(makeStore, async (store) => {
      const a = await tenantWithInstances(store, 3, 'a');
      const b = await tenantWithInstances(store, 1, 'b');
      const first = await store.createTask(newTask(a, { requestId: 'req-1', requestHash: 'h1' }));
      const again = await store.createTask(newTask(a, { requestId: 'req-1', requestHash: 'h1' }));
      assert.equal(again.replayed, true);
      assert.equal(again.taskId, first.taskId);
      assert.equal(again.taskKey, first.taskKey);
      assert.equal(again.createdAt, first.createdAt);
      const ids = (t: CreatedTask) => t.jobs.map(({ jobKey, jobId, instanceId }) => ({ jobKey, jobId, instanceId }));
      assert.deepEqual(ids(again), ids(first));
      await assert.rejects(
        store.createTask(newTask(a, { requestId: 'req-1', requestHash: 'h2' })),
        (e: unknown) => e instanceof StoreError && e.code === 'IDEMPOTENCY_CONFLICT' && e.message.includes('req-1'),
      );
      // the same request id from another tenant is unrelated
      const other = await store.createTask(newTask(b, { requestId: 'req-1', requestHash: 'h2' }));
      assert.equal(other.replayed, false);
      assert.notEqual(other.taskId, first.taskId);
      // without a request id, every call is a new task
      const x = await store.createTask(newTask(a));
      const y = await store.createTask(newTask(a));
      assert.notEqual(x.taskId, y.taskId);
      assert.equal((await store.listTasks(a.tenantKey, 10, null)).tasks.length, 3);
    }));

  test('idempotency: 20 concurrent createTask with one request id make exactly one task', () =>
    withStore(makeStore, async (store) => {
      const a = await tenantWithInstances(store, 4);
      const tasks = await Promise.all(
        Array.from({ length: 20 }, () => store.createTask(newTask(a, { requestId: 'same', requestHash: 'h' }))),
      );
      assert.equal(new Set(tasks.map((t) => t.taskId)).size, 1);
      assert.equal(tasks.filter((t) => !t.replayed).length, 1);
      assert.equal((await store.listTasks(a.tenantKey, 100, null)).tasks.length, 1);
      assert.equal((await store.queuedJobs(0, 1000)).length, 4);
    }));

  test('listTasks: newest first, cursor paging, counts per state', () =>
    withStore(makeStore, async (store) => {
      const a = await tenantWithInstances(store, 3, 'a');
      const b = await tenantWithInstances(store, 1, 'b');
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await store.createTask(newTask(a, { command: `echo ${i}` }))).taskId);
      await store.createTask(newTask(b));
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page: Awaited<ReturnType<typeof store.listTasks>> = await store.listTasks(a.tenantKey, 2, cursor);
        seen.push(...page.tasks.map((t) => t.taskId));
        cursor = page.nextCursor;
        pages++;
      } while (cursor !== null && pages < 10);
      assert.equal(pages, 3);
      assert.deepEqual(seen, [...ids].reverse());

      const newest = (await store.listTasks(a.tenantKey, 1, null)).tasks[0];
      assert.ok(newest);
      assert.equal(newest.command, 'echo 4');
      assert.deepEqual(newest.counts, { queued: 3, running: 0, succeeded: 0, failed: 0, timed_out: 0, cancelled: 0 });
      const view = await store.getTask(a.tenantKey, newest.taskId);
      assert.ok(view);
      const [j0, j1] = view.jobs.map((j) => j.jobKey) as [number, number];
      await store.markRunning([j0, j1], Date.now());
      await store.finishJobs([succeeded(j0, 'x')]);
      const after = (await store.listTasks(a.tenantKey, 1, null)).tasks[0];
      assert.deepEqual(after?.counts, { queued: 1, running: 1, succeeded: 1, failed: 0, timed_out: 0, cancelled: 0 });

      await assert.rejects(store.listTasks(a.tenantKey, 2, 'not-a-cursor!'), (e: unknown) => e instanceof StoreError && e.code === 'INVALID_CURSOR');
      assert.deepEqual(await store.listTasks(a.tenantKey, 2, null).then((p) => p.tasks.length), 2);
    }));

  test('getJobOutput: stored output of a finished job; empty when none was written', () =>
    withStore(makeStore, async (store) => {
      const a = await tenantWithInstances(store, 2);
      const t = await store.createTask(newTask(a));
      const [k0, k1] = t.jobs.map((j) => j.jobKey) as [number, number];
      await store.markRunning([k0, k1], Date.now());
      const stdout = Buffer.from([0x68, 0x69, 0xff, 0x0a]);
      const stderr = Buffer.from('oops\n');
      const combined = Buffer.concat([stdout, stderr]);
      await store.finishJobs([
        {
          ...succeeded(k0, 'hi'),
          exitCode: 0,
          outputBytes: combined.length,
          outputTruncated: true,
          output: { stdout, stderr, combined },
        },
        { ...succeeded(k1, ''), outputBytes: 0, output: { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), combined: Buffer.alloc(0) } },
      ]);
      const o0 = await store.getJobOutput(a.tenantKey, t.taskId, t.jobs[0]?.jobId as string);
      assert.ok(o0);
      assert.deepEqual(o0.stdout, stdout);
      assert.deepEqual(o0.stderr, stderr);
      assert.deepEqual(o0.combined, combined);
      assert.equal(o0.exitCode, 0);
      assert.equal(o0.outputBytes, combined.length);
      assert.equal(o0.outputTruncated, true);
      const o1 = await store.getJobOutput(a.tenantKey, t.taskId, t.jobs[1]?.jobId as string);
      assert.ok(o1);
      assert.equal(o1.stdout.length + o1.stderr.length + o1.combined.length, 0);
      assert.equal(o1.outputBytes, 0);
    }));

  test('advancedJobs: only the jobs past what the watcher saw, as getTask shows them; null once purged', () =>
    withStore(makeStore, async (store) => {
      const f = await tenantWithInstances(store, 4);
      const t = await store.createTask(newTask(f));
      const [k0, k1, k2, k3] = t.jobs.map((j) => j.jobKey) as [number, number, number, number];
      assert.deepEqual(await store.advancedJobs(t.taskKey, k0, '0000'), []);
      await store.markRunning([k1, k2], 1_000);
      await store.finishJobs([succeeded(k2, 'x\n')]);
      const view = (await store.getTask(f.tenantKey, t.taskId))!;
      // Seen: all queued -> jobs 1 (running) and 2 (succeeded), exactly as getTask has them.
      assert.deepEqual(await store.advancedJobs(t.taskKey, k0, '0000'), [view.jobs[1], view.jobs[2]]);
      // Seen: job 1 running, job 2 final -> nothing moved; a shorter string reads fewer jobs.
      assert.deepEqual(await store.advancedJobs(t.taskKey, k1, '12'), []);
      assert.deepEqual(await store.advancedJobs(t.taskKey, k1, '0'), [view.jobs[1]]);
      await store.markRunning([k0, k3], 2_000);
      await store.finishJobs([succeeded(k1, 'y\n'), succeeded(k0, 'z\n'), succeeded(k3, 'w\n')]);
      const done = (await store.getTask(f.tenantKey, t.taskId))!;
      assert.deepEqual(await store.advancedJobs(t.taskKey, k0, '0120'), [done.jobs[0], done.jobs[1], done.jobs[3]]);
      assert.deepEqual(await store.advancedJobs(t.taskKey, k0, ''), []);
      assert.equal(await store.purgeTasks(Date.now() + 60_000, 10), 1);
      assert.equal(await store.advancedJobs(t.taskKey, k0, '0000'), null);
    }));
}
