// SQLite specifics the generic conformance suite cannot see: constraints in the schema itself,
// migrations under concurrent start-up, the indexes the queue relies on, the idempotency window,
// and the connection settings.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { JOB_STATES, isFinal } from '../../src/core/job-state.js';
import { createSqliteStore, MIGRATIONS, type CreatedTask } from '../../src/store/index.js';
import { ArtifactSql } from '../../src/store/sqlite/artifacts.sql.js';
import { migrate } from '../../src/store/sqlite/migrations.js';
import { QueueSql } from '../../src/store/sqlite/queue.sql.js';
import { TaskSql } from '../../src/store/sqlite/tasks.sql.js';
import { newTask, tenantWithInstances } from './conformance/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'adbfleet-store-schema-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = (): string => join(dir, `s-${++n}.sqlite`);

/** A file store holding one 3-job task; returns the path and the task, store closed. */
async function oneTask(): Promise<{ path: string; task: CreatedTask }> {
  const path = freshPath();
  const store = createSqliteStore({ path });
  await store.open();
  try {
    const f = await tenantWithInstances(store, 3);
    const task = await store.createTask(newTask(f));
    return { path, task };
  } finally {
    await store.close();
  }
}

test('schema: CHECK constraints reject impossible job rows', async () => {
  const { path, task } = await oneTask();
  const db = new Database(path);
  try {
    const key = task.jobs[0]?.jobKey;
    const bad: Array<[string, string]> = [
      ['unknown state', "UPDATE jobs SET state = 'bogus' WHERE id = ?"],
      ['final without finished_at', "UPDATE jobs SET state = 'succeeded', error_code = '0' WHERE id = ?"],
      ['final without error code', "UPDATE jobs SET state = 'failed', finished_at = 1 WHERE id = ?"],
      ['queued with finished_at', 'UPDATE jobs SET finished_at = 1 WHERE id = ?'],
      ['queued with an error code', "UPDATE jobs SET error_code = 'KOOPHONE.JOB.1001' WHERE id = ?"],
      ['running without started_at', "UPDATE jobs SET state = 'running' WHERE id = ?"],
      ['truncated flag not 0/1', 'UPDATE jobs SET output_truncated = 2 WHERE id = ?'],
      ['job_id not text', "UPDATE jobs SET job_id = x'00' WHERE id = ?"],
    ];
    for (const [what, sql] of bad) {
      assert.throws(() => db.prepare(sql).run(key), /CHECK constraint failed|cannot store/, what);
    }
    assert.throws(() => db.prepare("UPDATE tasks SET kind = 'batch'").run(), /CHECK constraint failed/);
    assert.throws(() => db.prepare('UPDATE tasks SET artifact = 999999').run(), /FOREIGN KEY/, 'a task names an upload that exists');
    assert.throws(() => db.prepare('INSERT INTO job_artifacts (job, sha256, size, content_type) VALUES (?, ?, 1, ?)').run(key, 'ab', 'x'), /CHECK/);
    assert.throws(() => db.prepare('UPDATE jobs SET instance = 999999 WHERE id = ?').run(key), /FOREIGN KEY/);
    // every state of core's state machine is storable, with the fields its finality requires
    for (const state of JOB_STATES) {
      const final = isFinal(state);
      db.prepare('UPDATE jobs SET state = ?, started_at = ?, finished_at = ?, error_code = ? WHERE id = ?').run(
        state,
        5,
        final ? 6 : null,
        final ? 'X' : '',
        key,
      );
    }
  } finally {
    db.close();
  }
});

test('migrations: three processes opening a new database at once apply each migration once', { timeout: 120_000 }, async () => {
  const path = freshPath();
  const child = join(import.meta.dirname, 'store-child.ts');
  const codes = await Promise.all(
    [1, 2, 3].map(
      () =>
        new Promise<number | null>((resolve, reject) => {
          const p = spawn(process.execPath, ['--import', 'tsx', child, 'open', path], { stdio: ['ignore', 'ignore', 'inherit'] });
          p.once('error', reject);
          p.once('exit', (code) => resolve(code));
        }),
    ),
  );
  assert.deepEqual(codes, [0, 0, 0]);
  // and reopening in this process applies nothing more
  const store = createSqliteStore({ path });
  await store.open();
  await store.close();
  const db = new Database(path, { readonly: true });
  try {
    const rows = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as Array<{ version: number }>;
    assert.deepEqual(rows.map((r) => r.version), MIGRATIONS.map((m) => m.version));
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  } finally {
    db.close();
  }
});

