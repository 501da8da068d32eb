// The whole service as `adbfleet serve` wires it (startService: HTTP on a real socket, the worker,
// SQLite in a temp dir) in this process, a simulated fleet, a tenant with a token, and the fleet's
// instances registered to it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { DEFAULT_CONFIG, type Config } from '../../src/core/config.js';
import { startFleet, type Fleet } from '../../src/sim/index.js';
import { startService, type RunningService } from '../../src/cli/service.js';
import { request, type ApiResponse, type JobJson } from './http.js';
import { until } from './poll.js';

export interface ServiceHarness {
  fleet: Fleet;
  service: RunningService;
  url: string;
  adminToken: string;
  tenantId: string;
  token: string;
  /** instance ids, instance i at fleet.instances[i] */
  ids: string[];
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse>;
  admin(method: string, path: string, body?: unknown): Promise<ApiResponse>;
  /** polls GET /tasks/{id} until every job is final */
  waitTask(taskId: string, timeoutMs?: number): Promise<JobJson[]>;
  close(): Promise<void>;
}

export async function startServiceHarness(
  opts: { instances?: number; config?: Partial<Config>; fleet?: Parameters<typeof startFleet>[0] } = {},
): Promise<ServiceHarness> {
  const count = opts.instances ?? 4;
  const dataDir = mkdtempSync(join(tmpdir(), 'adbfleet-e2e-'));
  const fleet = await startFleet(opts.fleet ?? { count });
  const config: Config = {
    ...DEFAULT_CONFIG,
    port: 0,
    dataDir,
    adminToken: `adm_${randomUUID()}`,
    rateLimitPerSecond: 0,
    retryWindowMs: 1_000,
    healthIntervalMs: 1_000,
    sqliteSynchronous: 'NORMAL',
    ...opts.config,
  };
  let service: RunningService;
  try {
    service = await startService(config, pino({ level: process.env.ADBFLEET_TEST_LOG ?? 'silent' }));
  } catch (err) {
    await fleet.close();
    throw err;
  }
  const url = service.url;
  const adminToken = config.adminToken ?? '';
  const admin = (method: string, path: string, body?: unknown): Promise<ApiResponse> =>
    request(url, method, `/admin/v1${path}`, body, { authorization: `Bearer ${adminToken}` });

  const tenant = await admin('POST', '/tenants', { name: 'e2e' });
  if (tenant.status !== 200) throw new Error(`creating tenant: ${tenant.status} ${JSON.stringify(tenant.body)}`);
  const tenantId: string = tenant.body.tenant_id;
  const token: string = tenant.body.token;
  const ids: string[] = [];
  for (const [i, sim] of fleet.instances.entries()) {
    const id = `e2e-${i}`;
    const r = await admin('POST', '/instances', { instance_id: id, adb_address: sim.address, tenant_id: tenantId });
    if (r.status !== 200) throw new Error(`registering ${id}: ${r.status} ${JSON.stringify(r.body)}`);
    ids.push(id);
  }

  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse> =>
    request(url, method, path, body, { 'x-auth-token': token, 'x-request-id': randomUUID(), ...headers });

  const waitTask = async (taskId: string, timeoutMs = 60_000): Promise<JobJson[]> => {
    let jobs: JobJson[] = [];
    const finished = async (): Promise<boolean> => {
      const r = await call('GET', `/v1/instances/tasks/${taskId}`);
      if (r.status !== 200) throw new Error(`GET task ${taskId}: ${r.status} ${JSON.stringify(r.body)}`);
      jobs = r.body.data.jobs;
      return jobs.every((j) => j.state !== 'queued' && j.state !== 'running');
    };
    await until(() => `task ${taskId} to finish: ${JSON.stringify(jobs.map((j) => j.state))}`, finished, timeoutMs, 50);
    return jobs;
  };

  return {
    fleet,
    service,
    url,
    adminToken,
    tenantId,
    token,
    ids,
    call,
    admin,
    waitTask,
    close: async () => {
      await service.close();
      await fleet.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
