// The service as the benchmarks deploy it, on either store, compiled (service.ts's build):
// - sqlite: one `adbfleet serve` process (API and worker), as service.ts starts it;
// - postgres: N `serve --role api` nodes and M `serve --role worker` processes on one fresh
//   database of the bench's cluster (SPEC §11), sharing a data dir (the ADB key, the admin token).
// Either way: a tenant, the API URLs to spread load over, every process with its role (for CPU
// and memory per role), and a Store that reads what the service wrote.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { createPostgresStore, createSqliteStore, type Store } from '../../src/store/index.js';
import { COMPILED_ENTRY, request, startChild, startServeProcess, type ApiResponse, type Child } from '../../test/support/index.js';
import type { PgCluster } from './pg-cluster.js';
import { build, startBenchService } from './service.js';

export type StoreKind = 'sqlite' | 'postgres';

export type Role = 'service' | 'api' | 'worker';

export interface Proc {
  role: Role;
  child: Child;
}

export interface Deployment {
  kind: StoreKind;
  /** what runs, for the table: "1 serve process (API + worker)", "2 API nodes + 2 workers" */
  shape: string;
  /** the API nodes' URLs (one on SQLite) */
  urls: string[];
  tenantId: string;
  token: string;
  admin(method: string, path: string, body?: unknown): Promise<ApiResponse>;
  procs(): Proc[];
  /** a store on the service's database, to read tasks (the caller closes it) */
  openReader(): Promise<Store>;
  /** PostgreSQL: every API node stopped, then as many started with these settings added */
  restartApi(env: Record<string, string>): Promise<void>;
  /** PostgreSQL: resolves once every worker holds its share of `instances` (no-op on SQLite) */
  leasesBalanced(instances: number): Promise<void>;
  stop(): Promise<void>;
}

export interface DeploymentOptions {
  kind: StoreKind;
  /** settings for every process */
  env: Record<string, string>;
  apiNodes: number;
  workers: number;
  /** the cluster (PostgreSQL only) */
  cluster?: PgCluster | undefined;
}

export async function startDeployment(o: DeploymentOptions): Promise<Deployment> {
  return o.kind === 'sqlite' ? sqlite(o.env) : postgres(o);
}

async function sqlite(env: Record<string, string>): Promise<Deployment> {
  const s = await startBenchService(env);
  return {
    kind: 'sqlite',
    shape: '1 serve process (API + worker)',
    urls: [s.url],
    tenantId: s.tenantId,
    token: s.token,
    admin: s.admin,
    procs: () => [{ role: 'service', child: s.child }],
    openReader: async () => {
      // The service owns the database; this store only reads tasks from it (its instance index,
      // loaded at open, is never used here).
      const store = createSqliteStore({ path: join(s.dataDir, 'adbfleet.db') });
      await store.open();
      return store;
    },
    restartApi: () => Promise.reject(new Error('restartApi: SQLite runs one process, with the API and the worker')),
    leasesBalanced: () => Promise.resolve(),
    stop: s.stop,
  };
}

/** Every process started, killed if this one exits without stopping them (an error, Ctrl-C). */
const live = new Set<Child>();
process.once('exit', () => {
  for (const c of live) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
});

/** BENCH_PROFILE=<dir>: every process with --cpu-prof into that dir. */
function nodeArgs(): string[] {
  const profile = process.env.BENCH_PROFILE;
  return profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [];
}

async function postgres(o: DeploymentOptions): Promise<Deployment> {
  if (o.cluster === undefined) throw new Error('a PostgreSQL deployment needs the cluster');
  if (o.apiNodes < 1 || o.workers < 1) throw new Error(`--api-nodes and --workers must be at least 1 (got ${o.apiNodes} and ${o.workers})`);
  build();
  const databaseUrl = await o.cluster.database();
  const dataDir = mkdtempSync(join(tmpdir(), 'adbfleet-bench-'));
  const adminToken = `adm_${randomUUID()}`;
  const env = {
    ADBFLEET_DATA: dataDir,
    ADBFLEET_DATABASE_URL: databaseUrl,
    ADBFLEET_ADMIN_TOKEN: adminToken,
    ADBFLEET_RATE_LIMIT: '0',
    ADBFLEET_LOG_LEVEL: 'info',
    ...o.env,
  };
  const api: Proc[] = [];
  const workers: Proc[] = [];
  const urls: string[] = [];
  const startApi = async (extra: Record<string, string>): Promise<void> => {
    // One at a time: the first migrates the database, the others find it done.
    for (let i = 0; i < o.apiNodes; i++) {
      const { child, url } = await startServeProcess({ ...env, ...extra, ADBFLEET_ROLE: 'api' }, nodeArgs(), COMPILED_ENTRY);
      api.push({ role: 'api', child });
      live.add(child);
      urls.push(url);
    }
  };
  const stopAll = async (): Promise<void> => {
    for (const p of [...api, ...workers]) await p.child.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await startApi({});
    // Workers before any instance exists: each claims its share at its first round after the
    // instances are registered, rather than one taking all and handing half over later.
    for (let i = 0; i < o.workers; i++) {
      const child = startChild(['serve', '--role', 'worker', '--port', '0'], env, nodeArgs(), COMPILED_ENTRY);
      workers.push({ role: 'worker', child });
      live.add(child);
      await child.waitFor(/"msg":"adbfleet ready"/);
    }
  } catch (err) {
    await stopAll();
    throw err;
  }
  const admin = (method: string, path: string, body?: unknown): Promise<ApiResponse> =>
    request(urls[0]!, method, `/admin/v1${path}`, body, { authorization: `Bearer ${adminToken}` });
  const tenant = await admin('POST', '/tenants', { name: 'bench' });
  if (tenant.status !== 200) throw new Error(`creating the bench tenant: ${tenant.status} ${JSON.stringify(tenant.body)}`);
  return {
    kind: 'postgres',
    shape: `${o.apiNodes} API node${o.apiNodes === 1 ? '' : 's'} + ${o.workers} worker${o.workers === 1 ? '' : 's'}, one database`,
    urls,
    tenantId: tenant.body.tenant_id,
    token: tenant.body.token,
    admin,
    procs: () => [...api, ...workers],
    openReader: async () => {
      const store = createPostgresStore({ url: databaseUrl, poolSize: 2 });
      await store.open();
      return store;
    },
    restartApi: async (extra) => {
      for (const p of api) await p.child.kill('SIGTERM');
      api.length = 0;
      urls.length = 0;
      await startApi(extra);
    },
    leasesBalanced: async (instances) => {
      // A worker logs "leases changed" with what it holds after each round that changed it; its
      // share is ceil(instances / workers), the last one's what is left.
      const share = Math.ceil(instances / o.workers);
      const held = new Set([share, instances - share * (o.workers - 1)]);
      const pattern = new RegExp(`"held":(${[...held].join('|')}),.*"msg":"leases changed"`);
      await Promise.all(workers.map((w) => w.child.waitFor(pattern, 60_000)));
    },
    stop: stopAll,
  };
}
