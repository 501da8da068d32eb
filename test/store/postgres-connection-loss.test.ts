// PostgreSQL connections lost under a running store (a server restart, an operator's
// pg_terminate_backend, a network cut): the calls in flight fail, the process lives on, and the
// next calls open new connections.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { createPostgresStore, type Store } from '../../src/store/index.js';
import { until } from '../support/index.js';
import { freshPostgres, postgresSkipReason, type PostgresSchema } from '../support/postgres.js';
import { newTask, tenantWithInstances } from './conformance/fixtures.js';

const opened: Store[] = [];
const clients: pg.Client[] = [];
after(async () => {
  for (const s of opened) await s.close().catch(() => {});
  for (const c of clients) await c.end().catch(() => {});
});

async function openAt(at: PostgresSchema): Promise<Store> {
  const store = createPostgresStore({ url: at.url, schema: at.schema });
  await store.open();
  opened.push(store);
  return store;
}

async function rawClient(at: PostgresSchema): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: at.url, options: `-c search_path=${at.schema}` });
  await c.connect();
  clients.push(c);
  return c;
}

/** Backends of this database other than the caller's that wait on a lock. */
const WAITING = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'";

describe('PostgreSQL store: connections lost', { skip: postgresSkipReason ?? false }, () => {
  test('the write batch loses its connection mid-transaction: its writes fail, nothing of them is stored, the next batch is', async () => {
    const at = await freshPostgres();
    const store = await openAt(at);
    const f = await tenantWithInstances(store, 2);
    // The batch takes its tenants' locks shared: held exclusive here, the batch waits on it with
    // its pooled connection checked out and its transaction open.
    const holder = await rawClient(at);
    await holder.query('BEGIN');
    await holder.query('SELECT pg_advisory_xact_lock(20542, $1::int)', [f.tenantKey]);
    const lost = store.createTask(newTask(f, { command: 'echo lost' }));
    let waiting: number[] = [];
    await until('the batch waits on the tenant lock', async () => (waiting = (await holder.query<{ pid: number }>(WAITING)).rows.map((r) => r.pid)).length === 1);
    await holder.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [waiting]);
    await assert.rejects(lost, /terminat/);
    await holder.query('ROLLBACK');

    const kept = await store.createTask(newTask(f, { command: 'echo kept' }));
    const tasks = (await store.listTasks(f.tenantKey, 10, null)).tasks;
    assert.deepEqual(tasks.map((t) => t.taskId), [kept.taskId]);
  });
});
