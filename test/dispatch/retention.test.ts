import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobCode } from '../../src/core/job-state.js';
import { createRetentionPurger } from '../../src/dispatch/index.js';
import type { AuditEntry, JobResult } from '../../src/store/index.js';
import { fixture } from './setup.js';

const entry = (at: number, requestId: string): AuditEntry => ({
  at,
  actor: 'admin',
  tokenPrefix: null,
  source: '127.0.0.1',
  requestId,
  action: 'tenant.create',
  targets: {},
  outcome: { status: 200, errorCode: '0', taskId: null, replayed: false },
});

test('retention purger deletes every finished task and audit entry past retention in batches, keeps unfinished tasks', async () => {
  const f = await fixture({ count: 1, noStart: true });
  try {
    const finished: string[] = [];
    const keys: number[] = [];
    for (let i = 0; i < 1_150; i++) {
      const t = await f.store.createTask({ tenantKey: f.tenantKey, command: 'echo x', timeoutMs: 1000, kind: 'async', instanceIds: [f.ids[0]!] });
      finished.push(t.taskId);
      keys.push(t.jobs[0]!.jobKey);
    }
    const now = Date.now();
    await f.store.markRunning(keys, now);
    const results: JobResult[] = keys.map((jobKey) => ({
      jobKey,
      state: 'succeeded',
      errorCode: JobCode.Ok,
      errorMsg: 'ok',
      exitCode: 0,
      executeMsg: 'x\n',
      outputBytes: 2,
      outputTruncated: false,
      finishedAt: now,
      output: null,
    }));
    await f.store.finishJobs(results);
    const open = await f.store.createTask({ tenantKey: f.tenantKey, command: 'echo y', timeoutMs: 1000, kind: 'async', instanceIds: [f.ids[0]!] });
    await Promise.all(Array.from({ length: 1_100 }, (_, i) => f.store.appendAudit(entry(now - 1_000, `old-${i}`))));
    await f.store.appendAudit(entry(now + 3_600_000, 'future'));

    // Retention in the future's favour: everything created up to now is past it.
    const purger = createRetentionPurger({ store: f.store, config: { retentionMs: -60_000 }, batchSize: 500 });
    assert.deepEqual(await purger.runOnce(), { tasks: 1_150, auditEntries: 1_100, artifacts: 0, files: 0, tempFiles: 0 });
    assert.equal(await f.store.getTask(f.tenantKey, finished[0]!), null);
    assert.equal(await f.store.getTask(f.tenantKey, finished.at(-1)!), null);
    assert.ok(await f.store.getTask(f.tenantKey, open.taskId));
    assert.deepEqual(await purger.runOnce(), { tasks: 0, auditEntries: 0, artifacts: 0, files: 0, tempFiles: 0 });
    assert.deepEqual((await f.store.listAudit({}, 10, null)).entries.map((e) => e.requestId), ['future']);

    // Within retention nothing goes, finished or not.
    await f.store.markRunning([open.jobs[0]!.jobKey], now);
    await f.store.finishJobs([{ ...results[0]!, jobKey: open.jobs[0]!.jobKey }]);
    const keep = createRetentionPurger({ store: f.store, config: { retentionMs: 3_600_000 } });
    assert.deepEqual(await keep.runOnce(), { tasks: 0, auditEntries: 0, artifacts: 0, files: 0, tempFiles: 0 });
    assert.ok(await f.store.getTask(f.tenantKey, open.taskId));
  } finally {
    await f.close();
  }
});
