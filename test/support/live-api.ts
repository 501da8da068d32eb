// The API in this process (app.inject, as startApiHarness builds it) on the real worker: SQLite
// store, dispatcher, health monitor and ADB pool against a simulated fleet; instances registered
// through the admin API at the fleet's addresses.
import { FleetPool } from '../../src/adb/index.js';
import { DEFAULT_CONFIG, type Config } from '../../src/core/config.js';
import { createDispatcher, createHealthMonitor } from '../../src/dispatch/index.js';
import { startFleet, type Fleet } from '../../src/sim/index.js';
import { createTestStore } from './test-store.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startApiHarness, type ApiHarness } from './api-harness.js';
import { testKey, testPublicKey } from './keys.js';
import { until } from './poll.js';

export interface LiveApi extends ApiHarness {
  fleet: Fleet;
  token: string;
  /** instance ids; ids[i] is fleet.instances[i] */
  ids: string[];
  /** polls GET /tasks/{id} until every job is final */
  waitTask(taskId: string, timeoutMs?: number): Promise<Record<string, unknown>[]>;
}

export async function startLiveApi(opts: { count?: number; config?: Partial<Config>; sseHeartbeatMs?: number } = {}): Promise<LiveApi> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
  };
  try {
    const dir = await mkdtemp(join(tmpdir(), 'adbfleet-api-live-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const store = await createTestStore(dir);
    await store.open();
    cleanups.push(() => store.close());
    const fleet = await startFleet({ count: opts.count ?? 3, auth: 'rsa', trustedKeys: [testPublicKey()], rebootDelayMs: 500 });
    cleanups.push(() => fleet.close());
    const pool = new FleetPool({ key: testKey(), connectTimeoutMs: 3_000, authTimeoutMs: 3_000, openTimeoutMs: 3_000, backoffBaseMs: 50, backoffMaxMs: 400 });
    cleanups.push(() => pool.close());
    const config: Config = { ...DEFAULT_CONFIG, retryWindowMs: 1_000, healthIntervalMs: 300, rateLimitPerSecond: 0, ...opts.config };
    const dispatcher = createDispatcher({ store, pool, config });
    const monitor = createHealthMonitor({ store, pool, config, startingPollMs: 100 });
    await dispatcher.start();
    cleanups.push(() => dispatcher.stop(2_000));
    await monitor.start();
    cleanups.push(() => monitor.stop());
    const h = await startApiHarness({
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
    const waitTask: LiveApi['waitTask'] = async (taskId, timeoutMs = 30_000) => {
      let body = '';
      let jobs: Record<string, unknown>[] = [];
      const finished = async (): Promise<boolean> => {
        const res = await h.call(t.token, 'GET', `/v1/instances/tasks/${taskId}`);
        body = res.body;
        jobs = res.json().data.jobs as Record<string, unknown>[];
        return jobs.every((j) => j['finished_at'] !== null);
      };
      await until(() => `task ${taskId} to finish: ${body}`, finished, timeoutMs, 30);
      return jobs;
    };
    return { ...h, fleet, token: t.token, ids, waitTask, close: cleanup };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
