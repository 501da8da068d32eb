// The conformance suite against PostgreSQL (each test in a schema of its own, with the reopen
// tests), and what only PostgreSQL has: several processes on one database. Two Store objects on
// one schema are two "nodes" (two pools, two LISTEN connections).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import { newHexId, type TaskOp } from '../../src/core/index.js';
import { createPostgresStore, POSTGRES_MIGRATIONS, StoreError, type Artifact, type QueuedJob, type Store } from '../../src/store/index.js';
import { TaskSql } from '../../src/store/postgres/tasks.sql.js';
import { freshPostgres, postgresSkipReason, type PostgresSchema } from '../support/postgres.js';
import { until } from '../support/index.js';
import { storeConformance } from './conformance.js';
import { newTask, succeeded, tenantWithInstances } from './conformance/fixtures.js';

const where = new WeakMap<Store, PostgresSchema>();
const opened: Store[] = [];
after(async () => {
  for (const s of opened) await s.close();
});

async function openAt(at: PostgresSchema): Promise<Store> {
  const store = createPostgresStore({ url: at.url, schema: at.schema });
  await store.open();
  where.set(store, at);
  return store;
}

/** A second store on the same schema: another node. Closed at the end. */
async function node(at: PostgresSchema): Promise<Store> {
  const store = await openAt(at);
  opened.push(store);
  return store;
}

const blob = (s: string) => ({ sha256: createHash('sha256').update(s).digest('hex'), size: s.length, contentType: 'application/octet-stream' });
const pushOf = (a: Artifact): TaskOp => ({ kind: 'push', artifact: { artifactId: a.artifactId, sha256: a.sha256, size: a.size }, path: '/sdcard/f', mode: 0o644 });

async function rawClient(at: PostgresSchema): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: at.url, options: `-c search_path=${at.schema}` });
  await c.connect();
  return c;
}

