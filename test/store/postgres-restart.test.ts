// The PostgreSQL server crashing under a running store (`pg_ctl restart -m immediate`, this test
// process's own cluster): what the store had seen before must still hold after.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { until } from '../support/index.js';
import { commitCutter, type CommitCutter } from '../support/commit-cutter.js';
import { freshPostgres, PgOpened, postgresSkipReason, restartCluster, type PostgresSchema } from '../support/postgres.js';
import { newTask, tenantWithInstances } from './conformance/fixtures.js';

const pgs = new PgOpened();
const cutters: CommitCutter[] = [];
after(async () => {
  await pgs.close();
  for (const c of cutters) c.close();
});



/** WAL that no commit flushed stays in memory until a crash loses it (the WAL writer and the
 * background writer would write it out within a fraction of a second). For this process's cluster. */
let walHeld = false;
async function holdWal(at: PostgresSchema): Promise<void> {
  if (walHeld) return;
  walHeld = true;
  const c = await pgs.client(at, { crashes: true });
  await c.query("ALTER SYSTEM SET wal_writer_delay = '10s'");
  await c.query('ALTER SYSTEM SET bgwriter_lru_maxpages = 0');
  await c.query('SELECT pg_reload_conf()');
}

describe('PostgreSQL store: the server crashes', { skip: postgresSkipReason ?? false }, () => {
  test("job keys a crash hands out again: a leased reader's cursor never passes them, their jobs are read", async () => {
    const at = await freshPostgres();
    const raw = () => pgs.client(at, { crashes: true });
    await holdWal(at);
    const store = await pgs.store(at);
    const f = await tenantWithInstances(store, 1);
    const leases = store.joinAsWorker({ workerId: 'w', zones: null, leaseMs: 600_000 });
    assert.ok(leases !== null);
    await leases.round(Date.now());
    const first = await store.createTask(newTask(f, { command: 'echo first' }));
    let cursor = 0;
    const read = async (): Promise<number[]> => {
      const r = await leases.readQueue(cursor, 100);
      cursor = r.scannedTo;
      return r.jobs.map((j) => j.jobKey);
    };
    assert.deepEqual(await read(), first.jobs.map((j) => j.jobKey));

    // A submit takes keys (past the sequence's last logged range, so it logs a new one) and has
    // not committed when the server crashes; the reader saw them taken.
    const doomed = await raw();
    await doomed.query('BEGIN');
    const taken = (await doomed.query<{ key: string }>("SELECT max(nextval('job_keys')) AS key FROM generate_series(1, 40)")).rows[0]!.key;
    assert.deepEqual(await read(), []);
    await restartCluster();

    // After the restart: reads (the rounds' writes move the transaction ids on), then a submit.
    for (let i = 0; i < 5; i++) {
      await until('the store reaches the restarted server', async () => {
        try {
          await leases.round(Date.now());
          return (await read()).length === 0;
        } catch {
          return false;
        }
      });
    }
    const next = await store.createTask(newTask(f, { command: 'echo next' }));
    assert.ok(next.jobs[0]!.jobKey <= Number(taken), `the crash gave out again keys taken before it (${next.jobs[0]!.jobKey}, had ${taken})`);
    let seen: number[] = [];
    await until(
      () => `the job submitted after the restart read (key ${next.jobs[0]!.jobKey}; the cursor at ${cursor})`,
      async () => (seen = [...seen, ...(await read())]).length > 0,
      5_000,
    );
    assert.deepEqual(seen, next.jobs.map((j) => j.jobKey));
  });

  test('a COMMIT cut off by a crash that lost it: the batch fails, though the server hands its transaction id out again', async () => {
    const at = await freshPostgres();
    await holdWal(at);
    const cutter = await commitCutter(at.url);
    cutters.push(cutter);
    const store = await pgs.store({ url: cutter.url, schema: at.schema });
    const f = await tenantWithInstances(store, 1);
    // The submit's COMMIT never reaches the server, which the store cannot reach until it restarted.
    cutter.arm('down');
    const lost = store.createTask(newTask(f, { command: 'echo lost' }));
    lost.catch(() => {});
    await until('the COMMIT cut off', () => cutter.cuts() === 1);
    await restartCluster();
    // Transactions after the restart take the ids the lost ones had (their WAL never reached disk).
    const other = await pgs.client(at, { crashes: true });
    for (let i = 0; i < 20; i++) await other.query("UPDATE store_meta SET value = value WHERE key = 'id'");
    cutter.up();
    await assert.rejects(lost, /Connection terminated/);
    assert.deepEqual((await store.listTasks(f.tenantKey, 10, null)).tasks, []);
    const kept = await store.createTask(newTask(f, { command: 'echo kept' }));
    assert.deepEqual((await store.listTasks(f.tenantKey, 10, null)).tasks.map((t) => t.taskId), [kept.taskId]);
  });
});
