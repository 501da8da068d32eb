// The task service over a real store, the real worker and a simulated fleet: what a watcher, a
// sync-command and a cancel see is what the store committed, step by step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { TaskView } from '../../src/store/index.js';
import { until } from '../support/index.js';
import { fixture } from '../dispatch/setup.js';

test('watch: every job shows running, then its final state, each view the one the store holds', async () => {
  const f = await fixture({ count: 3 });
  try {
    f.fleet.instances[2]!.setFault({ kind: 'offline', ms: 600_000 });
    const task = await f.submit('echo ev', f.ids);
    const jobs = await f.finish(task);
    for (const job of jobs) {
      const seen = f.events.get(job.jobKey) ?? [];
      // A job that never started (instance unreachable, 1002) goes from queued to final.
      const expected = job.startedAt === null ? [job.state] : ['running', job.state];
      assert.deepEqual(seen.map((v) => v.state), expected, job.instanceId);
      assert.deepEqual(seen.at(-1), job);
    }
    assert.equal(jobs[2]!.errorCode, 'KOOPHONE.JOB.1002');
  } finally {
    await f.close();
  }
});

test('watch: the running view is the job as the store shows it while it runs', async () => {
  const f = await fixture({ count: 1 });
  try {
    const task = await f.submit('sleep 0.5', [f.ids[0]!]);
    const running = await new Promise<TaskView>((resolve) => {
      void f.tasks.watch(f.tenantKey, task.taskId, (t) => {
        if (t?.jobs[0]!.state === 'running') resolve(t);
      });
    });
    const view = await f.store.getTask(f.tenantKey, task.taskId);
    assert.equal(view!.jobs[0]!.state, 'running');
    assert.deepEqual(running.jobs[0], view!.jobs[0]);
    await f.finish(task);
  } finally {
    await f.close();
  }
});

test('watch: a listener that throws does not stop the job or other watchers', async () => {
  const f = await fixture({ count: 1 });
  const warnings: Error[] = [];
  const onWarning = (w: Error): void => void warnings.push(w);
  process.on('warning', onWarning);
  try {
    const task = await f.submit('sleep 0.2; echo x', [f.ids[0]!]);
    let calls = 0;
    const bad = await f.tasks.watch(f.tenantKey, task.taskId, () => {
      if (++calls > 1) throw new Error('listener bug');
    });
    const [job] = await f.finish(task);
    assert.equal(job!.state, 'succeeded');
    assert.deepEqual(f.events.get(job!.jobKey)?.map((v) => v.state), ['running', 'succeeded']);
    await until('the warning', () => warnings.some((w) => w.message === 'listener bug'));
    bad!.close();
  } finally {
    process.off('warning', onWarning);
    await f.close();
  }
});

test('watch: a task that is not the tenant\'s is null, and nothing is watched', async () => {
  const f = await fixture({ count: 1 });
  try {
    const task = await f.submit('echo mine', [f.ids[0]!]);
    assert.equal(await f.tasks.watch(f.tenantKey + 1, task.taskId, () => assert.fail('called')), null);
    assert.equal(await f.tasks.watch(f.tenantKey, 'f'.repeat(32), () => assert.fail('called')), null);
    await f.finish(task);
  } finally {
    await f.close();
  }
});

test('run: answers when every job is final, with the views the store holds', async () => {
  const f = await fixture({ count: 2 });
  try {
    const task = await f.tasks.run(f.tenantKey, { command: 'echo done', instanceIds: f.ids, timeoutMs: 30_000 });
    assert.equal(task.kind, 'sync');
    assert.ok(task.jobs.every((j) => j.state === 'succeeded' && j.executeMsg === 'done\n'));
    assert.deepEqual(task, await f.store.getTask(f.tenantKey, task.taskId));
  } finally {
    await f.close();
  }
});

test('run: at the timeout plus its grace, answers with the jobs as they are', async () => {
  // The instance is unreachable and the retry window outlasts the command's timeout.
  const f = await fixture({ count: 1, config: { retryWindowMs: 60_000 } });
  try {
    f.fleet.instances[0]!.setFault({ kind: 'offline', ms: 600_000 });
    const t0 = Date.now();
    const task = await f.tasks.run(f.tenantKey, { command: 'echo x', instanceIds: [f.ids[0]!], timeoutMs: 500 });
    const waited = Date.now() - t0;
    assert.ok(waited >= 1_400, `answered after ${waited} ms, before timeout + grace`);
    assert.equal(task.jobs[0]!.state, 'queued');
  } finally {
    await f.close();
  }
});

test('close: a waiting run answers at once with the task as stored', async () => {
  const f = await fixture({ count: 1 });
  try {
    const running = f.tasks.run(f.tenantKey, { command: 'sleep 30', instanceIds: [f.ids[0]!], timeoutMs: 60_000 });
    await until('the sleep to start', () => f.fleet.instances[0]!.journal().length === 1);
    const t0 = Date.now();
    f.tasks.close();
    const task = await running;
    assert.ok(Date.now() - t0 < 5_000);
    assert.equal(task.jobs[0]!.state, 'running');
  } finally {
    await f.close();
  }
});

test('cancel: queued jobs are cancelled at once, a running one ends 1004 before the answer', async () => {
  const f = await fixture({ count: 1 });
  try {
    const task = await f.submit('sleep 30', [f.ids[0]!]);
    const queued = await f.submit('echo never', [f.ids[0]!]);
    await until('the sleep to start', () => f.fleet.instances[0]!.journal().length === 1);
    const q = await f.tasks.cancel(f.tenantKey, queued.taskId);
    assert.equal(q!.jobs[0]!.state, 'cancelled');
    assert.equal(q!.jobs[0]!.startedAt, null);
    const t0 = Date.now();
    const view = await f.tasks.cancel(f.tenantKey, task.taskId);
    assert.ok(Date.now() - t0 < 2_500);
    assert.equal(view!.jobs[0]!.state, 'cancelled');
    assert.equal(view!.jobs[0]!.errorCode, 'KOOPHONE.JOB.1004');
    assert.equal(await f.tasks.cancel(f.tenantKey + 1, queued.taskId), null);
    assert.deepEqual(f.fleet.instances[0]!.journal().map((e) => e.command), ['sleep 30']);
  } finally {
    await f.close();
  }
});
