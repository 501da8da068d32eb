// The SQLite store keeps the queue's unread tail in memory (fresh-jobs.ts) so the worker does not
// read back what was just written. Whatever happens to the jobs, what a reader reading on from its
// last key gets must be what the table holds past that key: checked after each step of a random
// mix of writes, and across a reopen. Also the change feed's notices, which the worker and the
// watchers rely on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore, type CancelledJobs, type QueuedJob, type Store } from '../../src/store/index.js';
import { newTask, result, succeeded, tenantWithInstances } from './conformance/fixtures.js';

/** The table's answer: a reader "after -1" is behind every key the memory holds, so it reads SQL. */
const fromTable = (store: Store): Promise<QueuedJob[]> => store.queuedJobs(-1, 1_000_000);

/** A reader like the worker: it reads on from the last key it got, a page at a time. */
class Reader {
  after = 0;
  constructor(readonly store: Store) {}
  /** What it reads now must be what the table holds past its last key. */
  async check(what: string): Promise<void> {
    const expected = (await fromTable(this.store)).filter((j) => j.jobKey > this.after);
    const got: QueuedJob[] = [];
    for (;;) {
      const page = await this.store.queuedJobs(this.after, 7);
      got.push(...page);
      if (page.length === 0) break;
      this.after = page.at(-1)!.jobKey;
    }
    assert.deepEqual(got, expected, what);
    // a read by keys (a lane's refill) sees the table, and takes nothing from this reader
    const instanceKey = expected[0]?.instanceKey;
    if (instanceKey !== undefined) {
      const table = await fromTable(this.store);
      const ofInstance = table.filter((j) => j.instanceKey === instanceKey);
      const keys = ofInstance.map((j) => j.jobKey);
      assert.deepEqual(await this.store.queuedJobsIn([...keys].reverse()), ofInstance, `${what}: one instance's keys`);
    }
  }
}

type Tenant = Awaited<ReturnType<typeof tenantWithInstances>>;

/** One write of those the API and the worker make (op 0-5), on random jobs and tasks. */
async function randomWrite(
  store: Store,
  op: number,
  w: { a: Tenant; b: Tenant; tasks: string[]; rand: (n: number) => number; queued: readonly number[]; toMark: () => number[] },
): Promise<void> {
  const { a, b, tasks, rand } = w;
  switch (op) {
    case 0:
    case 1: {
      const ids = a.instanceIds.filter(() => rand(2) === 0);
      if (ids.length === 0) break;
      // several tasks in one commit, now and then
      const created = await Promise.all(Array.from({ length: 1 + rand(3) }, () => store.createTask(newTask(a, { instanceIds: ids }))));
      tasks.push(...created.map((t) => t.taskId));
      break;
    }
    case 2:
      await store.markRunning(w.toMark(), Date.now());
      break;
    case 3: {
      const taskId = tasks[rand(Math.max(1, tasks.length))];
      if (taskId !== undefined) await store.cancelTask(a.tenantKey, taskId, Date.now());
      break;
    }
    case 4: {
      // A worker's results, from running (or straight from queued: unreachable, 1002).
      const picked = w.queued.filter(() => rand(4) === 0);
      await store.finishJobs(picked.map((k) => (rand(2) === 0 ? succeeded(k, 'x') : result(k, 'KOOPHONE.JOB.1002', 'failed'))));
      break;
    }
    case 5: {
      // An instance changes hands and back: its queued jobs are cancelled.
      const id = a.instanceIds[rand(a.instanceIds.length)]!;
      await store.assignInstance(id, b.tenantId);
      await store.assignInstance(id, a.tenantId);
      break;
    }
  }
}

