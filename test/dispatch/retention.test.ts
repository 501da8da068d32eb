import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JobCode } from '../../src/core/job-state.js';
import { createRetentionPurger } from '../../src/dispatch/index.js';
import type { JobResult } from '../../src/store/index.js';
import { fixture } from './setup.js';

test('retention purger deletes every finished task past retention in batches, keeps unfinished ones', async () => {
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

    // Retention in the future's favour: everything created up to now is past it.
    const purger = createRetentionPurger({ store: f.store, config: { retentionMs: -60_000 }, batchSize: 500 });
    assert.equal(await purger.runOnce(), 1_150);
    assert.equal(await f.store.getTask(f.tenantKey, finished[0]!), null);
    assert.equal(await f.store.getTask(f.tenantKey, finished.at(-1)!), null);
    assert.ok(await f.store.getTask(f.tenantKey, open.taskId));
    assert.equal(await purger.runOnce(), 0);

    // Within retention nothing goes, finished or not.
    await f.store.markRunning([open.jobs[0]!.jobKey], now);
    await f.store.finishJobs([{ ...results[0]!, jobKey: open.jobs[0]!.jobKey }]);
    const keep = createRetentionPurger({ store: f.store, config: { retentionMs: 3_600_000 } });
    assert.equal(await keep.runOnce(), 0);
    assert.ok(await f.store.getTask(f.tenantKey, open.taskId));
  } finally {
    await f.close();
  }
});
