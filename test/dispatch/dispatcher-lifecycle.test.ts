// Cancel, restart recovery and stop: at most once, and every job reaches a final state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDispatcher } from '../../src/dispatch/index.js';
import { until } from '../support/index.js';
import { fixture } from './setup.js';

test('cancel: a running job has its stream closed and ends 1004; queued jobs leave the queue at once', async () => {
  const f = await fixture({ count: 1 });
  try {
    const running = await f.submit('sleep 30', [f.ids[0]!]);
    const queued = await f.submit('echo never', [f.ids[0]!]);
    const waiting = await f.submit('echo later', [f.ids[0]!]);
    await until('the sleep to start', () => f.fleet.instances[0]!.journal().length === 1);

    // The queued task first: the store's change feed takes it out of the worker's queue.
    const q = await f.store.cancelTask(f.tenantKey, queued.taskId, Date.now());
    assert.deepEqual(q, { taskKey: queued.taskKey, cancelledQueued: [queued.jobs[0]!.jobKey], running: [] });
    const [qJob] = await f.finish(queued, 10_000);
    assert.equal(qJob!.state, 'cancelled');
    assert.deepEqual(
      f.events.get(qJob!.jobKey)?.map((e) => e.state),
      ['cancelled'],
    );

    const r = await f.store.cancelTask(f.tenantKey, running.taskId, Date.now());
    assert.deepEqual(r?.running, [running.jobs[0]!.jobKey]);
    const [rJob] = await f.finish(running);
    assert.equal(rJob!.state, 'cancelled');
    assert.equal(rJob!.errorCode, 'KOOPHONE.JOB.1004');
    const [sleepEntry] = f.fleet.instances[0]!.journal();
    assert.equal(sleepEntry!.end, 'closed');

    // The instance moves on to the next job; the cancelled one never ran.
    const [later] = await f.finish(waiting);
    assert.equal(later!.executeMsg, 'later\n');
    assert.deepEqual(
      f.fleet.instances[0]!.journal().map((e) => e.command),
      ['sleep 30', 'echo later'],
    );
  } finally {
    await f.close();
  }
});

test('a cancel reaches the worker only through the store: cancelled jobs never run', async () => {
  const f = await fixture({ count: 1 });
  try {
    const blocker = await f.submit('sleep 30', [f.ids[0]!]);
    const queued = await f.submit('echo never', [f.ids[0]!]);
    await until('the sleep to start', () => f.fleet.instances[0]!.journal().length === 1);
    await f.store.cancelTask(f.tenantKey, queued.taskId, Date.now());
    const [job] = await f.finish(queued, 10_000);
    assert.equal(job!.state, 'cancelled');
    assert.equal(f.events.get(job!.jobKey)?.at(-1)?.state, 'cancelled');
    await f.store.cancelTask(f.tenantKey, blocker.taskId, Date.now());
    const [b] = await f.finish(blocker);
    assert.equal(b!.errorCode, 'KOOPHONE.JOB.1004');
    assert.deepEqual(
      f.fleet.instances[0]!.journal().map((e) => e.command),
      ['sleep 30'],
    );
  } finally {
    await f.close();
  }
});

test('recovery: a job left running by a dead worker ends 1006 and never runs; queued jobs run', async () => {
  const f = await fixture({ count: 2, noStart: true });
  try {
    const create = async (command: string, ids: string[]) => {
      return f.store.createTask({ tenantKey: f.tenantKey, command, timeoutMs: 30_000, kind: 'async', instanceIds: ids });
    };
    const crashed = await create('echo crashed', [f.ids[0]!]);
    const pending = await create('echo pending', [f.ids[0]!, f.ids[1]!]);
    // The previous worker committed "running" and died before (or while) sending the command.
    assert.deepEqual(await f.store.markRunning([crashed.jobs[0]!.jobKey], Date.now()), [crashed.jobs[0]!.jobKey]);

    await f.dispatcher.start();
    const [dead] = await f.finish(crashed);
    assert.equal(dead!.state, 'failed');
    assert.equal(dead!.errorCode, 'KOOPHONE.JOB.1006');
    const jobs = await f.finish(pending);
    assert.ok(jobs.every((j) => j.state === 'succeeded'));
    const commands = f.fleet.journal().map((e) => e.command);
    assert.deepEqual(commands.sort(), ['echo pending', 'echo pending']);
  } finally {
    await f.close();
  }
});

test('stop: running jobs past the grace period end 1006, queued ones stay queued for the next start', async () => {
  const f = await fixture({ count: 1 });
  try {
    const running = await f.submit('sleep 30', [f.ids[0]!]);
    const queued = await f.submit('echo next', [f.ids[0]!]);
    await until('the sleep to start', () => f.fleet.instances[0]!.journal().length === 1);
    await f.dispatcher.stop(200);
    const view = await f.store.getTask(f.tenantKey, running.taskId);
    assert.equal(view!.jobs[0]!.state, 'failed');
    assert.equal(view!.jobs[0]!.errorCode, 'KOOPHONE.JOB.1006');
    const q = await f.store.getTask(f.tenantKey, queued.taskId);
    assert.equal(q!.jobs[0]!.state, 'queued');
    assert.equal(f.fleet.instances[0]!.journal().length, 1);

    // The next worker on the same store runs what was left queued.
    const next = createDispatcher({ store: f.store, pool: f.pool, config: f.config });
    try {
      await next.start();
      const [done] = await f.finish(queued, 30_000);
      assert.equal(done!.executeMsg, 'next\n');
    } finally {
      await next.stop(1_000);
    }
  } finally {
    await f.close();
  }
});

test('stop while an instance is unreachable: its queued jobs stay queued, not failed', async () => {
  const f = await fixture({ count: 1, config: { retryWindowMs: 500 } });
  try {
    f.fleet.instances[0]!.setFault({ kind: 'offline', ms: 600_000 });
    const task = await f.submit('echo hi', [f.ids[0]!]);
    await f.dispatcher.stop(100);
    // Well past the retry window: a stopped worker decides nothing more.
    await new Promise((r) => setTimeout(r, 1_500));
    const view = await f.store.getTask(f.tenantKey, task.taskId);
    assert.equal(view!.jobs[0]!.state, 'queued');
  } finally {
    await f.close();
  }
});
