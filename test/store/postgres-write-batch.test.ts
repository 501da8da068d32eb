// The PostgreSQL write batch's submits: the common one is a single statement with no savepoint;
// the rest (replays, conflicts, instances not owned) take the full path in the same transaction,
// and a submit the database refuses makes the batch run again with a savepoint per request, so
// that one fails alone and the others commit.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { type StoreError, type Store } from '../../src/store/index.js';
import { freshPostgres, PgOpened, postgresSkipReason } from '../support/postgres.js';
import { newTask, tenantWithInstances } from './conformance/fixtures.js';

const pgs = new PgOpened();
after(() => pgs.close());
const open = async (): Promise<Store> => pgs.store(await freshPostgres());


describe('PostgreSQL write batch', { skip: postgresSkipReason ?? false }, () => {
  test('a submit the database refuses fails alone: the others of its batch commit, with all their jobs', async () => {
    const store = await open();
    const f = await tenantWithInstances(store, 3);
    const commitsBefore = store.stats().commits;
    // One turn: one batch. PostgreSQL refuses a NUL byte in text, a failure no check before it saw.
    const [a, bad, b] = await Promise.allSettled([
      store.createTask(newTask(f, { command: 'echo a' })),
      store.createTask(newTask(f, { command: 'echo \u0000' })),
      store.createTask(newTask(f, { command: 'echo b', requestId: 'r-b', requestHash: 'h' })),
    ]);
    assert.equal(store.stats().commits, commitsBefore + 1, 'one batch, one commit');
    assert.equal(bad.status, 'rejected');
    assert.match(String((bad as PromiseRejectedResult).reason), /0x00/);
    assert.equal(a.status, 'fulfilled');
    assert.equal(b.status, 'fulfilled');
    const listed = (await store.listTasks(f.tenantKey, 10, null)).tasks.map((t) => t.command).sort();
    assert.deepEqual(listed, ['echo a', 'echo b']);
    const queued = (await store.queuedJobs(0, 100)).map((j) => j.jobKey);
    const created = [a, b].flatMap((r) => (r.status === 'fulfilled' ? r.value.jobs.map((j) => j.jobKey) : []));
    assert.deepEqual(queued, created.sort((p, q) => p - q), 'each committed task has all its jobs, and only those');
    // The request id of the committed task is held: a retry replays it.
    const retry = await store.createTask(newTask(f, { command: 'echo b', requestId: 'r-b', requestHash: 'h' }));
    assert.equal(retry.replayed, true);
    assert.equal(retry.taskId, b.status === 'fulfilled' ? b.value.taskId : '');
  });

  test('one batch mixing a new task, its replay, a conflict and an instance not owned answers each as alone', async () => {
    const store = await open();
    const f = await tenantWithInstances(store, 2);
    const other = await tenantWithInstances(store, 1, 'other');
    const [first, replay, conflict, notOwned, plain] = await Promise.allSettled([
      store.createTask(newTask(f, { requestId: 'r1', requestHash: 'h1' })),
      store.createTask(newTask(f, { requestId: 'r1', requestHash: 'h1' })),
      store.createTask(newTask(f, { requestId: 'r1', requestHash: 'h2' })),
      store.createTask(newTask(f, { instanceIds: [f.instanceIds[0]!, other.instanceIds[0]!] })),
      store.createTask(newTask(f, { command: 'echo plain', instanceIds: [f.instanceIds[1]!, f.instanceIds[0]!] })),
    ]);
    assert.equal(first.status, 'fulfilled');
    assert.equal(replay.status, 'fulfilled');
    if (first.status !== 'fulfilled' || replay.status !== 'fulfilled') return;
    assert.equal(first.value.replayed, false);
    assert.equal(replay.value.replayed, true);
    assert.equal(replay.value.taskId, first.value.taskId);
    assert.deepEqual(replay.value.jobs, first.value.jobs);
    assert.equal(conflict.status, 'rejected');
    assert.match(((conflict as PromiseRejectedResult).reason as StoreError).message, /request id r1 was used for another request/);
    assert.equal(notOwned.status, 'rejected');
    const err = (notOwned as PromiseRejectedResult).reason as StoreError;
    assert.equal(err.code, 'INSTANCE_NOT_OWNED');
    assert.match(err.message, new RegExp(`not the tenant's: ${other.instanceIds[0]!}$`));
    assert.equal(plain.status, 'fulfilled');
    if (plain.status !== 'fulfilled') return;
    assert.deepEqual(
      plain.value.jobs.map((j) => j.instanceId),
      [f.instanceIds[1], f.instanceIds[0]],
      'jobs in request order',
    );
    const queued = await store.queuedJobs(0, 100);
    assert.deepEqual(
      queued.map((j) => j.jobKey),
      [...first.value.jobs, ...plain.value.jobs].map((j) => j.jobKey).sort((p, q) => p - q),
      'the new task and the plain one, each once',
    );
  });
});
