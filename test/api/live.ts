// The API on the real worker: SQLite store, dispatcher, health monitor and ADB pool against the
// simulated fleet; instances registered through the admin API at the fleet's addresses.
import { AdbPool, generateKey, publicKeyOf, type AdbKey } from '../../src/adb/index.js';
import { DEFAULT_CONFIG, type Config } from '../../src/core/config.js';
import { createDispatcher, createHealthMonitor } from '../../src/dispatch/index.js';
import { startFleet, type Fleet } from '../../src/sim/index.js';
import { createSqliteStore } from '../../src/store/index.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHarness, type Harness } from './harness.js';

let sharedKey: AdbKey | null = null;
function key(): AdbKey {
  sharedKey ??= generateKey('test@api');
  return sharedKey;
}

export interface Live extends Harness {
  fleet: Fleet;
  token: string;
  /** instance ids; ids[i] is fleet.instances[i] */
  ids: string[];
  /** polls GET /tasks/{id} until every job is final */
  waitTask(taskId: string, timeoutMs?: number): Promise<Record<string, unknown>[]>;
}

export async function startLive(opts: { count?: number; config?: Partial<Config>; sseHeartbeatMs?: number } = {}): Promise<Live> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  };
  try {
    const dir = await mkdtemp(join(tmpdir(), 'adbfleet-api-live-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const store = createSqliteStore({ path: join(dir, 'db.sqlite'), synchronous: 'NORMAL' });
    await store.open();
    cleanups.push(() => store.close());
    const fleet = await startFleet({ count: opts.count ?? 3, auth: 'rsa', trustedKeys: [publicKeyOf(key().privateKey)], rebootDelayMs: 500 });
    cleanups.push(() => fleet.close());
    const pool = new AdbPool({ key: key(), connectTimeoutMs: 3_000, authTimeoutMs: 3_000, backoffBaseMs: 50, backoffMaxMs: 400 });
    cleanups.push(() => pool.close());
    const config: Config = { ...DEFAULT_CONFIG, retryWindowMs: 1_000, healthIntervalMs: 300, rateLimitPerSecond: 0, ...opts.config };
    const dispatcher = createDispatcher({ store, pool, config });
    const monitor = createHealthMonitor({ store, pool, config, startingPollMs: 100 });
    await dispatcher.start();
    cleanups.push(() => dispatcher.stop(2_000));
    await monitor.start();
    cleanups.push(() => monitor.stop());
    const h = await startHarness({
      store, monitor, config,
      ...(opts.sseHeartbeatMs === undefined ? {} : { sseHeartbeatMs: opts.sseHeartbeatMs }),
    });
    cleanups.push(() => h.close());
    const t = await h.tenant('live');
    const ids: string[] = [];
    for (const [i, inst] of fleet.instances.entries()) {
      ids.push(`s${i}`);
      await h.instance(`s${i}`, t.tenantId, inst.address);
    }
    const waitTask: Live['waitTask'] = async (taskId, timeoutMs = 30_000) => {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const res = await h.call(t.token, 'GET', `/v1/instances/tasks/${taskId}`);
        const jobs = res.json().data.jobs as Record<string, unknown>[];
        if (jobs.every((j) => j['finished_at'] !== null)) return jobs;
        if (Date.now() > end) throw new Error(`task ${taskId} not finished: ${res.body}`);
        await new Promise((r) => setTimeout(r, 30));
      }
    };
    return { ...h, fleet, token: t.token, ids, waitTask, close: cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Polls until check() holds, or fails after timeoutMs. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
