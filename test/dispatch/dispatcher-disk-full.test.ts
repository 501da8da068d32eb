// A store that refuses writes for a while (a full disk) loses no finished result while the worker
// lives: results are held and retried until the store takes them, and past a bound the worker
// starts no new job. The disk is a real one: a small tmpfs holding the SQLite files, filled up.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDispatcher, type Logger } from '../../src/dispatch/index.js';
import { createSqliteStore, type CreatedTask, type JobResult, type Store } from '../../src/store/index.js';
import { overrideStore, smallDisk, until, type SmallDisk } from '../support/index.js';
import { fixture, type Fixture } from './setup.js';

/** seq 1 3000: about 14 KiB of output per job, so each result needs fresh pages in the WAL */
const SEQ_OUTPUT = Array.from({ length: 3000 }, (_, i) => `${i + 1}\n`).join('');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Disk extends SmallDisk {
  store: Store;
}

/** A small disk with an open SQLite store (and its tenant) on it; null when mounting is not allowed. */
async function onDisk(t: TestContext): Promise<Disk | null> {
  const disk = await smallDisk(t);
  if (disk === null) return null;
  const store = createSqliteStore({ path: join(disk.dir, 'db.sqlite'), synchronous: 'NORMAL' });
  await store.open();
  await store.createTenant('disk-full');
  return {
    ...disk,
    store,
    async close() {
      await store.close().catch(() => {});
      await disk.close();
    },
  };
}

/** Records info and above (the writer's failures and recovery are what the tests look for). */
function recordingLogger(): Logger & { lines: { level: string; obj: object; msg: string }[] } {
  const lines: { level: string; obj: object; msg: string }[] = [];
  const at = (level: string) => (obj: object, msg = ''): void => void lines.push({ level, obj, msg });
  return { lines, debug: () => {}, info: at('info'), warn: at('warn'), error: at('error') };
}

test('a disk-full spell: every job that finished meanwhile is stored with its real result once space comes back', async (t) => {
  const disk = await onDisk(t);
  if (disk === null) return;
  const N = 20;
  const f = await fixture({ count: N, reuse: { dir: disk.dir, store: disk.store }, config: { retryWindowMs: 60_000 } });
  try {
    const task = await f.submit('sleep 1; seq 1 3000', f.ids);
    const after = await f.submit('echo after', f.ids);
    const instances = f.fleet.instances;
    await until('every first job to start', () => instances.every((i) => i.journal().length === 1));
    disk.fill();
    await until('every first job to end on its device', () => instances.every((i) => i.journal()[0]!.end !== 'running'));
    // Longer than the writer ever gave up after before (3 retries, 1.25 s): the results must still be held.
    await sleep(3_000);
    const during = (await f.store.getTask(f.tenantKey, task.taskId))!.jobs;
    assert.ok(during.every((j) => j.state === 'running'), 'the store cannot have taken them: the disk is full');
    assert.ok(instances.every((i) => i.journal().length === 1), 'nothing new started while nothing could be stored');

    disk.free();
    const freedAt = Date.now();
    const jobs = await f.finish(task, 30_000);
    t.diagnostic(`all results stored ${Date.now() - freedAt} ms after space came back`);
    const recovered = jobs.filter((j) => j.state === 'succeeded' && j.exitCode === 0 && j.outputBytes === SEQ_OUTPUT.length);
    t.diagnostic(`results recovered after disk full: ${recovered.length}/${N}`);
    assert.equal(recovered.length, N);
    for (const j of jobs) {
      assert.equal(j.errorCode, '0');
      assert.equal(f.events.get(j.jobKey)?.at(-1)?.state, 'succeeded', 'watchers (SSE) hear the final state');
    }
    const second = await f.finish(after, 30_000);
    assert.ok(second.every((j) => j.state === 'succeeded' && j.executeMsg === 'after\n'));
    // At most once: each device ran its two commands, once each.
    for (const i of instances) assert.deepEqual(i.journal().map((e) => e.command), ['sleep 1; seq 1 3000', 'echo after']);
  } finally {
    await f.close();
    await disk.close();
  }
});

test('back-pressure: while the store refuses results, at most the bound plus the running jobs are started', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'adbfleet-refuse-'));
  const real = createSqliteStore({ path: join(dir, 'db.sqlite'), synchronous: 'NORMAL' });
  await real.open();
  await real.createTenant('refuse');
  let refuse = true;
  const store = overrideStore(real, {
    finishJobs: (results: readonly JobResult[]) =>
      refuse ? Promise.reject(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })) : real.finishJobs(results),
  });
  const globalConcurrency = 2; // the writer holds as many results as may run at once
  const f = await fixture({ count: 6, reuse: { dir, store }, config: { globalConcurrency, retryWindowMs: 60_000 } });
  try {
    const tasks = [];
    for (let i = 0; i < 5; i++) tasks.push(await f.submit(`sleep 0.2; echo ${i}`, f.ids));
    const started = (): number => f.fleet.instances.reduce((n, i) => n + i.journal().length, 0);
    await until('the first results to be refused', () => started() >= globalConcurrency);
    // Without back-pressure two jobs start every 0.2 s: 30 would have started by now or soon.
    await sleep(1_500);
    t.diagnostic(`jobs started while results were refused: ${started()} of 30`);
    assert.ok(started() <= 2 * globalConcurrency, `${started()} started while no result could be stored`);

    refuse = false;
    for (const task of tasks) {
      const jobs = await f.finish(task, 30_000);
      assert.ok(jobs.every((j) => j.state === 'succeeded'), JSON.stringify(jobs.map((j) => j.state)));
    }
    assert.equal(started(), 30, 'each job ran exactly once');
  } finally {
    await f.close();
    await real.close();
    await rm(dir, { recursive: true, force: true });
  }
});