test('the in-memory queue tail equals the table through a random mix of writes', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'adbfleet-tail-'));
  const path = join(dir, 'db.sqlite');
  let store = createSqliteStore({ path, synchronous: 'NORMAL' });
  try {
    await store.open();
    const a = await tenantWithInstances(store, 6, 'a');
    const b = await tenantWithInstances(store, 2, 'b');
    let reader = new Reader(store);
    let seed = 42;
    const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const tasks: string[] = [];
    for (let step = 0; step < 300; step++) {
      const queued = (await fromTable(store)).map((j) => j.jobKey);
      await randomWrite(store, rand(6), { a, b, tasks, rand, queued, toMark: () => queued.filter(() => rand(3) === 0) });
      // The reader reads every few steps (jobs change while unread), and now and then a new one
      // starts behind (after 0, as a new worker does).
      if (rand(10) === 0) reader = new Reader(store);
      if (rand(3) === 0) await reader.check(`step ${step}`);
    }
    const before = await fromTable(store);
    assert.ok(before.length > 0, 'some jobs are still queued at the end');
    await store.close();
    store = createSqliteStore({ path, synchronous: 'NORMAL' });
    await store.open();
    reader = new Reader(store);
    await reader.check('after a reopen');
    const t = await store.createTask(newTask(a));
    await reader.check('a task after the reopen');
    assert.equal(reader.after, t.jobs.at(-1)!.jobKey);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

// The test above reads the table's answer through the store, and a short table read drops the
// memory (caughtUp): its reader is nearly always answered by SQL. Here the answer comes from a
// second connection of its own, so the store's single reader is served from memory as the worker is.
for (const start of [1, 2, 3, 4]) {
  test(`the worker's reads, served from the memory tail, equal a second connection's view (seed ${start})`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'adbfleet-tail-'));
    const path = join(dir, 'db.sqlite');
    const store = createSqliteStore({ path, synchronous: 'NORMAL' });
    await store.open();
    const other = new Database(path, { readonly: true });
    const queuedAfter = other.prepare(`SELECT id FROM jobs WHERE state = 'queued' AND id > ? ORDER BY id`).pluck();
    const table = (after: number): number[] => queuedAfter.all(after) as number[];
    try {
      const a = await tenantWithInstances(store, 6, 'a');
      const b = await tenantWithInstances(store, 2, 'b');
      let seed = start;
      const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
      const tasks: string[] = [];
      let after = 0;
      const held: number[] = [];
      for (let step = 0; step < 400; step++) {
        const queued = table(0);
        const op = rand(7);
        if (op < 6) {
          // what the reader took, or jobs it has not read yet (a lane's refill moves those)
          const toMark = (): number[] => (rand(2) === 0 ? held.splice(0, rand(held.length + 1)) : queued.filter(() => rand(3) === 0));
          await randomWrite(store, op, { a, b, tasks, rand, queued, toMark });
        } else {
          const limit = 1 + rand(10);
          const page = await store.queuedJobs(after, limit);
          assert.deepEqual(page.map((j) => j.jobKey), table(after).slice(0, limit), `step ${step}: a page after ${after}`);
          if (page.length > 0) after = page.at(-1)!.jobKey;
          held.push(...page.map((j) => j.jobKey));
        }
      }
    } finally {
      other.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
}

test('change feed: one queued notice per commit, cancels and task changes after their commit', async () => {
  const store = createSqliteStore({ path: ':memory:' });
  try {
    await store.open();
    const a = await tenantWithInstances(store, 3, 'a');
    const queued: number[] = [];
    const cancelled: CancelledJobs[] = [];
    store.changes.onQueued((k) => queued.push(k));
    store.changes.onCancelled((c) => cancelled.push(c));
    // Two tasks submitted together share one group commit: one notice, the last key.
    const [t1, t2] = await Promise.all([store.createTask(newTask(a)), store.createTask(newTask(a))]);
    assert.deepEqual(queued, [t2!.jobs.at(-1)!.jobKey]);
    assert.ok(t1!.jobs.at(-1)!.jobKey < t2!.jobs[0]!.jobKey);

    let changes = 0;
    const off = store.changes.onTaskChanged(t1!.taskKey, () => {
      changes++;
    });
    assert.equal(store.changes.watching(t1!.taskKey), true);
    const [j1, j2] = t1!.jobs;
    await store.markRunning([j1!.jobKey, j2!.jobKey, t2!.jobs[0]!.jobKey], Date.now());
    assert.equal(changes, 1, 'one notice for the commit, however many of the task\'s jobs moved');
    await store.finishJobs([succeeded(j1!.jobKey, 'x')]);
    assert.equal(changes, 2);
    await store.finishJobs([succeeded(j1!.jobKey, 'again')]);
    assert.equal(changes, 2, 'nothing committed (already final): no notice');
    const res = await store.cancelTask(a.tenantKey, t1!.taskId, Date.now());
    assert.equal(changes, 3);
    assert.deepEqual(cancelled, [{ queued: res!.cancelledQueued, running: [j2!.jobKey] }]);
    off();
    assert.equal(store.changes.watching(t1!.taskKey), false);
    await store.deleteInstance(a.instanceIds[2]!);
    assert.deepEqual(cancelled.at(-1), { queued: [t2!.jobs[2]!.jobKey], running: [] });
  } finally {
    await store.close();
  }
});
