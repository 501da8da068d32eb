// Conformance: the queue (FIFO, guarded transitions, cancel, interrupt) and retention.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JobCode } from '../../../src/core/job-state.js';
import { StoreError, type CreatedTask, type Store } from '../../../src/store/index.js';
import { newTask, result, succeeded, tenantWithInstances, withStore, type MakeStore } from './fixtures.js';

function create(store: Store, ...args: Parameters<typeof newTask>): Promise<CreatedTask> {
  return store.createTask(newTask(...args));
}

async function jobState(store: Store, tenantKey: number, taskId: string, i: number) {
  const v = await store.getTask(tenantKey, taskId);
  const j = v?.jobs[i];
  assert.ok(j);
  return j;
}

export function queueTests(makeStore: MakeStore): void {
  test('queuedJobs: submission order across tasks (per-instance FIFO), after a key, limited', () =>
    withStore(makeStore, async (store) => {
      const a = await tenantWithInstances(store, 3, 'a');
      const b = await tenantWithInstances(store, 2, 'b');
      const t1 = await create(store, a, { command: 'echo 1', timeoutMs: 1000 });
      const t2 = await create(store, b, { command: 'echo 2' });
      const t3 = await create(store, a, { command: 'echo 3', instanceIds: [a.instanceIds[0] as string] });
      const expected = [...t1.jobs, ...t2.jobs, ...t3.jobs].map((j) => j.jobId);
      const all = await store.queuedJobs(0, 100);
      assert.deepEqual(all.map((j) => j.jobId), expected);
      const keys = all.map((j) => j.jobKey);
      assert.deepEqual(keys, [...keys].sort((x, y) => x - y));
      const first = all[0];
      assert.ok(first);
      assert.equal(first.taskId, t1.taskId);
      assert.equal(first.taskKey, t1.taskKey);
      assert.equal(first.tenantKey, a.tenantKey);
      assert.equal(first.command, 'echo 1');
      assert.equal(first.timeoutMs, 1000);
      assert.equal(first.instanceId, t1.jobs[0]?.instanceId);
      const [target] = await store.ownedInstances(a.tenantKey, [first.instanceId]);
      assert.equal(first.instanceKey, target?.instanceKey);
      assert.equal(first.adbAddress, target?.adbAddress);
      assert.equal(first.createdAt, t1.createdAt);

      const page = await store.queuedJobs(keys[1] as number, 2);
      assert.deepEqual(page.map((j) => j.jobKey), keys.slice(2, 4));
      // running jobs leave the queue
      await store.markRunning([keys[0] as number], Date.now());
      assert.equal((await store.queuedJobs(0, 100))[0]?.jobKey, keys[1]);
    }));

  test('queuedJobsIn: the jobs among the keys that are still queued, in key order; others\' and unknown keys are not there', () =>
    withStore(makeStore, async (store) => {
      const a = await tenantWithInstances(store, 3, 'a');
      const [x, y] = a.instanceIds as [string, string, string];
      const tasks = [];
      for (let i = 0; i < 4; i++) tasks.push(await create(store, a, { command: `echo ${i}` }));
      const ofX = (await store.queuedJobs(0, 100)).filter((j) => j.instanceId === x);
      assert.equal(ofX.length, 4);
      const keys = ofX.map((j) => j.jobKey);
      // asked out of order, with a key that does not exist: the queued ones, in key order
      const all = await store.queuedJobsIn([keys[3]!, 999_999_999, keys[1]!, keys[0]!, keys[2]!]);
      assert.deepEqual(all, ofX, 'the same rows as the global read, in key order');
      assert.deepEqual(all.map((j) => j.command), ['echo 0', 'echo 1', 'echo 2', 'echo 3']);
      assert.deepEqual(await store.queuedJobsIn([]), []);
      // jobs that left the queue are not returned: running, final, cancelled
      await store.markRunning([keys[1]!], Date.now());
      await store.finishJobs([result(keys[2]!, JobCode.Unreachable, 'failed')]);
      await store.cancelTask(a.tenantKey, tasks[3]!.taskId, Date.now());
      assert.deepEqual((await store.queuedJobsIn(keys)).map((j) => j.jobKey), [keys[0]]);
      const ofY = (await store.queuedJobs(0, 100)).filter((j) => j.instanceId === y);
      assert.deepEqual((await store.queuedJobsIn(ofY.map((j) => j.jobKey))).map((j) => j.instanceId), [y, y, y]);
      // removed: its queued jobs are cancelled
      await store.deleteInstance(x);
      assert.deepEqual(await store.queuedJobsIn(keys), []);
    }));

  test('an instance that changes hands or is removed: queued jobs of others are cancelled, running ones finish', () =>
    withStore(makeStore, async (store) => {
      const a = await tenantWithInstances(store, 2, 'a');
      const b = await tenantWithInstances(store, 1, 'b');
      const [x, y] = a.instanceIds as [string, string];
      const running = await create(store, a, { instanceIds: [x] });
      await store.markRunning([running.jobs[0]!.jobKey], Date.now());
      const queuedA = await create(store, a, { instanceIds: [x, y] });
      assert.equal((await store.assignInstance(x, b.tenantId)).tenantId, b.tenantId);
      const bOnX = await create(store, b, { instanceIds: [x] });
      const cancelled = await jobState(store, a.tenantKey, queuedA.taskId, 0);
      assert.deepEqual([cancelled.state, cancelled.errorCode], ['cancelled', JobCode.Cancelled]);
      assert.ok(cancelled.finishedAt !== null);
      assert.equal((await jobState(store, a.tenantKey, queuedA.taskId, 1)).state, 'queued', 'its other instance is untouched');
      assert.equal((await jobState(store, a.tenantKey, running.taskId, 0)).state, 'running', 'a running job finishes');
      assert.equal((await jobState(store, b.tenantKey, bOnX.taskId, 0)).state, 'queued', "the new owner's job stays");
      assert.equal((await store.assignInstance(x, b.tenantId)).tenantId, b.tenantId);
      assert.equal((await jobState(store, b.tenantKey, bOnX.taskId, 0)).state, 'queued', 'assigning again to the owner cancels nothing');
      await store.deleteInstance(x);
      assert.equal((await jobState(store, b.tenantKey, bOnX.taskId, 0)).state, 'cancelled');
      assert.deepEqual((await store.queuedJobs(0, 100)).map((j) => j.instanceId), [y]);
    }));

  test('markRunning: only queued jobs move, once', () =>
    withStore(makeStore, async (store) => {
      const a = await tenantWithInstances(store, 3);
      const t = await create(store, a);
      const [k0, k1, k2] = t.jobs.map((j) => j.jobKey) as [number, number, number];
      await store.cancelTask(a.tenantKey, t.taskId, Date.now()).then(() => undefined);
      const t2 = await create(store, a);
      const [m0, m1] = t2.jobs.map((j) => j.jobKey) as [number, number];
      const now = Date.now();
      assert.deepEqual(await store.markRunning([m0, k0, m1, k1, k2], now), [m0, m1]);
      assert.deepEqual(await store.markRunning([m0, m1], now), []);
      const j = await jobState(store, a.tenantKey, t2.taskId, 0);
      assert.equal(j.state, 'running');
      assert.equal(j.startedAt, now);
      assert.equal(j.errorCode, '');
      assert.equal((await jobState(store, a.tenantKey, t.taskId, 0)).state, 'cancelled');
    }));

  test('finishJobs: writes results; a job already final keeps its first result', () =>
    withStore(makeStore, async (store) => {
      const a = await tenantWithInstances(store, 4);
      const t = await create(store, a);
      const [k0, k1, k2, k3] = t.jobs.map((j) => j.jobKey) as [number, number, number, number];
      await store.markRunning([k0, k1, k2], 1000);
      await store.finishJobs([
        succeeded(k0, 'first'),
        result(k1, JobCode.NonZeroExit, 'failed', { exitCode: 3, errorMsg: 'exit status 3', finishedAt: 2000 }),
        result(k2, JobCode.TimedOut, 'timed_out'),
        // queued -> failed is allowed (unreachable instance)
        result(k3, JobCode.Unreachable, 'failed'),
      ]);
      const v = await store.getTask(a.tenantKey, t.taskId);
      assert.ok(v);
      assert.deepEqual(
        v.jobs.map((j) => [j.state, j.errorCode]),
        [
          ['succeeded', '0'],
          ['failed', 'KOOPHONE.JOB.1001'],
          ['timed_out', 'KOOPHONE.JOB.1003'],
          ['failed', 'KOOPHONE.JOB.1002'],
        ],
      );
      const j0 = v.jobs[0];
      assert.ok(j0);
      assert.equal(j0.executeMsg, 'first');
      assert.equal(j0.exitCode, 0);
      assert.equal(j0.errorMsg, 'ok');
      assert.equal(j0.startedAt, 1000);
      assert.ok(j0.finishedAt !== null);
      assert.equal(v.jobs[1]?.exitCode, 3);
      assert.equal(v.jobs[1]?.errorMsg, 'exit status 3');
      assert.equal(v.jobs[1]?.finishedAt, 2000);
      assert.equal(v.jobs[3]?.startedAt, null);

      // reported again with another result: ignored, output untouched
      await store.finishJobs([{ ...succeeded(k0, 'second'), errorMsg: 'ok' }, result(k1, JobCode.Internal, 'failed')]);
      const again = await store.getTask(a.tenantKey, t.taskId);
      assert.equal(again?.jobs[0]?.executeMsg, 'first');
      assert.equal(again?.jobs[1]?.errorCode, 'KOOPHONE.JOB.1001');
      const out = await store.getJobOutput(a.tenantKey, t.taskId, t.jobs[0]?.jobId as string);
      assert.equal(out?.stdout.toString(), 'first');
    }));

  test('job output round-trips: stdout only, stderr only, and both interleaved', () =>
    withStore(makeStore, async (store) => {
      const a = await tenantWithInstances(store, 3);
      const t = await create(store, a);
      const keys = t.jobs.map((j) => j.jobKey);
      await store.markRunning(keys, Date.now());
      const b = (x: string) => Buffer.from(x);
      const outputs = [
        { stdout: b('out only'), stderr: b(''), combined: b('out only') },
        { stdout: b(''), stderr: b('err only'), combined: b('err only') },
        { stdout: b('o1 o2'), stderr: b('e1 '), combined: b('o1 e1 o2') },
      ];
      await store.finishJobs(outputs.map((output, i) => ({ ...succeeded(keys[i]!, ''), output })));
      for (const [i, want] of outputs.entries()) {
        const got = await store.getJobOutput(a.tenantKey, t.taskId, t.jobs[i]!.jobId);
        assert.deepEqual(
          [got?.stdout.toString(), got?.stderr.toString(), got?.combined.toString()],
          [want.stdout.toString(), want.stderr.toString(), want.combined.toString()],
        );
      }
    }));

  test('finishJobs: guarded transitions (cancelled stays cancelled; queued cannot succeed)', () =>
    withStore(makeStore, async (store) => {
      const a = await tenantWithInstances(store, 2);
      const t = await create(store, a);
      const [k0, k1] = t.jobs.map((j) => j.jobKey) as [number, number];
      await store.cancelTask(a.tenantKey, t.taskId, Date.now());
      await store.finishJobs([succeeded(k0, 'late')]);
      const j = await jobState(store, a.tenantKey, t.taskId, 0);
      assert.equal(j.state, 'cancelled');
      assert.equal(j.executeMsg, '');
      assert.equal((await store.getJobOutput(a.tenantKey, t.taskId, j.jobId))?.stdout.length, 0);

      const t2 = await create(store, a);
      const q = t2.jobs[0]?.jobKey as number;
      await store.finishJobs([succeeded(q, 'never ran')]);
      assert.equal((await jobState(store, a.tenantKey, t2.taskId, 0)).state, 'queued');
      void k1;
    }));

  test('finishJobs: a non-final or inconsistent result is rejected and the batch changes nothing', () =>
    withStore(makeStore, async (store) => {
      const a = await tenantWithInstances(store, 2);
      const t = await create(store, a);
      const [k0, k1] = t.jobs.map((j) => j.jobKey) as [number, number];
      await store.markRunning([k0, k1], Date.now());
      const isInvalid = (e: unknown) => e instanceof StoreError && e.code === 'INVALID_ARGUMENT';
      await assert.rejects(store.finishJobs([succeeded(k0, 'x'), result(k1, JobCode.Ok, 'running')]), isInvalid);
      await assert.rejects(store.finishJobs([succeeded(k0, 'x'), result(k1, JobCode.TimedOut, 'failed')]), isInvalid);
      const v = await store.getTask(a.tenantKey, t.taskId);
      assert.deepEqual(v?.jobs.map((j) => j.state), ['running', 'running']);
    }));

  test('cancelTask: queued jobs cancelled at once, running ones reported, finished ones untouched', () =>
    withStore(makeStore, async (store) => {
      const a = await tenantWithInstances(store, 4, 'a');
      const b = await tenantWithInstances(store, 1, 'b');
      const t = await create(store, a);
      const [k0, k1, k2, k3] = t.jobs.map((j) => j.jobKey) as [number, number, number, number];
      await store.markRunning([k0, k1], Date.now());
      await store.finishJobs([succeeded(k0, 'done')]);
      assert.equal(await store.cancelTask(b.tenantKey, t.taskId, Date.now()), null);
      assert.equal(await store.cancelTask(a.tenantKey, '0'.repeat(32), Date.now()), null);
      const now = Date.now();
      const r = await store.cancelTask(a.tenantKey, t.taskId, now);
      assert.deepEqual(r, { taskKey: t.taskKey, cancelledQueued: [k2, k3], running: [k1] });
      const v = await store.getTask(a.tenantKey, t.taskId);
      assert.ok(v);
      assert.deepEqual(v.jobs.map((j) => j.state), ['succeeded', 'running', 'cancelled', 'cancelled']);
      const c = v.jobs[2];
      assert.equal(c?.errorCode, 'KOOPHONE.JOB.1004');
      assert.equal(c?.errorMsg, 'cancelled');
      assert.equal(c?.finishedAt, now);
      // the worker then ends the running one as cancelled
      await store.finishJobs([result(k1, JobCode.Cancelled, 'cancelled', { errorMsg: 'cancelled' })]);
      assert.deepEqual(await store.cancelTask(a.tenantKey, t.taskId, Date.now()), { taskKey: t.taskKey, cancelledQueued: [], running: [] });
      assert.deepEqual(await store.queuedJobs(0, 100), []);
    }));

  test('interruptRunning: running jobs fail with KOOPHONE.JOB.1006, queued ones stay', () =>
    withStore(makeStore, async (store) => {
      const a = await tenantWithInstances(store, 3);
      const t = await create(store, a);
      const [k0, k1] = t.jobs.map((j) => j.jobKey) as [number, number];
      await store.markRunning([k0, k1], 1000);
      assert.equal(await store.interruptRunning(5000), 2);
      assert.equal(await store.interruptRunning(6000), 0);
      const v = await store.getTask(a.tenantKey, t.taskId);
      assert.ok(v);
      assert.deepEqual(v.jobs.map((j) => [j.state, j.errorCode]), [
        ['failed', 'KOOPHONE.JOB.1006'],
        ['failed', 'KOOPHONE.JOB.1006'],
        ['queued', ''],
      ]);
      assert.equal(v.jobs[0]?.finishedAt, 5000);
      assert.match(v.jobs[0]?.errorMsg ?? '', /interrupted/);
      assert.deepEqual((await store.queuedJobs(0, 10)).map((j) => j.jobKey), [v.jobs[2]?.jobKey]);
    }));

  test('purgeTasks: only old tasks whose jobs are all final, in batches, with jobs and outputs', () =>
    withStore(makeStore, async (store) => {
      const a = await tenantWithInstances(store, 2);
      const done: CreatedTask[] = [];
      for (let i = 0; i < 3; i++) {
        const t = await create(store, a);
        const keys = t.jobs.map((j) => j.jobKey);
        await store.markRunning(keys, Date.now());
        await store.finishJobs(keys.map((k) => succeeded(k, `out ${i}`)));
        done.push(t);
      }
      const live = await create(store, a);
      await store.markRunning([live.jobs[0]?.jobKey as number], Date.now());
      const cutoff = Date.now() + 1000;
      assert.equal(await store.purgeTasks(0, 10), 0, 'nothing created before the epoch');
      assert.equal(await store.purgeTasks(cutoff, 2), 2);
      assert.equal(await store.purgeTasks(cutoff, 2), 1);
      assert.equal(await store.purgeTasks(cutoff, 2), 0);
      for (const t of done) {
        assert.equal(await store.getTask(a.tenantKey, t.taskId), null);
        assert.equal(await store.getJobOutput(a.tenantKey, t.taskId, t.jobs[0]?.jobId as string), null);
      }
      const kept = await store.getTask(a.tenantKey, live.taskId);
      assert.deepEqual(kept?.jobs.map((j) => j.state), ['running', 'queued']);
      assert.deepEqual((await store.listTasks(a.tenantKey, 10, null)).tasks.map((t) => t.taskId), [live.taskId]);
      // once final, it goes too
      await store.cancelTask(a.tenantKey, live.taskId, Date.now());
      await store.interruptRunning(Date.now());
      assert.equal(await store.purgeTasks(cutoff, 10), 1);
      assert.deepEqual((await store.listTasks(a.tenantKey, 10, null)).tasks, []);
      // job keys keep increasing after a purge emptied the table
      const next = await create(store, a);
      assert.ok((next.jobs[0]?.jobKey as number) > (live.jobs[1]?.jobKey as number));
    }));
}
