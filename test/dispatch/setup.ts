// Shared fixture for the worker's tests: a real SQLite store in a temp dir, a simulated fleet
// registered to one tenant, the real AdbPool, and the dispatcher under test.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdbPool } from '../../src/adb/index.js';
import { DEFAULT_CONFIG, type Config } from '../../src/core/config.js';
import { createDispatcher, type Dispatcher, type JobEvent } from '../../src/dispatch/index.js';
import { startFleet, type Fleet } from '../../src/sim/index.js';
import { createSqliteStore, type CreatedTask, type JobView, type Store } from '../../src/store/index.js';
import { tenantKeyOf, testKey, testPublicKey } from '../support/index.js';

export interface Fixture {
  dir: string;
  store: Store;
  fleet: Fleet;
  pool: AdbPool;
  config: Config;
  tenantKey: number;
  /** instance ids; ids[i] is fleet.instances[i] */
  ids: string[];
  dispatcher: Dispatcher;
  /** every event, in emission order, per job key */
  events: Map<number, JobEvent[]>;
  /** creates a task in the store and hands it to the dispatcher */
  submit(command: string, instanceIds: readonly string[], timeoutMs?: number): Promise<CreatedTask>;
  /** submits and waits (generously) until every job is final; returns the store's views */
  run(command: string, instanceIds: readonly string[], timeoutMs?: number): Promise<JobView[]>;
  /** waits for the task and returns its jobs as the store has them */
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
    });
    cleanups.push(() => fleet.close());
    const pool = new AdbPool({ key, connectTimeoutMs: 3_000, authTimeoutMs: 3_000, backoffBaseMs: 50, backoffMaxMs: 400 });
    cleanups.push(() => pool.close());
    const config: Config = { ...DEFAULT_CONFIG, retryWindowMs: 1_000, healthIntervalMs: 500, ...opts.config };

    const tenant = opts.reuse ? (await store.listTenants())[0]! : await store.createTenant('dispatch-test');
    const ids: string[] = [];
    for (const [i, inst] of fleet.instances.entries()) {
      const id = `${opts.reuse ? 'r' : 'i'}${i}`;
      ids.push(id);
      await store.createInstance({ instanceId: id, adbAddress: inst.address, instanceName: id, zone: 'test', tenantId: tenant.tenantId });
    }

    const dispatcher = createDispatcher({ store, pool, config });
    cleanups.push(() => dispatcher.stop(2_000));
    const events = new Map<number, JobEvent[]>();
    let tenantKey = -1;

    const submit = async (command: string, instanceIds: readonly string[], timeoutMs = 30_000): Promise<CreatedTask> => {
      const created = await store.createTask({ tenantKey, command, timeoutMs, kind: 'async', instanceIds });
      if (created === 'conflict') throw new Error('unexpected conflict');
      dispatcher.onJobEvent(created.taskKey, (e) => {
        const list = events.get(e.jobKey);
        if (list) list.push(e);
        else events.set(e.jobKey, [e]);
      });
      dispatcher.submitted(created, tenantKey);
      return created;
    };
    const finish = async (task: CreatedTask, waitMs = 60_000): Promise<JobView[]> => {
      await dispatcher.waitForTask(task.taskKey, Date.now() + waitMs);
      const view = await store.getTask(tenantKey, task.taskId);
      if (view === null) throw new Error('task vanished');
      return view.jobs;
    };
    const f: Fixture = {
      dir,
      store,
      fleet,
      pool,
      config,
      tenantKey,
      ids,
      dispatcher,
      events,
      submit,
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
