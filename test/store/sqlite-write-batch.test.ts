// The SQLite store's shared write batch: createTask, markRunning, finishJobs and appendAudit issued in one turn
// of the event loop are one transaction (one fsync), each request in its own savepoint; a COMMIT
// that fails (a real full disk: a small tmpfs) rejects all of them and stores none.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore, StoreError, type Store } from '../../src/store/index.js';
import { smallDisk } from '../support/index.js';
import { auditEntry } from './conformance/audit.js';
import { newTask, result, succeeded, tenantWithInstances } from './conformance/fixtures.js';

const FULL = (e: unknown): boolean => (e as { code?: unknown }).code === 'SQLITE_FULL';

test('createTask, markRunning, finishJobs and appendAudit of one turn share one commit; a failing request rolls back alone', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'adbfleet-batch-'));
  const store = createSqliteStore({ path: join(dir, 'db.sqlite') });
  try {
    await store.open();
    const a = await tenantWithInstances(store, 3, 'a');
    const b = await tenantWithInstances(store, 1, 'b');
    const first = await store.createTask(newTask(a));
    const [k0, k1, k2] = first.jobs.map((j) => j.jobKey) as [number, number, number];
    await store.markRunning([k1], Date.now());
    const queued: number[] = [];
    store.changes.onQueued((k) => queued.push(k));
    let changed = 0;
    store.changes.onTaskChanged(first.taskKey, () => changed++);

    const before = store.stats();
    const [created, notOwned, moved, finished, audited] = await Promise.allSettled([
      store.createTask(newTask(a, { command: 'echo second' })),
      store.createTask(newTask(a, { instanceIds: b.instanceIds })),
      store.markRunning([k0], Date.now()),
      store.finishJobs([succeeded(k1, 'done'), result(k2, '0', 'succeeded')]),
      store.appendAudit(auditEntry(Date.now(), { requestId: 'in-the-batch' })),
    ]);
    const after = store.stats();

    assert.equal(after.commits - before.commits, 1, 'one commit for the turn');
    assert.equal(created.status, 'fulfilled');
    assert.ok(notOwned.status === 'rejected' && notOwned.reason instanceof StoreError && notOwned.reason.code === 'INSTANCE_NOT_OWNED');
    assert.deepEqual(moved, { status: 'fulfilled', value: [k0] });
    // k2 is queued: queued -> succeeded is no transition, so only k1's result is written.
    assert.deepEqual(finished, { status: 'fulfilled', value: undefined });
    assert.deepEqual(audited, { status: 'fulfilled', value: undefined });
    const second = created.status === 'fulfilled' ? created.value : assert.fail();
    // the second task, its 3 jobs and its job range (an UPDATE of the task row), k0 running, k1's result and its output, the audit entry
    assert.equal(after.rowsWritten - before.rowsWritten, 1 + 3 + 1 + 1 + 2 + 1);
    assert.deepEqual(queued, [second.jobs.at(-1)!.jobKey], 'one queued notice, after the commit');
    assert.equal(changed, 1, 'one notice for the watched task, however many of its jobs the batch changed');

    const view = await store.getTask(a.tenantKey, first.taskId);
    assert.deepEqual(view?.jobs.map((j) => j.state), ['running', 'succeeded', 'queued']);
    assert.deepEqual((await store.queuedJobs(0, 100)).map((j) => j.jobKey), [k2, ...second.jobs.map((j) => j.jobKey)]);
    assert.equal((await store.listTasks(b.tenantKey, 10, null)).tasks.length, 0, 'the failing request stored nothing');
    assert.equal((await store.listAudit({ requestId: 'in-the-batch' }, 10, null)).entries.length, 1);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a burst larger than a batch is cut into several commits, and every request is written', async () => {
  const store = createSqliteStore({ path: ':memory:' });
  try {
    await store.open();
    const a = await tenantWithInstances(store, 1);
    const before = store.stats().commits;
    const tasks = await Promise.all(Array.from({ length: 300 }, (_, i) => store.createTask(newTask(a, { command: `echo ${i}` }))));
    assert.ok(store.stats().commits - before >= 2, 'at most 256 requests per commit');
    assert.equal((await store.queuedJobs(0, 1000)).length, 300);
    assert.deepEqual(tasks.map((t) => t.command), Array.from({ length: 300 }, (_, i) => `echo ${i}`), 'in the order they came');
  } finally {
    await store.close();
  }
});

