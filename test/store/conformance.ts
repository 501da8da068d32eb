// The Store conformance suite (River's riverdrivertest, for adbfleet): every implementation,
// SQLite now and PostgreSQL later, must pass it unchanged.
//
//   storeConformance('sqlite file', () => makeFresh(), { reopen })
//
// makeStore returns a new, empty, opened store; the suite closes it. With `reopen` (close the
// store and open a new one on the same database), the durability tests run too.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { StoreError, type Store } from '../../src/store/index.js';
import { adminTests } from './conformance/admin.js';
import { auditEntry, auditTests } from './conformance/audit.js';
import { newTask, succeeded, tenantWithInstances, type MakeStore } from './conformance/fixtures.js';
import { operationTests } from './conformance/operations.js';
import { queueTests } from './conformance/queue.js';
import { taskTests } from './conformance/tasks.js';

export interface ConformanceOptions {
  /** closes `store` and opens a new Store on the same database */
  reopen?: (store: Store) => Promise<Store>;
}

export function storeConformance(name: string, makeStore: MakeStore, options: ConformanceOptions = {}): void {
  describe(`Store conformance: ${name}`, () => {
    test('open is idempotent and ping answers', async () => {
      const store = await makeStore();
      try {
        await store.open();
        await store.ping();
      } finally {
        await store.close();
      }
    });
    test('a closed store refuses every call with CLOSED, createTask by rejecting', async () => {
      const store = await makeStore();
      const f = await tenantWithInstances(store, 1);
      await store.close();
      const closed = (e: unknown) => e instanceof StoreError && e.code === 'CLOSED';
      const task = store.createTask(newTask(f));
      assert.ok(task instanceof Promise, 'no synchronous throw');
      await assert.rejects(task, closed);
      await assert.rejects(store.ping(), closed);
      await assert.rejects(store.getTask(f.tenantKey, 'x'), closed);
      await assert.rejects(store.ownedInstances(f.tenantKey, f.instanceIds), closed);
      await assert.rejects(store.addToken(f.tenantId, Buffer.alloc(32), 'p'), closed);
      await assert.rejects(store.markRunning([1], Date.now()), closed);
      await assert.rejects(store.finishJobs([succeeded(1, 'x')]), closed);
      await assert.rejects(store.purgeTasks(Date.now(), 10), closed);
      const audit = store.appendAudit(auditEntry(Date.now()));
      assert.ok(audit instanceof Promise, 'no synchronous throw');
      await assert.rejects(audit, closed);
      await assert.rejects(store.listAudit({}, 10, null), closed);
      await assert.rejects(store.purgeAudit(Date.now(), 10), closed);
    });
    adminTests(makeStore);
    taskTests(makeStore);
    queueTests(makeStore);
    auditTests(makeStore);
    operationTests(makeStore);
    const reopen = options.reopen;
    if (reopen !== undefined) durabilityTests(makeStore, reopen);
  });
}

function durabilityTests(makeStore: MakeStore, reopen: (store: Store) => Promise<Store>): void {
  test('durability: everything written is there after close and reopen (migrations re-run as no-ops)', async () => {
    let store = await makeStore();
    try {
      const a = await tenantWithInstances(store, 3);
      const tasks = (await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.createTask(newTask(a, { requestId: `r${i}`, requestHash: 'h' }))),
      ));
      const k = tasks[0]?.jobs[0]?.jobKey as number;
      await store.markRunning([k], Date.now());
      await store.finishJobs([succeeded(k, 'kept')]);
      await store.revokeToken(a.tenantId, 'nonexistent');
      const entry = auditEntry(Date.now(), { requestId: 'kept' });
      await store.appendAudit(entry);

      store = await reopen(store);
      await store.ping();
      for (const t of tasks) {
        const v = await store.getTask(a.tenantKey, t.taskId);
        assert.deepEqual(v?.jobs.map((j) => j.jobId), t.jobs.map((j) => j.jobId));
      }
      const out = await store.getJobOutput(a.tenantKey, tasks[0]?.taskId as string, tasks[0]?.jobs[0]?.jobId as string);
      assert.equal(out?.stdout.toString(), 'kept');
      assert.equal((await store.listInstances()).length, 3);
      assert.deepEqual(
        (await store.ownedInstances(a.tenantKey, a.instanceIds)).map((t) => t.instanceId),
        a.instanceIds,
        'ownership is known after a restart',
      );
      assert.ok(await store.getTenant(a.tenantId));
      assert.deepEqual((await store.listAudit({ requestId: 'kept' }, 10, null)).entries.map(({ id: _id, ...rest }) => rest), [entry]);
      // idempotency survives a restart
      const replay = await store.createTask(newTask(a, { requestId: 'r3', requestHash: 'h' }));
      assert.equal(replay.taskId, tasks[3]?.taskId);
      assert.equal(replay.replayed, true);
    } finally {
      await store.close();
    }
  });
}
