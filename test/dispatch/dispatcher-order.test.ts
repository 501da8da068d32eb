// Scheduling as the simulator's journal saw it: FIFO per instance, never overlapping, the global
// bound, and the events and waits the API builds on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JournalEntry } from '../../src/sim/index.js';
import type { CreatedTask } from '../../src/store/index.js';
import type { JobEvent } from '../../src/dispatch/index.js';
import { fixture } from './setup.js';

/** Most commands running at one moment, from journal intervals. */
function maxOverlap(entries: readonly JournalEntry[]): number {
  const points: [number, number][] = [];
  for (const e of entries) {
    assert.ok(e.endedAt !== null, `${e.command} still running`);
    points.push([e.startedAt, 1], [e.endedAt, -1]);
  }
  // Ends before starts at the same millisecond: back-to-back is not overlap.
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let now = 0;
  let max = 0;
  for (const [, d] of points) max = Math.max(max, (now += d));
  return max;
}

test('each instance runs its jobs in submission order, one at a time', async () => {
  const f = await fixture({ count: 3 });
  try {
    const tasks: CreatedTask[] = [];
    // Interleaved tasks over overlapping instance sets, all submitted before any can finish.
    for (let i = 0; i < 12; i++) {
      const targets = f.ids.filter((_, k) => (i + k) % 3 !== 0);
      tasks.push(await f.submit(`sleep 0.0${i % 3 + 1}`, targets));
      tasks.push(await f.submit(`echo n${i}`, f.ids));
    }
    for (const t of tasks) await f.finish(t);
    for (const [k, inst] of f.fleet.instances.entries()) {
      const expected = tasks.filter((t) => t.jobs.some((j) => j.instanceId === f.ids[k])).map((t) => t.command);
      const journal = inst.journal();
      assert.deepEqual(
        journal.map((e) => e.command),
        expected,
        `order on ${f.ids[k]}`,
      );
      assert.equal(maxOverlap(journal), 1, `overlap on ${f.ids[k]}`);
      assert.ok(journal.every((e) => e.end === 'exit'));
    }
  } finally {
    await f.close();
  }
});

test('perInstanceConcurrency 2 lets two jobs of one instance run together, never three', async () => {
  const f = await fixture({ count: 1, config: { perInstanceConcurrency: 2 } });
  try {
    const tasks: CreatedTask[] = [];
    for (let i = 0; i < 6; i++) tasks.push(await f.submit('sleep 0.3', [f.ids[0]!]));
    for (const t of tasks) await f.finish(t);
    assert.equal(maxOverlap(f.fleet.instances[0]!.journal()), 2);
  } finally {
    await f.close();
  }
});

test('the global bound caps jobs running at once across instances', async () => {
  const f = await fixture({ count: 6, config: { globalConcurrency: 2 } });
  try {
    const task = await f.submit('sleep 0.3', f.ids);
    const jobs = await f.finish(task);
    assert.ok(jobs.every((j) => j.state === 'succeeded'));
    const all = f.fleet.journal();
    assert.equal(all.length, 6);
    assert.equal(maxOverlap(all), 2);
  } finally {
    await f.close();
  }
});

test('every job emits running then its final state, matching what the store shows', async () => {
  const f = await fixture({ count: 3 });
  try {
    f.fleet.instances[2]!.setFault({ kind: 'offline', ms: 600_000 });
    const task = await f.submit('echo ev', f.ids);
    const jobs = await f.finish(task);
    for (const job of jobs) {
      const events = f.events.get(job.jobKey) ?? [];
      const expected = job.startedAt === null ? [job.state] : ['running', job.state];
      assert.deepEqual(
        events.map((e) => e.state),
        expected,
        job.instanceId,
      );
      const last = events.at(-1)!;
      assert.equal(last.taskId, task.taskId);
      assert.equal(last.jobId, job.jobId);
      assert.equal(last.instanceId, job.instanceId);
      assert.equal(last.tenantKey, f.tenantKey);
      assert.deepEqual(last.job, job);
    }
    assert.equal(jobs[2]!.errorCode, 'KOOPHONE.JOB.1002');
  } finally {
    await f.close();
  }
});

test('the running event shows the job as the store does while it runs', async () => {
  const f = await fixture({ count: 1 });
  try {
    const task = await f.submit('sleep 0.5', [f.ids[0]!]);
    const running = await new Promise<JobEvent>((resolve) => {
      f.dispatcher.onJobEvent(task.taskKey, (e) => {
        if (e.state === 'running') resolve(e);
      });
    });
    const view = await f.store.getTask(f.tenantKey, task.taskId);
    assert.equal(view!.jobs[0]!.state, 'running');
    assert.deepEqual(running.job, view!.jobs[0]);
    await f.finish(task);
  } finally {
    await f.close();
  }
});

test('a listener that throws does not stop the job or other listeners', async () => {
  const f = await fixture({ count: 1 });
  try {
    const task = await f.submit('echo x', [f.ids[0]!]);
    const seen: string[] = [];
    f.dispatcher.onJobEvent(task.taskKey, () => {
      throw new Error('listener bug');
    });
    const off = f.dispatcher.onJobEvent(task.taskKey, (e) => seen.push(e.state));
    const [job] = await f.finish(task);
    assert.equal(job!.state, 'succeeded');
    assert.deepEqual(seen, ['running', 'succeeded']);
    off();
  } finally {
    await f.close();
  }
});

test('waitForTask resolves when every job is final, or at the deadline', async () => {
  const f = await fixture({ count: 2 });
  try {
    const quick = await f.submit('echo done', f.ids);
    await f.dispatcher.waitForTask(quick.taskKey, Date.now() + 60_000);
    const view = await f.store.getTask(f.tenantKey, quick.taskId);
    assert.ok(view!.jobs.every((j) => j.state === 'succeeded'));
    // Already final: resolves at once.
    await f.dispatcher.waitForTask(quick.taskKey, Date.now() + 60_000);

    const slow = await f.submit('sleep 30', [f.ids[0]!]);
    const deadline = Date.now() + 400;
    await f.dispatcher.waitForTask(slow.taskKey, deadline);
    assert.ok(Date.now() >= deadline - 5, "returned before the deadline");
    const still = await f.store.getTask(f.tenantKey, slow.taskId);
    assert.ok(still!.jobs[0]!.state === 'running' || still!.jobs[0]!.state === 'queued');
  } finally {
    await f.close();
  }
});