test('an audit entry appended a turn after a write waits for the next batch with other writes instead of committing alone', async () => {
  const store = createSqliteStore({ path: ':memory:' });
  try {
    await store.open();
    const a = await tenantWithInstances(store, 1);
    const before = store.stats().commits;
    // As the API records them: the entry of one answered request, the next request's write a turn later.
    const audited = store.appendAudit(auditEntry(Date.now(), { requestId: 'rides-along' }));
    await new Promise((r) => setImmediate(r));
    await store.createTask(newTask(a));
    await audited;
    assert.equal(store.stats().commits - before, 1, 'the entry joined the task\'s commit');
    assert.equal((await store.listAudit({ requestId: 'rides-along' }, 10, null)).entries.length, 1);
    // Alone (a quiet service), it still commits, by itself.
    await store.appendAudit(auditEntry(Date.now(), { requestId: 'alone' }));
    assert.equal(store.stats().commits - before, 2);
    assert.equal((await store.listAudit({ requestId: 'alone' }, 10, null)).entries.length, 1);
  } finally {
    await store.close();
  }
});

test('a commit that fails on a full disk rejects every request of the batch and stores none of them', async (t) => {
  const disk = await smallDisk(t);
  if (disk === null) return;
  const store: Store = createSqliteStore({ path: join(disk.dir, 'db.sqlite') });
  try {
    await store.open();
    const a = await tenantWithInstances(store, 3);
    const first = await store.createTask(newTask(a));
    const [k0, k1] = first.jobs.map((j) => j.jobKey) as [number, number];
    await store.markRunning([k1], Date.now());
    // 256 KiB of output: fresh WAL pages that the full disk cannot give, within the page cache,
    // so it is the COMMIT that fails, not a statement.
    const big = succeeded(k1, 'x'.repeat(256 << 10));
    const before = store.stats();
    disk.fill();
    const outcomes = await Promise.allSettled([
      store.createTask(newTask(a, { command: 'echo lost' })),
      store.markRunning([k0], Date.now()),
      store.finishJobs([big]),
    ]);
    disk.free();
    for (const o of outcomes) assert.ok(o.status === 'rejected' && FULL(o.reason), JSON.stringify(o));
    assert.deepEqual(store.stats(), before, 'nothing committed');
    const view = await store.getTask(a.tenantKey, first.taskId);
    assert.deepEqual(view?.jobs.map((j) => j.state), ['queued', 'running', 'queued']);
    assert.deepEqual((await store.listTasks(a.tenantKey, 10, null)).tasks.map((x) => x.taskId), [first.taskId]);
    assert.deepEqual((await store.queuedJobs(0, 100)).map((j) => j.jobKey), [k0, first.jobs[2]!.jobKey]);

    // Space back: the same requests go through, in one commit again.
    const [again, moved] = await Promise.all([
      store.createTask(newTask(a, { command: 'echo kept' })),
      store.markRunning([k0], Date.now()),
      store.finishJobs([big]),
    ]);
    assert.equal(store.stats().commits - before.commits, 1);
    assert.deepEqual(moved, [k0]);
    assert.equal((await store.getJobOutput(a.tenantKey, first.taskId, first.jobs[1]!.jobId))?.outputBytes, 256 << 10);
    assert.equal((await store.getTask(a.tenantKey, again.taskId))?.jobs.length, 3);
  } finally {
    await store.close().catch(() => {});
    await disk.close();
  }
});

test('a statement that fails on a full disk (SQLite then rolls the whole transaction back) rejects the batch with that error', async (t) => {
  const disk = await smallDisk(t);
  if (disk === null) return;
  const store: Store = createSqliteStore({ path: join(disk.dir, 'db.sqlite') });
  try {
    await store.open();
    const a = await tenantWithInstances(store, 2);
    const first = await store.createTask(newTask(a));
    const [k0, k1] = first.jobs.map((j) => j.jobKey) as [number, number];
    await store.markRunning([k0], Date.now());
    // 12 MiB of output in one row: more than the page cache holds, so the INSERT itself spills
    // pages to the WAL, which the full disk refuses; SQLite answers by ending the transaction.
    const huge = succeeded(k0, 'z'.repeat(12 << 20));
    const before = store.stats();
    disk.fill();
    const outcomes = await Promise.allSettled([
      store.createTask(newTask(a, { command: 'echo lost' })),
      store.finishJobs([huge]),
      store.markRunning([k1], Date.now()),
    ]);
    disk.free();
    for (const o of outcomes) assert.ok(o.status === 'rejected' && FULL(o.reason), `the disk is full, not: ${o.status === 'rejected' ? String(o.reason) : 'fulfilled'}`);
    assert.deepEqual(store.stats(), before, 'nothing committed');
    assert.deepEqual((await store.getTask(a.tenantKey, first.taskId))?.jobs.map((j) => j.state), ['running', 'queued']);
    assert.equal((await store.listTasks(a.tenantKey, 10, null)).tasks.length, 1);
    // Space back: the next batch goes through.
    assert.deepEqual(await store.markRunning([k1], Date.now()), [k1]);
  } finally {
    await store.close().catch(() => {});
    await disk.close();
  }
});
