// Store throughput on SQLite: createTask of 100-job tasks (sequential, then 50 concurrent
// callers sharing group commits) and finishJobs of 10,000 results in one call.
// Usage: node --import tsx bench/store.ts [--synchronous FULL|NORMAL] [--tasks N]
// Prints a table and writes bench/results/store.json.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createSqliteStore } from '../src/store/index.js';
import type { JobResult, Store } from '../src/store/index.js';
import { tenantKeyOf } from '../test/support/index.js';

const { values } = parseArgs({
  options: { synchronous: { type: 'string', default: 'FULL' }, tasks: { type: 'string', default: '2000' } },
});
const synchronous = values.synchronous === 'NORMAL' ? 'NORMAL' : 'FULL';
const TASKS = Number(values.tasks);
const JOBS_PER_TASK = 100;
const CONCURRENCY = 50;
const FINISH_BATCH = 10_000;

interface Row {
  case: string;
  ops: number;
  seconds: number;
  perSecond: number;
  jobRowsPerSecond: number;
}

async function setup(store: Store): Promise<{ tenantKey: number; instanceIds: string[] }> {
  const t = await store.createTenant('bench');
  const instanceIds = Array.from({ length: JOBS_PER_TASK }, (_, i) => `bench-${i}`);
  for (const id of instanceIds) {
    await store.createInstance({ instanceId: id, adbAddress: '127.0.0.1:5555', instanceName: id, zone: 'z', tenantId: t.tenantId });
  }
  return { tenantKey: await tenantKeyOf(store, t.tenantId), instanceIds };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'adbfleet-bench-store-'));
  const store = createSqliteStore({ path: join(dir, 'bench.db'), synchronous });
  const rows: Row[] = [];
  try {
    await store.open();
    const { tenantKey, instanceIds } = await setup(store);
    const newTask = { tenantKey, command: 'echo hi', timeoutMs: 300_000, kind: 'async' as const, instanceIds };

    let t0 = process.hrtime.bigint();
    const seqTasks = Math.max(1, Math.floor(TASKS / 4));
    for (let i = 0; i < seqTasks; i++) await store.createTask(newTask);
    rows.push(row('createTask x100 jobs, sequential', seqTasks, t0, JOBS_PER_TASK));

    t0 = process.hrtime.bigint();
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < TASKS) {
          next++;
          await store.createTask(newTask);
        }
      }),
    );
    rows.push(row(`createTask x100 jobs, ${CONCURRENCY} concurrent`, TASKS, t0, JOBS_PER_TASK));

    const queued = await store.queuedJobs(0, FINISH_BATCH);
    const keys = queued.map((j) => j.jobKey);
    await store.markRunning(keys, Date.now());
    const out = Buffer.from('hello from the bench\n');
    const results: JobResult[] = keys.map((jobKey) => ({
      jobKey,
      state: 'succeeded',
      errorCode: '0',
      errorMsg: 'ok',
      exitCode: 0,
      executeMsg: out.toString(),
      outputBytes: out.length,
      outputTruncated: false,
      finishedAt: Date.now(),
      output: { stdout: out, stderr: Buffer.alloc(0), combined: out },
    }));
    t0 = process.hrtime.bigint();
    await store.finishJobs(results);
    rows.push(row(`finishJobs, ${results.length} results in one call`, results.length, t0, 1));
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }

  console.log(`store bench (SQLite, synchronous=${synchronous})`);
  console.table(rows);
  mkdirSync(join('bench', 'results'), { recursive: true });
  writeFileSync(
    join('bench', 'results', 'store.json'),
    JSON.stringify({ date: new Date().toISOString(), node: process.version, synchronous, rows }, null, 2) + '\n',
  );
}

function row(name: string, ops: number, t0: bigint, jobsPerOp: number): Row {
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return {
    case: name,
    ops,
    seconds: Math.round(seconds * 1000) / 1000,
    perSecond: Math.round(ops / seconds),
    jobRowsPerSecond: Math.round((ops * jobsPerOp) / seconds),
  };
}

await main();
