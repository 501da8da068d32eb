// What the service benchmarks share: `adbfleet serve` in its own process with a fresh data dir and
// a tenant.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { COMPILED_ENTRY, request, startServeProcess, type ApiResponse, type Child } from '../../test/support/index.js';

export interface BenchService {
  url: string;
  child: Child;
  dataDir: string;
  tenantId: string;
  token: string;
  admin(method: string, path: string, body?: unknown): Promise<ApiResponse>;
  stop(): Promise<void>;
}

let built = false;

/** The service as users run it: compiled (`npm run build`, done here once per run), not through
 * tsx, whose compiler would add ~30 MB to the memory figures. */
export function build(): void {
  if (built) return;
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  built = true;
}

/** BENCH_PROFILE=<dir> runs the service with --cpu-prof into that dir. */
export async function startBenchService(env: Record<string, string>): Promise<BenchService> {
  build();
  const dataDir = mkdtempSync(join(tmpdir(), 'adbfleet-bench-'));
  const adminToken = `adm_${randomUUID()}`;
  const profile = process.env.BENCH_PROFILE;
  const { child, url } = await startServeProcess(
    { ADBFLEET_DATA: dataDir, ADBFLEET_ADMIN_TOKEN: adminToken, ADBFLEET_RATE_LIMIT: '0', ADBFLEET_LOG_LEVEL: 'info', ...env },
    profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [],
    COMPILED_ENTRY,
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
