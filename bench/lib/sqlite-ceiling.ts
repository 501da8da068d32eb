// The raw SQLite ceiling the submit target is measured against: better-sqlite3 on one thread, no
// HTTP and no store around it, writing what a submit of 100 ids writes, with the statements the
// store uses (idempotency lookup, task row, one multi-row INSERT of its jobs, the task's job range)
// on the service's own schema (the migrations run on a fresh file), group-committed
// TASKS_PER_COMMIT tasks to a transaction at the same synchronous setting.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { newHexId, newHexIds } from '../../src/core/index.js';
import { createSqliteStore } from '../../src/store/index.js';
import { openDatabase, type Synchronous } from '../../src/store/sqlite/db.js';
import { insertJobsSql } from '../../src/store/sqlite/queue.sql.js';
import { TaskSql } from '../../src/store/sqlite/tasks.sql.js';
import { tenantKeyOf } from '../../test/support/index.js';

/** About what one turn of the service's event loop commits under 50 concurrent submits. */
const TASKS_PER_COMMIT = 50;
const WARMUP_MS = 500;

export interface SqliteCeiling {
  tasksPerSecond: number;
  tasks: number;
  seconds: number;
  tasksPerCommit: number;
  jobsPerTask: number;
}

export async function measureSqliteCeiling(opts: { synchronous: Synchronous; seconds: number; jobsPerTask: number }): Promise<SqliteCeiling> {
  const dir = mkdtempSync(join(tmpdir(), 'adbfleet-bench-raw-'));
  const path = join(dir, 'raw.db');
  try {
    // The schema and the tenant and instances the jobs point at, through the store itself.
    const store = createSqliteStore({ path, synchronous: opts.synchronous });
    await store.open();
    const tenant = await store.createTenant('raw');
    const ids = Array.from({ length: opts.jobsPerTask }, (_, i) => `raw-${i}`);
    for (const id of ids) await store.createInstance({ instanceId: id, adbAddress: '127.0.0.1:9', instanceName: id, zone: 'z', tenantId: tenant.tenantId });
    const tenantKey = await tenantKeyOf(store, tenant.tenantId);
    const instanceKeys = (await store.ownedInstances(tenantKey, ids)).map((t) => t.instanceKey);
    await store.close();

    const db = openDatabase(path, opts.synchronous);
    try {
      const n = instanceKeys.length;
      const byRequest = db.prepare(TaskSql.byRequest);
      const insertTask = db.prepare(TaskSql.insert);
      const insertJobs = db.prepare(insertJobsSql(n));
      const setJobFirst = db.prepare(TaskSql.setJobFirst);
      const hash = createHash('sha256').update('echo hello').digest('hex');
      const params = new Array<number | string>(4 * n);
      const commit = db.transaction((count: number) => {
        const now = Date.now();
        for (let t = 0; t < count; t++) {
          const requestId = randomUUID();
          byRequest.get(tenantKey, requestId);
          const taskKey = Number(insertTask.run(newHexId(), tenantKey, 'echo hello', 'async', 300_000, requestId, hash, now, n).lastInsertRowid);
          const jobIds = newHexIds(n);
          for (let i = 0; i < n; i++) {
            params[4 * i] = taskKey;
            params[4 * i + 1] = instanceKeys[i]!;
            params[4 * i + 2] = jobIds[i]!;
            params[4 * i + 3] = now;
          }
          const last = Number(insertJobs.run(...params).lastInsertRowid);
          setJobFirst.run(last - n + 1, taskKey);
        }
      });
      const run = (ms: number): { tasks: number; seconds: number } => {
        const t0 = performance.now();
        let tasks = 0;
        while (performance.now() - t0 < ms) {
          commit.immediate(TASKS_PER_COMMIT);
          tasks += TASKS_PER_COMMIT;
        }
        return { tasks, seconds: (performance.now() - t0) / 1000 };
      };
      run(WARMUP_MS);
      const { tasks, seconds } = run(opts.seconds * 1000);
      return { tasksPerSecond: tasks / seconds, tasks, seconds, tasksPerCommit: TASKS_PER_COMMIT, jobsPerTask: n };
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
