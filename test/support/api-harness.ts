// The API alone, in this process (app.inject), on a real SQLite store (a temp file) and the real
// task service, with tenants, tokens and instances created through the admin API itself. No
// worker runs: what the store told the worker side through its change feed is recorded instead.
// The monitor is an in-test implementation of its interface.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { Logger } from 'pino';
import { buildApi, type ApiMetrics } from '../../src/api/index.js';
import { BlobStore } from '../../src/artifacts/index.js';
import { DEFAULT_CONFIG, type Config } from '../../src/core/config.js';
import { hashToken } from '../../src/core/ids.js';
import type { InstanceStatus } from '../../src/core/index.js';
import type { HealthMonitor } from '../../src/dispatch/index.js';
import { createTestStore } from './test-store.js';
import { type ChangeFeed, type InstanceTarget, type QueuedJob, type Store } from '../../src/store/index.js';
import { createTaskService, type TaskService } from '../../src/tasks/index.js';
import { tenantKeyOfToken } from './tenants.js';

export const ADMIN_TOKEN = 'adm_test_token_0123456789';

/** What the store's change feed told the worker side (nothing runs the jobs here). */
export class FeedRecorder {
  /** the last job key of each commit that queued jobs */
  readonly queued: number[] = [];
  /** running jobs a cancel asked their worker to stop */
  readonly cancelledRunning: number[] = [];
  constructor(feed: ChangeFeed) {
    feed.onQueued((lastJobKey) => this.queued.push(lastJobKey));
    feed.onCancelled((jobs) => this.cancelledRunning.push(...jobs.running));
  }
}

/** A monitor whose statuses the test sets; records reboots. */
export class SettableMonitor implements HealthMonitor {
  readonly statuses = new Map<string, InstanceStatus>();
  readonly rebooted: string[] = [];
  status(instanceId: string): InstanceStatus {
    return this.statuses.get(instanceId) ?? 0;
  }
  /** Of the instances whose status the test set. */
  statusCounts(): number[] {
    const counts = [0, 0, 0, 0, 0, 0];
    for (const s of this.statuses.values()) counts[s]!++;
    return counts;
  }
  async reboot(target: InstanceTarget): Promise<void> {
    this.rebooted.push(target.instanceId);
    this.statuses.set(target.instanceId, 4);
  }
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
}

export interface ApiHarness {
  app: FastifyInstance;
  store: Store;
  /** the artifact directory (in the harness's temp dir unless one was given) */
  blobs: BlobStore;
  tasks: TaskService;
  feed: FeedRecorder;
  monitor: HealthMonitor;
  /** the task's jobs still queued in the store, as a worker would read them */
  queuedOf(taskId: string): Promise<QueuedJob[]>;
  close(): Promise<void>;
  admin(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown): Promise<LightMyRequestResponse>;
  /** A tenant created through the admin API, with its first token. */
  tenant(name: string): Promise<{ tenantId: string; token: string }>;
  instance(instanceId: string, tenantId: string | null, adbAddress?: string): Promise<void>;
  /** A tenant request with a fresh valid x-request-id. */
  call(
    token: string,
    method: 'GET' | 'POST',
    url: string,
    payload?: unknown,
    headers?: Record<string, string>,
  ): Promise<LightMyRequestResponse>;
  /** How many tasks the token's tenant has in the store. */
  taskCount(token: string): Promise<number>;
}

let seq = 0;
export function rid(): string {
  seq += 1;
  return `req-${process.pid}-${seq}`;
}