test('indexes: the queue reads through its partial indexes, a task\'s jobs through the key range', async () => {
  const { path } = await oneTask();
  const db = new Database(path, { readonly: true });
  try {
    const plan = (sql: string, ...params: unknown[]): string =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>).map((r) => r.detail).join(' | ');
    assert.match(plan(QueueSql.queued, 0, 10), /jobs_queued/);
    // a refill by keys: one rowid lookup each, no scan of the queue
    const byKeys = plan(QueueSql.queuedIn, '[1,2,3]');
    assert.match(byKeys, /SEARCH j USING INTEGER PRIMARY KEY \(rowid=\?\)/);
    assert.doesNotMatch(byKeys, /SCAN j\b/);
    assert.match(plan(QueueSql.runningOfTask, 1, 3, 1), /jobs_running|INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)/);
    assert.match(plan(TaskSql.jobViews, 1, 3), /SEARCH j USING INTEGER PRIMARY KEY \(rowid>\? AND rowid<\?\)/);
    assert.match(plan(TaskSql.listPage, 1, 100, 10), /tasks_tenant/);
    assert.match(plan(QueueSql.purgeCandidates, 0, 10), /tasks_created/);
    // artifacts: the purge finds tasks naming an upload by tasks_artifact, the sweep's question is
    // answered by the sha256 indexes, an upload is found by its id
    assert.match(plan(ArtifactSql.purge, 0, 10), /tasks_artifact/);
    const referenced = plan(ArtifactSql.referenced, '["ab"]');
    assert.match(referenced, /artifacts_blob/);
    assert.match(referenced, /job_artifacts_blob/);
    assert.match(plan(ArtifactSql.byId, 'x', 1), /sqlite_autoindex_artifacts_1/);
    assert.match(plan(TaskSql.jobArtifact, 'x', 1, 'y'), /SEARCH a USING INTEGER PRIMARY KEY \(rowid=\?\)/);
    // no index on jobs other than the two partial ones
    const idx = db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs' AND sql IS NOT NULL ORDER BY name").all();
    assert.deepEqual(idx, [{ name: 'jobs_queued' }, { name: 'jobs_running' }]);
  } finally {
    db.close();
  }
});

test('idempotency: a request id older than 24 h makes a new task', async () => {
  let now = Date.UTC(2026, 0, 1);
  const store = createSqliteStore({ path: ':memory:', clock: () => now });
  await store.open();
  try {
    const f = await tenantWithInstances(store, 2);
    const first = await store.createTask(newTask(f, { requestId: 'r', requestHash: 'h' }));
    now += 24 * 3600 * 1000;
    const within = await store.createTask(newTask(f, { requestId: 'r', requestHash: 'h' }));
    assert.equal(within.taskId, first.taskId, 'exactly 24 h is still within the window');
    now += 1;
    const later = await store.createTask(newTask(f, { requestId: 'r', requestHash: 'other body' }));
    assert.notEqual(later.taskId, first.taskId);
    assert.equal(later.replayed, false);
    // the new task now owns the request id
    const replay = await store.createTask(newTask(f, { requestId: 'r', requestHash: 'other body' }));
    assert.equal(replay.taskId, later.taskId);
    assert.ok(await store.getTask(f.tenantKey, first.taskId), 'the old task itself is kept');
  } finally {
    await store.close();
  }
});

test('options: synchronous NORMAL is accepted, anything else refused; a closed store refuses calls', async () => {
  const path = freshPath();
  const normal = createSqliteStore({ path, synchronous: 'NORMAL' });
  await normal.open();
  await normal.ping();
  await normal.close();
  // @ts-expect-error: checked at run time too
  const bad = createSqliteStore({ path, synchronous: 'OFF' });
  await assert.rejects(bad.open(), RangeError);
  await assert.rejects(normal.ping(), /not open/);
});

test('close waits for createTask calls already submitted', async () => {
  const path = freshPath();
  let store = createSqliteStore({ path });
  await store.open();
  const f = await tenantWithInstances(store, 2);
  const pending = store.createTask(newTask(f));
  await store.close();
  const t = await pending;
  store = createSqliteStore({ path });
  await store.open();
  try {
    assert.ok(await store.getTask(f.tenantKey, t.taskId));
  } finally {
    await store.close();
  }
});

test('migration 4 on a database with tasks: they read as shell commands, and operations can be added', async () => {
  const path = freshPath();
  const db = new Database(path);
  try {
    migrate(db, MIGRATIONS.filter((m) => m.version <= 3));
    db.exec(`INSERT INTO tenants (id, tenant_id, name, created_at) VALUES (1, 't_old', 'old', 1);
      INSERT INTO instances (id, instance_id, adb_address, instance_name, zone, tenant, created_at) VALUES (1, 'i-old', '127.0.0.1:5555', 'old', 'z', 1, 1);
      INSERT INTO tasks (id, task_id, tenant, command, kind, timeout_ms, created_at, job_first, job_count)
        VALUES (1, '${'a'.repeat(32)}', 1, 'echo old', 'async', 1000, 1, 1, 1);
      INSERT INTO jobs (id, task, instance, job_id, created_at) VALUES (1, 1, 1, '${'b'.repeat(32)}', 1);`);
  } finally {
    db.close();
  }
  const store = createSqliteStore({ path });
  await store.open();
  try {
    const old = await store.getTask(1, 'a'.repeat(32));
    assert.equal(old?.command, 'echo old');
    assert.equal(old?.op, null);
    assert.deepEqual((await store.queuedJobs(0, 10)).map((j) => [j.jobKey, j.op]), [[1, null]]);
    const t = await store.createTask({ tenantKey: 1, command: 'screenshot', op: { kind: 'screenshot' }, timeoutMs: 1000, kind: 'async', instanceIds: ['i-old'] });
    assert.deepEqual((await store.getTask(1, t.taskId))?.op, { kind: 'screenshot' });
  } finally {
    await store.close();
  }
});
