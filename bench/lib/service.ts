// What the service benchmarks share: `adbfleet serve` in its own process with a fresh data dir and
// a tenant, per-process CPU from /proc, and percentiles.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { request, type ApiResponse } from '../../test/helpers/harness.js';
import { startServeProcess, type Child } from '../../test/helpers/processes.js';

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

/** utime+stime of a process in ms (from /proc/<pid>/stat; USER_HZ is 100 on Linux). */
export function cpuMs(pid: number | 'self'): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** The p-th percentile of an ascending array. */
export function pct(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}