export async function startApiHarness(opts: {
  config?: Partial<Config>;
  monitor?: HealthMonitor;
  /** a store to use; the harness opens it, and closes it only when closeStore is set */
  store?: Store;
  closeStore?: boolean;
  /** an artifact directory to use (a worker's in the same test); default one in the temp dir */
  blobs?: BlobStore;
  sseHeartbeatMs?: number;
  logger?: Logger;
  /** where the built console is (default: dist/console) */
  consoleDir?: string;
  /** metrics to serve at GET /metrics (absent: no such route); the caller closes them */
  metrics?: ApiMetrics;
} = {}): Promise<ApiHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'adbfleet-api-'));
  const store = opts.store ?? (await createTestStore(dir));
  const closeStore = opts.store === undefined || opts.closeStore === true;
  await store.open();
  const blobs = opts.blobs ?? new BlobStore(join(dir, 'artifacts'));
  await blobs.init();
  const tasks = createTaskService(store);
  const feed = new FeedRecorder(store.changes);
  const monitor = opts.monitor ?? new SettableMonitor();
  const config: Config = { ...DEFAULT_CONFIG, rateLimitPerSecond: 0, ...opts.config };
  let app: FastifyInstance;
  try {
    app = await buildApi({
      store,
      tasks,
      monitor,
      blobs,
      config,
      adminTokenHash: hashToken(ADMIN_TOKEN),
      logger: opts.logger ?? false,
      ...(opts.sseHeartbeatMs === undefined ? {} : { sseHeartbeatMs: opts.sseHeartbeatMs }),
      ...(opts.consoleDir === undefined ? {} : { consoleDir: opts.consoleDir }),
      ...(opts.metrics === undefined ? {} : { metrics: opts.metrics }),
    });
  } catch (err) {
    if (closeStore) await store.close();
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const admin: ApiHarness['admin'] = (method, url, payload) =>
    app.inject({
      method,
      url: `/admin/v1${url}`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  return {
    app,
    store,
    blobs,
    tasks,
    feed,
    monitor,
    admin,
    async queuedOf(taskId) {
      return (await store.queuedJobs(0, 1_000_000)).filter((j) => j.taskId === taskId);
    },
    async close() {
      await app.close();
      if (closeStore) await store.close();
      await rm(dir, { recursive: true, force: true });
    },
    async tenant(name) {
      const res = await admin('POST', '/tenants', { name });
      if (res.statusCode !== 200) throw new Error(`tenant creation failed: ${res.body}`);
      const body = res.json<{ tenant_id: string; token: string }>();
      return { tenantId: body.tenant_id, token: body.token };
    },
    async instance(instanceId, tenantId, adbAddress = '127.0.0.1:5555') {
      const res = await admin('POST', '/instances', { instance_id: instanceId, adb_address: adbAddress, tenant_id: tenantId });
      if (res.statusCode !== 200) throw new Error(`instance creation failed: ${res.body}`);
    },
    call(token, method, url, payload, headers = {}) {
      return app.inject({
        method,
        url,
        headers: { 'x-request-id': rid(), 'x-auth-token': token, ...headers },
        ...(payload === undefined ? {} : { payload: payload as object }),
      });
    },
    async taskCount(token) {
      const tenantKey = await tenantKeyOfToken(store, token);
      let n = 0;
      let cursor: string | null = null;
      do {
        const page: Awaited<ReturnType<Store['listTasks']>> = await store.listTasks(tenantKey, 100, cursor);
        n += page.tasks.length;
        cursor = page.nextCursor;
      } while (cursor !== null);
      return n;
    },
  };
}

/** Error envelope of a response, asserting its shape. */
export function envelope(res: LightMyRequestResponse): { error_code: string; error_msg: string } {
  const body = res.json<Record<string, unknown>>();
  if (typeof body['error_code'] !== 'string' || typeof body['error_msg'] !== 'string') {
    throw new Error(`not an error envelope: ${res.body}`);
  }
  return { error_code: body['error_code'], error_msg: body['error_msg'] };
}

/** The real store with some methods replaced (to inject a failure the real one cannot be made to have). */
export function overrideStore(real: Store, overrides: Partial<Store>): Store {
  return new Proxy(real, {
    get(target, prop) {
      if (Object.hasOwn(overrides, prop)) return (overrides as Record<string | symbol, unknown>)[prop];
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
