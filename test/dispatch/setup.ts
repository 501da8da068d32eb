// Shared fixture for the worker's tests: a real SQLite store in a temp dir, a simulated fleet
// registered to one tenant, the real AdbPool, the dispatcher under test, and the task service
// (the way the API submits and watches).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdbPool } from '../../src/adb/index.js';
import { BlobStore } from '../../src/artifacts/index.js';
import { describeOp, type TaskOp } from '../../src/core/index.js';
import { DEFAULT_CONFIG, type Config } from '../../src/core/config.js';
import { createDispatcher, type Dispatcher, type DispatcherOptions, type Logger } from '../../src/dispatch/index.js';
import { startFleet, type Fleet } from '../../src/sim/index.js';
import { createSqliteStore, type CreatedTask, type JobView, type Store } from '../../src/store/index.js';
import { createTaskService, type TaskService } from '../../src/tasks/index.js';
import { tenantKeyOf, testKey, testPublicKey, until } from '../support/index.js';

export interface Fixture {
  dir: string;
  store: Store;
  fleet: Fleet;
  pool: AdbPool;
  config: Config;
  /** the artifact directory the dispatcher was given (<dir>/artifacts) */
  blobs: BlobStore;
  tenantKey: number;
  /** instance ids; ids[i] is fleet.instances[i] */
  ids: string[];
  dispatcher: Dispatcher;
  tasks: TaskService;
  /** per job key, the job as the store had it after each change of its state (the first,
   * queued, view is not counted: a job that never ran has just its final view) */
  events: Map<number, JobView[]>;
  /** creates a task through the task service, and watches it into `events` */
  submit(command: string, instanceIds: readonly string[], timeoutMs?: number): Promise<CreatedTask>;
  /** creates a device operation's task in the store (as the API does), watched like submit's */
  submitOp(op: TaskOp, instanceIds: readonly string[], timeoutMs?: number): Promise<CreatedTask>;
  /** submits and waits (generously) until every job is final; returns the store's views */
  run(command: string, instanceIds: readonly string[], timeoutMs?: number): Promise<JobView[]>;
  /** waits (polling the store) until every job is final; returns the jobs as the store has them */
  finish(task: CreatedTask, waitMs?: number): Promise<JobView[]>;
  close(): Promise<void>;
}

export interface FixtureOptions {
  count?: number;
  config?: Partial<Config>;
  rebootDelayMs?: number;
  /** the fleet's banner features; [] makes the pool speak shell v1 (no exit status) */
  features?: string[];
  /** build the dispatcher but do not start it (recovery tests prepare the store first) */
  noStart?: boolean;
  /** a store to reuse instead of a new one (with its dir) */
  reuse?: { dir: string; store: Store };
  /** the dispatcher's logger (silent by default) */
  logger?: Logger;
  /** the store as the dispatcher sees it (the same store by default) */
  dispatcherStore?: (store: Store) => Store;
  /** the dispatcher's windows (its defaults otherwise) */
  windows?: Pick<DispatcherOptions, 'laneWindow' | 'maxHeldQueued'>;
  /** what pushed files may hold per simulated instance (the fleet's default otherwise) */
  storageBytes?: number;
}

export async function fixture(opts: FixtureOptions = {}): Promise<Fixture> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  };
  try {
    const key = testKey();
    const dir = opts.reuse?.dir ?? (await mkdtemp(join(tmpdir(), 'adbfleet-dispatch-')));
    if (!opts.reuse) cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const store = opts.reuse?.store ?? createSqliteStore({ path: join(dir, 'db.sqlite'), synchronous: 'NORMAL' });
    if (!opts.reuse) {
      await store.open();
      cleanups.push(() => store.close());
    }
    const fleet = await startFleet({
      count: opts.count ?? 2,
      auth: 'rsa',
      trustedKeys: [testPublicKey()],
      rebootDelayMs: opts.rebootDelayMs ?? 500,
      ...(opts.features ? { features: opts.features } : {}),
      ...(opts.storageBytes !== undefined ? { storageBytes: opts.storageBytes } : {}),
    });
    cleanups.push(() => fleet.close());
    const config: Config = { ...DEFAULT_CONFIG, retryWindowMs: 1_000, healthIntervalMs: 500, ...opts.config };
    const pool = new AdbPool({ key, connectTimeoutMs: 3_000, authTimeoutMs: 3_000, openTimeoutMs: config.adbOpenTimeoutMs, backoffBaseMs: 50, backoffMaxMs: 400 });
    cleanups.push(() => pool.close());

    const tenant = opts.reuse ? (await store.listTenants())[0]! : await store.createTenant('dispatch-test');
    const ids: string[] = [];
    for (const [i, inst] of fleet.instances.entries()) {
      const id = `${opts.reuse ? 'r' : 'i'}${i}`;
      ids.push(id);
      await store.createInstance({ instanceId: id, adbAddress: inst.address, instanceName: id, zone: 'test', tenantId: tenant.tenantId });
    }

    const blobs = new BlobStore(join(dir, 'artifacts'));
    await blobs.init();
    const dispatcher = createDispatcher({
      store: opts.dispatcherStore?.(store) ?? store,
      pool,
      config,
      blobs,
      ...opts.windows,
      ...(opts.logger ? { logger: opts.logger } : {}),
    });
    cleanups.push(() => dispatcher.stop(2_000));
    const tasks = createTaskService(store);
    const events = new Map<number, JobView[]>();
    let tenantKey = -1;

    const watched = async (created: CreatedTask): Promise<CreatedTask> => {
      const watch = await tasks.watch(tenantKey, created.taskId, (task) => {
        for (const job of task?.jobs ?? []) {
          const list = events.get(job.jobKey) ?? [];
          if ((list.at(-1)?.state ?? 'queued') !== job.state) events.set(job.jobKey, [...list, job]);
        }
      });
      if (watch) cleanups.push(async () => watch.close());
      return created;
    };
    const submit = async (command: string, instanceIds: readonly string[], timeoutMs = 30_000): Promise<CreatedTask> =>
      watched(await tasks.submit(tenantKey, { command, instanceIds, timeoutMs }));
    const submitOp = async (op: TaskOp, instanceIds: readonly string[], timeoutMs = 30_000): Promise<CreatedTask> =>
      watched(await store.createTask({ tenantKey, command: describeOp(op), op, timeoutMs, kind: 'async', instanceIds }));
    const finish = async (task: CreatedTask, waitMs = 60_000): Promise<JobView[]> => {
      let jobs: JobView[] = [];
      await until(
        `task ${task.taskId} to finish`,
        async () => {
          jobs = (await store.getTask(tenantKey, task.taskId))?.jobs ?? [];
          return jobs.length > 0 && jobs.every((j) => j.finishedAt !== null);
        },
        waitMs,
      );
      return jobs;
    };
    const f: Fixture = {
      dir,
      store,
      fleet,
      pool,
      config,
      blobs,
      tenantKey,
      ids,
      dispatcher,
      tasks,
      events,
      submit,
      submitOp,
      finish,
      run: async (command, instanceIds, timeoutMs) => finish(await submit(command, instanceIds, timeoutMs)),
      close: cleanup,
    };
    tenantKey = await tenantKeyOf(store, tenant.tenantId);
    f.tenantKey = tenantKey;
    if (!opts.noStart) await dispatcher.start();
    return f;
  } catch (err) {
    await cleanup();
    throw err;
  }
}
