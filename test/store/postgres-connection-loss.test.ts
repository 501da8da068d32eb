// PostgreSQL connections lost under a running store (a server restart, an operator's
// pg_terminate_backend, a network cut): the calls in flight fail, the process lives on, and the
// next calls open new connections.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { until } from '../support/index.js';
import { commitCutter, type CommitCutter } from '../support/commit-cutter.js';
import { freshPostgres, PgOpened, postgresSkipReason } from '../support/postgres.js';
import { newTask, succeeded, tenantWithInstances } from './conformance/fixtures.js';

const pgs = new PgOpened();
const cutters: CommitCutter[] = [];
after(async () => {
  await pgs.close();
  for (const c of cutters) c.close();
});

async function cutterTo(url: string): Promise<CommitCutter> {
  const c = await commitCutter(url);
  cutters.push(c);
  return c;
}



/** Backends of this database other than the caller's that wait on a lock. */
const WAITING = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'";

describe('PostgreSQL store: connections lost', { skip: postgresSkipReason ?? false }, () => {
  test('the write batch loses its connection mid-transaction: its writes fail, nothing of them is stored, the next batch is', async () => {
    const at = await freshPostgres();
    const store = await pgs.store(at);
    const f = await tenantWithInstances(store, 2);
    // The batch takes its tenants' locks shared: held exclusive here, the batch waits on it with
    // its pooled connection checked out and its transaction open.
    const holder = await pgs.client(at);
    await holder.query('BEGIN');
    await holder.query('SELECT pg_advisory_xact_lock(20542, $1::int)', [f.tenantKey]);
    const lost = store.createTask(newTask(f, { command: 'echo lost' }));
    let waiting: number[] = [];
    await until('the batch waits on the tenant lock', async () => (waiting = (await holder.query<{ pid: number }>(WAITING)).rows.map((r) => r.pid)).length === 1);
    // Expected before the backend is ended: the batch may fail before the holder hears back, and a
    // rejection nobody waits for yet fails the test on its own.
    const refused = assert.rejects(lost, /terminat/);
    await holder.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [waiting]);
    await refused;
    await holder.query('ROLLBACK');

    const kept = await store.createTask(newTask(f, { command: 'echo kept' }));
    const tasks = (await store.listTasks(f.tenantKey, 10, null)).tasks;
    assert.deepEqual(tasks.map((t) => t.taskId), [kept.taskId]);
  });

  test('a COMMIT cut off after it took effect: the batch asks the server and reports it committed (a task, a start, a result)', async () => {
    const at = await freshPostgres();
    const cutter = await cutterTo(at.url);
    const store = await pgs.store({ url: cutter.url, schema: at.schema });
    const f = await tenantWithInstances(store, 2);

    cutter.arm('after');
    const created = await store.createTask(newTask(f));
    assert.equal(cutter.cuts(), 1);
    assert.deepEqual((await store.listTasks(f.tenantKey, 10, null)).tasks.map((t) => t.taskId), [created.taskId]);
    // A start reported failed though committed would be retried, find its jobs running, and leave
    // them so for good, never sent.
    const keys = created.jobs.map((j) => j.jobKey);
    cutter.arm('after');
    assert.deepEqual(await store.markRunning(keys, Date.now()), keys);
    assert.equal(cutter.cuts(), 2);
    cutter.arm('after');
    await store.finishJobs(keys.map((k) => succeeded(k, 'ok')));
    assert.equal(cutter.cuts(), 3);
    const view = await store.getTask(f.tenantKey, created.taskId);
    assert.deepEqual(view?.jobs.map((j) => j.state), ['succeeded', 'succeeded']);
  });

  test('a COMMIT lost on the way, its backend left in the transaction: the batch ends that backend and fails, it does not hang', async () => {
    const at = await freshPostgres();
    const cutter = await cutterTo(at.url);
    const store = await pgs.store({ url: cutter.url, schema: at.schema });
    const f = await tenantWithInstances(store, 1);
    cutter.arm('lost');
    await assert.rejects(store.createTask(newTask(f, { command: 'echo lost' })), /Connection terminated/);
    assert.equal(cutter.cuts(), 1);
    assert.deepEqual((await store.listTasks(f.tenantKey, 10, null)).tasks, []);
    // Left open, that transaction would hold back the queue's read horizon (queue-horizon.ts).
    const raw = await pgs.client(at);
    await until('the backend ended', async () => (await raw.query("SELECT 1 FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'")).rowCount === 0);
    const kept = await store.createTask(newTask(f, { command: 'echo kept' }));
    assert.deepEqual((await store.listTasks(f.tenantKey, 10, null)).tasks.map((t) => t.taskId), [kept.taskId]);
  });
});
