// kill -9 while createTask runs in a loop: every task the child saw resolve (and printed) is in
// the database after reopen, with all its jobs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { createSqliteStore } from '../../src/store/index.js';
import { tenantWithInstances } from './conformance/fixtures.js';

const CHILD = join(import.meta.dirname, 'store-child.ts');

test('crash: tasks reported by a child killed with SIGKILL are all there after reopen', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'adbfleet-store-crash-'));
  const path = join(dir, 'crash.sqlite');
  let child: ReturnType<typeof spawn> | null = null;
  try {
    let store = createSqliteStore({ path });
    await store.open();
    const f = await tenantWithInstances(store, 5);
    await store.close();

    child = spawn(process.execPath, ['--import', 'tsx', CHILD, 'create', path, String(f.tenantKey), ...f.instanceIds], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child?.once('exit', (_code, signal) => resolve(signal)));
    const reported = new Map<string, string[]>();
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    // Kill mid-stream, after enough tasks that the kill lands while writes are in flight.
    for await (const line of lines) {
      const [taskId, jobIds] = line.split(' ');
      if (taskId !== undefined && jobIds !== undefined) reported.set(taskId, jobIds.split(','));
      if (reported.size >= 300) {
        child.kill('SIGKILL');
        break;
      }
    }
    assert.equal(await exited, 'SIGKILL');
    assert.ok(reported.size >= 300, `child reported ${reported.size} tasks`);

    store = createSqliteStore({ path });
    await store.open();
    try {
      for (const [taskId, jobIds] of reported) {
        const v = await store.getTask(f.tenantKey, taskId);
        assert.ok(v, `task ${taskId} lost`);
        assert.deepEqual(v.jobs.map((j) => j.jobId), jobIds);
        assert.deepEqual(v.jobs.map((j) => j.instanceId), f.instanceIds);
      }
      // and the store is usable: tasks it committed but never reported are whole too
      const queued = await store.queuedJobs(0, 1_000_000);
      assert.equal(queued.length % 5, 0);
      assert.ok(queued.length >= reported.size * 5);
    } finally {
      await store.close();
    }
  } finally {
    if (child !== null && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