/** A task whose jobs run to their end on the devices while the disk is full: the store refuses
 * their results (the disk is filled after the jobs were marked running, before they end). */
async function runIntoFullDisk(
  f: Fixture,
  disk: NonNullable<Awaited<ReturnType<typeof onDisk>>>,
  logger: ReturnType<typeof recordingLogger>,
): Promise<CreatedTask> {
  const task = await f.submit('sleep 0.5; seq 1 3000', f.ids, 30_000);
  await until('every job to start', () => f.fleet.instances.every((i) => i.journal().length === 1));
  disk.fill();
  await until('every job to end on its device', () => f.fleet.instances.every((i) => i.journal()[0]!.end !== 'running'));
  await until('the store to refuse their results', () => logger.lines.some((l) => l.msg.startsWith('writing job results failed')));
  return task;
}

test('stop with a full disk keeps retrying through the grace period: space back in time, results stored', async (t) => {
  const disk = await onDisk(t);
  if (disk === null) return;
  const logger = recordingLogger();
  const f = await fixture({ count: 4, reuse: { dir: disk.dir, store: disk.store }, logger });
  try {
    const task = await runIntoFullDisk(f, disk, logger);
    const stopping = f.dispatcher.stop(6_000);
    await sleep(2_000); // past the old writer's give-up
    disk.free();
    await stopping;
    const jobs = (await f.store.getTask(f.tenantKey, task.taskId))!.jobs;
    assert.deepEqual(jobs.map((j) => j.state), ['succeeded', 'succeeded', 'succeeded', 'succeeded']);
  } finally {
    await f.close();
    await disk.close();
  }
});

test('stop with a disk that stays full logs the results it could not write; the next start marks those jobs 1006', async (t) => {
  const disk = await onDisk(t);
  if (disk === null) return;
  const logger = recordingLogger();
  const f = await fixture({ count: 2, reuse: { dir: disk.dir, store: disk.store }, logger });
  try {
    const task = await runIntoFullDisk(f, disk, logger);
    await f.dispatcher.stop(200);
    const lost = logger.lines.find((l) => l.level === 'error' && l.msg.includes('did not take'));
    assert.ok(lost, JSON.stringify(logger.lines));
    assert.deepEqual(
      [...(lost.obj as { jobKeys: number[] }).jobKeys].sort((a, b) => a - b),
      task.jobs.map((j) => j.jobKey),
    );

    // The process that knew the results is gone (here: its worker); the honest record is 1006.
    disk.free();
    const next = createDispatcher({ store: f.store, pool: f.pool, config: f.config });
    await next.start();
    await next.stop(1_000);
    const jobs = (await f.store.getTask(f.tenantKey, task.taskId))!.jobs;
    assert.deepEqual(jobs.map((j) => j.errorCode), ['KOOPHONE.JOB.1006', 'KOOPHONE.JOB.1006']);
  } finally {
    await f.close();
    await disk.close();
  }
});

test('while markRunning keeps failing the jobs stay queued, the failure is logged once, not per attempt; then they run', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'adbfleet-markrunning-'));
  const real = createSqliteStore({ path: join(dir, 'db.sqlite'), synchronous: 'NORMAL' });
  await real.open();
  await real.createTenant('refuse');
  let refuse = true;
  const store = overrideStore(real, {
    markRunning: (keys: readonly number[], now: number) =>
      refuse ? Promise.reject(Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })) : real.markRunning(keys, now),
  });
  const logger = recordingLogger();
  const f = await fixture({ count: 2, reuse: { dir, store }, logger, config: { retryWindowMs: 60_000 } });
  try {
    const task = await f.submit('echo later', f.ids);
    await sleep(2_200); // about 4 attempts, 500 ms apart
    assert.equal(f.fleet.journal().length, 0, 'nothing ran while the store refused');
    const failures = logger.lines.filter((l) => l.msg.startsWith('markRunning failed'));
    assert.equal(failures.length, 1, JSON.stringify(logger.lines));
    refuse = false;
    const jobs = await f.finish(task);
    assert.ok(jobs.every((j) => j.state === 'succeeded'));
    assert.ok(logger.lines.some((l) => l.msg === 'markRunning succeeds again'));
  } finally {
    await f.close();
    await real.close();
    await rm(dir, { recursive: true, force: true });
  }
});
