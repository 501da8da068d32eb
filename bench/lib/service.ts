// What the service benchmarks share: `adbfleet serve` in its own process with a fresh data dir and
// a tenant.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { request, startServeProcess, type ApiResponse, type Child } from '../../test/support/index.js';

export interface BenchService {
  url: string;
  child: Child;
  dataDir: string;
  tenantId: string;
  token: string;
  admin(method: string, path: string, body?: unknown): Promise<ApiResponse>;
  stop(): Promise<void>;
}

/** BENCH_PROFILE=<dir> runs the service with --cpu-prof into that dir. */
export async function startBenchService(env: Record<string, string>): Promise<BenchService> {
  const dataDir = mkdtempSync(join(tmpdir(), 'adbfleet-bench-'));
  const adminToken = `adm_${randomUUID()}`;
  const profile = process.env.BENCH_PROFILE;
  const { child, url } = await startServeProcess(
    { ADBFLEET_DATA: dataDir, ADBFLEET_ADMIN_TOKEN: adminToken, ADBFLEET_RATE_LIMIT: '0', ADBFLEET_LOG_LEVEL: 'info', ...env },
    profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [],
  );
  const admin = (method: string, path: string, body?: unknown): Promise<ApiResponse> =>
    request(url, method, `/admin/v1${path}`, body, { authorization: `Bearer ${adminToken}` });
  const tenant = await admin('POST', '/tenants', { name: 'bench' });
  return {
    url,
    child,
    dataDir,
    tenantId: tenant.body.tenant_id,
    token: tenant.body.token,
    admin,
    stop: async () => {
      await child.kill('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