describe('PostgreSQL store', { skip: postgresSkipReason ?? false }, () => {
  storeConformance('postgres', async () => openAt(await freshPostgres()), {
    reopen: async (store) => {
      const at = where.get(store);
      if (at === undefined) throw new Error('unknown store');
      await store.close();
      return openAt(at);
    },
  });

  test('migrations: three stores opening a fresh schema at once apply each migration once', async () => {
    const at = await freshPostgres();
    const stores = await Promise.all([0, 1, 2].map(() => node(at)));
    const c = await rawClient(at);
    try {
      const rows = (await c.query('SELECT version FROM schema_migrations ORDER BY version')).rows as Array<{ version: number }>;
      assert.deepEqual(rows.map((r) => r.version), POSTGRES_MIGRATIONS.map((m) => m.version));
      assert.equal((await c.query("SELECT 1 FROM store_meta WHERE key = 'id'")).rowCount, 1);
    } finally {
      await c.end();
    }
    for (const s of stores) await s.ping();
  });

  test('idempotency across nodes: 20 concurrent retries on 2 nodes make one task, and all 20 answers are it', async () => {
    const at = await freshPostgres();
    const [a, b] = [await node(at), await node(at)];
    const f = await tenantWithInstances(a, 3);
    const tasks = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).createTask(newTask(f, { requestId: 'same', requestHash: 'h' }))),
    );
    assert.equal(new Set(tasks.map((t) => t.taskId)).size, 1);
    assert.equal(tasks.filter((t) => !t.replayed).length, 1);
    for (const t of tasks) assert.deepEqual(t.jobs, tasks[0]!.jobs);
    assert.equal((await b.listTasks(f.tenantKey, 100, null)).tasks.length, 1);
    assert.equal((await a.queuedJobs(0, 1000)).length, 3);
    await assert.rejects(b.createTask(newTask(f, { requestId: 'same', requestHash: 'other' })), /request id same/);
  });

  test('the queue read never passes a key whose transaction commits later', async () => {
    const at = await freshPostgres();
    const [a, b] = [await node(at), await node(at)];
    const f = await tenantWithInstances(a, 2);
    // A job running on node a, whose row the test locks: a's next batch waits on it.
    const first = await a.createTask(newTask(f));
    const held = first.jobs[0]!.jobKey;
    await a.markRunning([held], Date.now());
    const seen: QueuedJob[] = [];
    let cursor = 0;
    const readOn = async (): Promise<void> => {
      for (;;) {
        const page = await b.queuedJobs(cursor, 3);
        if (page.length === 0) return;
        seen.push(...page);
        cursor = page.at(-1)!.jobKey;
      }
    };
    await readOn();
    const lock = await rawClient(at);
    try {
      await lock.query('BEGIN');
      await lock.query('SELECT id FROM jobs WHERE id = $1 FOR UPDATE', [held]);
      // One batch on a: the task takes its keys, then the result waits for the row lock.
      const x = a.createTask(newTask(f, { command: 'echo x' }));
      const finished = a.finishJobs([succeeded(held, 'done')]);
      await until('node a waiting on the row lock', async () => (await lock.query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'")).rowCount === 1);
      // Node b commits a task with later keys meanwhile.
      const y = await b.createTask(newTask(f, { command: 'echo y' }));
      await readOn();
      const yKeys = y.jobs.map((j) => j.jobKey);
      assert.ok(!seen.some((j) => yKeys.includes(j.jobKey)), 'jobs past an uncommitted allocation are not handed out yet');
      await lock.query('COMMIT');
      const xTask = await x;
      await finished;
      await readOn();
      const want = [...first.jobs.slice(1), ...xTask.jobs, ...y.jobs].map((j) => j.jobKey).sort((p, q) => p - q);
      assert.deepEqual(seen.map((j) => j.jobKey), want, 'every job handed out once, in key order');
    } finally {
      await lock.end();
    }
  });

  test('the queue read never passes a key allocated by the newest transaction still in flight', async () => {
    // A snapshot's xmax is the newest finished transaction id + 1, so a writer whose id is above
    // it is in no snapshot's list of running ones: xmin = xmax there does not mean nothing is in
    // flight. Here z takes its id, then w; w allocates keys, then z (later keys), and z commits.
    const at = await freshPostgres();
    const reader = await node(at);
    const f = await tenantWithInstances(reader, 1);
    const [z, w] = [await rawClient(at), await rawClient(at)];
    try {
      const instance = Number((await z.query('SELECT id FROM instances WHERE instance_id = $1', [f.instanceIds[0]])).rows[0].id);
      const insert = async (c: pg.Client, command: string): Promise<number> => {
        const params = [newHexId(), f.tenantKey, command, 'async', 300_000, null, null, Date.now(), [instance], [newHexId()], null, null];
        return Number((await c.query(TaskSql.insert, params)).rows[0].jobFirst);
      };
      // As the write batch does (TxSql.assignXid): a transaction id before any key.
      for (const c of [z, w]) {
        await c.query('BEGIN');
        await c.query('SELECT pg_current_xact_id()');
      }
      const wKey = await insert(w, 'echo w');
      const zKey = await insert(z, 'echo z');
      await z.query('COMMIT');
      assert.deepEqual(await reader.queuedJobs(0, 10), [], "z's job waits for w's keys to settle: handed out now, w's would be passed");
      await w.query('COMMIT');
      assert.deepEqual((await reader.queuedJobs(0, 10)).map((j) => j.jobKey), [wKey, zKey]);
    } finally {
      await z.end();
      await w.end();
    }
  });

  test('change feed across nodes: queued, task changed, cancelled and instances changed reach the other node', async () => {
    const at = await freshPostgres();
    const [a, b] = [await node(at), await node(at)];
    const f = await tenantWithInstances(a, 2);
    const queued: number[] = [];
    const cancelled: number[][] = [];
    const instances: string[][] = [];
    b.changes.onQueued((k) => queued.push(k));
    b.changes.onCancelled((c) => cancelled.push([...c.queued]));
    b.changes.onInstancesChanged((c) => instances.push([...c.instanceIds]));
    const t = await a.createTask(newTask(f));
    await until('the queued notice', () => queued.includes(t.jobs.at(-1)!.jobKey));
    let changed = 0;
    b.changes.onTaskChanged(t.taskKey, () => changed++);
    await a.markRunning([t.jobs[0]!.jobKey], Date.now());
    await until('the task-changed notice', () => changed > 0);
    await a.cancelTask(f.tenantKey, t.taskId, Date.now());
    await until('the cancelled notice', () => cancelled.some((c) => c.includes(t.jobs[1]!.jobKey)));
    await a.createInstance({ instanceId: 'fresh', adbAddress: '127.0.0.1:6000', instanceName: 'n', zone: 'z', tenantId: null });
    await until('the instances-changed notice', () => instances.some((i) => i.includes('fresh')));
  });

  test('leadership: one node leads retention at a time; the lead passes on when its connection ends', async () => {
    const at = await freshPostgres();
    const [a, b] = [await node(at), await node(at)];
    assert.equal(await a.tryLead('retention'), true);
    assert.equal(await a.tryLead('retention'), true, 'kept');
    assert.equal(await b.tryLead('retention'), false);
    // Another deployment (schema) on the same database has a lead of its own.
    const other = await node(await freshPostgres());
    assert.equal(await other.tryLead('retention'), true);
    // a's lock connection dies (its host went away): b leads at its next try.
    const c = await rawClient(at);
    try {
      await c.query(
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND classid = 20543 AND pid <> pg_backend_pid() AND granted",
      );
    } finally {
      await c.end();
    }
    await until('b leads', () => b.tryLead('retention'));
    assert.equal(await a.tryLead('retention'), false, 'a lost it');
    await b.close();
    await until('a leads again once b closed', () => a.tryLead('retention'));
  });

  test('a dropped LISTEN connection is reopened: read as if every notice had come, then notices flow again', async () => {
    const at = await freshPostgres();
    const [a, b] = [await node(at), await node(at)];
    const f = await tenantWithInstances(a, 1);
    const queued: number[] = [];
    b.changes.onQueued((k) => queued.push(k));
    const c = await rawClient(at);
    const listeners = async (): Promise<number[]> =>
      ((await c.query("SELECT pid FROM pg_stat_activity WHERE query = $1", [`LISTEN "adbfleet:${at.schema}"`])).rows as Array<{ pid: number }>).map((r) => r.pid);
    try {
      await until('both nodes listen', async () => (await listeners()).length === 2);
      const before = await listeners();
      await c.query('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid', [before]);
      // Committed while nobody listens: its notice is lost, and the reopened connection makes up for it.
      const lost = await a.createTask(newTask(f));
      await until('b reads again after reopening', () => queued.some((k) => k >= lost.jobs[0]!.jobKey));
      await until('both listen again, on new connections', async () => {
        const now = await listeners();
        return now.length === 2 && now.every((p) => !before.includes(p));
      });
      const next = await a.createTask(newTask(f));
      await until('a notice of the new connection', () => queued.includes(next.jobs.at(-1)!.jobKey));
    } finally {
      await c.end();
    }
  });

  test('two nodes writing the same request ids in opposite order never deadlock: every submit answers', async () => {
    const at = await freshPostgres();
    const [a, b] = [await node(at), await node(at)];
    const f = await tenantWithInstances(a, 1);
    for (let round = 0; round < 30; round++) {
      const ids = [`r${round}-x`, `r${round}-y`, `r${round}-z`];
      // Same turn on each node: one batch each, the ids in opposite orders.
      const onA = ids.map((id) => a.createTask(newTask(f, { requestId: id, requestHash: 'h' })));
      const onB = [...ids].reverse().map((id) => b.createTask(newTask(f, { requestId: id, requestHash: 'h' })));
      const all = await Promise.allSettled([...onA, ...onB]);
      const failed = all.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
      assert.deepEqual(failed, [], `round ${round}`);
      const byId = new Map<string, Set<string>>();
      for (const [i, r] of all.entries()) {
        const id = i < 3 ? ids[i]! : [...ids].reverse()[i - 3]!;
        byId.set(id, (byId.get(id) ?? new Set()).add((r as PromiseFulfilledResult<{ taskId: string }>).value.taskId));
      }
      for (const [id, tasks] of byId) assert.equal(tasks.size, 1, `${id}: one task`);
    }
  });

  test('two nodes naming the same uploads in opposite order never deadlock: every submit answers', async () => {
    const at = await freshPostgres();
    const [a, b] = [await node(at), await node(at)];
    const f = await tenantWithInstances(a, 1);
    const uploads = await Promise.all(['x', 'y', 'z'].map((s) => a.putArtifact(f.tenantKey, blob(s), Date.now())));
    const ops = uploads.map((u) => pushOf(u));
    for (let round = 0; round < 30; round++) {
      // Same turn on each node: one batch each, naming the uploads in opposite orders.
      const onA = ops.map((op) => a.createTask(newTask(f, { command: 'push', op })));
      const onB = [...ops].reverse().map((op) => b.createTask(newTask(f, { command: 'push', op })));
      const failed = (await Promise.allSettled([...onA, ...onB])).filter((r) => r.status === 'rejected').map((r) => String(r.reason));
      assert.deepEqual(failed, [], `round ${round}`);
    }
  });

  test('an upload purged on one node while another names it in a task: kept with the task, or refused NO_ARTIFACT and gone', async () => {
    const at = await freshPostgres();
    const [a, b] = [await node(at), await node(at)];
    const f = await tenantWithInstances(a, 1);
    const seen = { kept: 0, refused: 0 };
    for (let round = 0; round < 30; round++) {
      const upload = await a.putArtifact(f.tenantKey, blob(`race ${round}`), 1);
      // A cut-off past now: only a task naming it keeps the upload.
      const [created, purged] = await Promise.allSettled([
        a.createTask(newTask(f, { command: 'push', op: pushOf(upload) })),
        new Promise((r) => setTimeout(r, round % 4)).then(() => b.purgeArtifacts(Date.now() + 60_000, 10)),
      ]);
      assert.equal(purged.status, 'fulfilled', `round ${round}: ${String((purged as PromiseRejectedResult).reason)}`);
      const still = await a.getArtifact(f.tenantKey, upload.artifactId);
      if (created.status === 'fulfilled') {
        assert.ok(still, `round ${round}: the task names it, it stays`);
        seen.kept++;
      } else {
        assert.ok(created.reason instanceof StoreError && created.reason.code === 'NO_ARTIFACT', `round ${round}: ${String(created.reason)}`);
        assert.equal(still, null, `round ${round}: refused, it is gone`);
        seen.refused++;
      }
    }
    assert.equal(seen.kept + seen.refused, 30);
  });

  test('an ownership change on one node racing submits on another: no queued job of the old owner survives on the instance', async () => {
    const at = await freshPostgres();
    const [a, b] = [await node(at), await node(at)];
    for (let round = 0; round < 5; round++) {
      const f = await tenantWithInstances(a, 2);
      const other = await a.createTenant('other');
      const moved = f.instanceIds[0]!;
      const submits = Array.from({ length: 30 }, (_, i) =>
        new Promise<void>((r) => setTimeout(r, i % 10)).then(() => a.createTask(newTask(f, { command: `echo ${i}` }))),
      );
      await new Promise((r) => setTimeout(r, 4));
      await b.assignInstance(moved, other.tenantId);
      const results = await Promise.allSettled(submits);
      for (const r of results) {
        if (r.status === 'rejected') assert.match(String(r.reason), new RegExp(moved), 'refused only for the instance that moved');
      }
      const left = (await b.queuedJobs(0, 100_000)).filter((j) => j.instanceId === moved && j.tenantKey === f.tenantKey);
      assert.deepEqual(left, [], `round ${round}: the old owner's jobs on ${moved} were cancelled or never written`);
    }
  });
});
