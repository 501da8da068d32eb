// End-to-end harness: a simulated fleet and the real service (HTTP on a real socket, SQLite in a
// temp dir), a tenant with a token, and the fleet's instances registered to it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { DEFAULT_CONFIG, type Config } from '../../src/core/config.js';
import { startFleet, type Fleet } from '../../src/sim/index.js';
import { startService, type RunningService } from '../../src/cli/service.js';

export interface Harness {
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

export interface ApiResponse {
  status: number;
  headers: Headers;
  // JSON bodies of the API are free-form here; tests assert on their fields.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

export interface JobJson {
  job_id: string;
  instance_id: string;
  status: number;
  state: string;
  error_code: string;
  error_msg: string;
  execute_msg: string;
  exit_code: number | null;
  output_bytes: number;
  output_truncated: boolean;
  started_at: string | null;
  finished_at: string | null;
}

export async function request(
  url: string,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<ApiResponse> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON (SSE, empty): keep the text
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

export async function startHarness(
  opts: { instances?: number; config?: Partial<Config>; fleet?: Parameters<typeof startFleet>[0] } = {},
): Promise<Harness> {
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
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await call('GET', `/v1/instances/tasks/${taskId}`);
      if (r.status !== 200) throw new Error(`GET task ${taskId}: ${r.status} ${JSON.stringify(r.body)}`);
      const jobs: JobJson[] = r.body.data.jobs;
      if (jobs.every((j) => j.state !== 'queued' && j.state !== 'running')) return jobs;
      if (Date.now() > deadline) throw new Error(`task ${taskId} not finished after ${timeoutMs} ms: ${JSON.stringify(jobs.map((j) => j.state))}`);
      await new Promise((r) => setTimeout(r, 50));
    }
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
