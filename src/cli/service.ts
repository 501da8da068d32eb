// The composition root: one process running the api and worker roles on the SQLite store, or on
// PostgreSQL when a database URL is set, where a process may run one role (--role) and a worker
// some zones (--zones).
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync, chmodSync } from 'node:fs';
import { constants, hostname } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import type { FastifyInstance } from 'fastify';
import { hashToken, newToken, type Config } from '../core/index.js';
import { BlobStore } from '../artifacts/index.js';
import { FleetPool, loadOrCreateKey, type AdbKey } from '../adb/index.js';
import { createPostgresStore, createSqliteStore, type CommitObserver, type Store } from '../store/index.js';
import {
  createDispatcher,
  createHealthMonitor,
  createStoredHealth,
  createRetentionPurger,
  type Dispatcher,
  type HealthMonitor,
} from '../dispatch/index.js';
import { createTaskService } from '../tasks/index.js';
import { buildApi } from '../api/index.js';
import { prepareDataDir } from './data-dir.js';
import { createServiceMetrics } from './metrics.js';

/** After the worker stopped, how long answers in flight may take before connections are cut. */
const API_DRAIN_MS = 2_000;

/** What the process runs: --role api no worker; --role worker no tenant or admin API (its HTTP
 * port serves /healthz, /readyz and /metrics only). */
export interface RunningService {
  url: string;
  port: number;
  config: Config;
  store: Store;
  /** the artifact directory every process of the deployment shares */
  blobs: BlobStore;
  /** null: --role api */
  dispatcher: Dispatcher | null;
  /** what the API answers health from (null: --role worker) */
  monitor: HealthMonitor | null;
  api: FastifyInstance;
  logger: Logger;
  close(): Promise<void>;
}

export function createLogger(config: Config): Logger {
  return pino({ level: config.logLevel, base: { service: 'adbfleet' } });
}

/** The admin token: ADBFLEET_ADMIN_TOKEN, else <data>/admin-token, generated (mode 0600) on first start. */
function adminToken(config: Config): string {
  if (config.adminToken !== null) return config.adminToken;
  const file = join(config.dataDir, 'admin-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const token = newToken('adm');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return token;
}

/** The ADB key: the one ADBFLEET_ADB_KEY names (an error says so), else <data>/adbkey, made on first use. */
export function adbKey(config: Pick<Config, 'dataDir' | 'adbKeyPath'>): AdbKey {
  if (config.adbKeyPath === null) return loadOrCreateKey(config.dataDir);
  try {
    return loadOrCreateKey(config.dataDir, { keyPath: config.adbKeyPath });
  } catch (e) {
    throw new Error(`ADBFLEET_ADB_KEY: ${(e as Error).message}`, { cause: e });
  }
}

function databasePath(config: Config): string {
  return join(config.dataDir, 'adbfleet.db');
}

/** The store the settings name, open: PostgreSQL at ADBFLEET_DATABASE_URL, else SQLite in the data directory. */
async function openStore(config: Config, onCommit: CommitObserver): Promise<Store> {
  if (config.databaseUrl === null) {
    const store = createSqliteStore({ path: databasePath(config), synchronous: config.sqliteSynchronous, onCommit });
    await store.open();
    return store;
  }
  try {
    const store = createPostgresStore({ url: config.databaseUrl, onCommit });
    await store.open();
    return store;
  } catch (err) {
    // One line naming the setting (the store's message names the server, never the password).
    throw new Error(`--database-url/ADBFLEET_DATABASE_URL: ${(err as Error).message}`, { cause: err });
  }
}

/** The artifact directory (uploads, fetched packages, pulled files), created if missing. */
async function openArtifactDir(config: Config): Promise<BlobStore> {
  const blobs = new BlobStore(config.artifactDir ?? join(config.dataDir, 'artifacts'));
  try {
    await blobs.init();
  } catch (err) {
    throw new Error(`ADBFLEET_ARTIFACT_DIR ${blobs.dir}: ${(err as Error).message}`, { cause: err });
  }
  return blobs;
}

/** SPEC §11's roles and zones need a store several processes share; zones are a worker's. */
function checkRole(config: Config): void {
  if (config.role === 'api' && config.zones !== null) {
    throw new Error('--zones/ADBFLEET_ZONES applies to workers: a --role api node runs no jobs (drop it, or use --role worker or all)');
  }
  if (config.databaseUrl !== null) return;
  if (config.role !== 'all') {
    throw new Error(
      `--role/ADBFLEET_ROLE ${config.role} needs --database-url/ADBFLEET_DATABASE_URL (PostgreSQL): on SQLite one process owns the database file and runs both the API and the worker (--role all)`,
    );
  }
  if (config.zones !== null) {
    throw new Error('--zones/ADBFLEET_ZONES needs --database-url/ADBFLEET_DATABASE_URL (PostgreSQL): on SQLite the one worker runs every zone');
  }
}

/** A worker id new at every start (a restarted worker's old leases lapse like a dead one's). */
function workerId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

export async function startService(config: Config, logger: Logger = createLogger(config)): Promise<RunningService> {
  checkRole(config);
  prepareDataDir(config.dataDir);
  const blobs = await openArtifactDir(config);
  const token = adminToken(config);
  const metrics = createServiceMetrics();
  const store = await openStore(config, metrics.commit);
  const runsApi = config.role !== 'worker';
  const runsWorker = config.role !== 'api';
  // Direct host:port instances and adb-server:// ones alike (SPEC §11).
  const pool = new FleetPool({
    key: adbKey(config),
    connectTimeoutMs: config.adbConnectTimeoutMs,
    authTimeoutMs: config.adbAuthTimeoutMs,
    openTimeoutMs: config.adbOpenTimeoutMs,
  });
  // On PostgreSQL every worker leases the instances it runs (one or many workers alike).
  const leases = runsWorker ? store.joinAsWorker({ workerId: workerId(), zones: config.zones, leaseMs: config.leaseMs }) : null;
  const dispatcher = runsWorker
    ? createDispatcher({ store, pool, config, blobs, logger: logger.child({ role: 'worker' }), observer: metrics.worker, leases })
    : null;
  // Health (SPEC §6): on SQLite the one monitor measures every instance and answers the API. On
  // PostgreSQL a worker measures the instances it holds and stores what it finds; the API answers
  // from the store, and asks the holder for reboots through it.
  const sharedHealth = store.sharedHealth();
  const measuring =
    runsWorker || sharedHealth === null ? createHealthMonitor({ store, pool, config, logger: logger.child({ role: 'health' }), leases }) : null;
  const monitor = !runsApi ? null : sharedHealth === null ? measuring : createStoredHealth({ store, health: sharedHealth, logger: logger.child({ role: 'health' }) });
  metrics.attach({ store, pool, monitor: monitor ?? measuring ?? { statusCounts: () => [] }, dispatcher: dispatcher ?? { active: 0, held: 0 } });
  // On PostgreSQL one worker at a time purges (store.tryLead).
  const purger = runsWorker ? createRetentionPurger({ store, config, blobs, logger: logger.child({ role: 'retention' }) }) : null;
  const tasks = createTaskService(store);
  // A worker alone serves the operator's routes only (/healthz, /readyz, /metrics): it has no
  // tenant or admin API, and its health monitor is asked for nothing there.
  const health = monitor ?? measuring;
  if (health === null) throw new Error('a process runs the API, the worker or both: it has a health monitor');
  const api = await buildApi({
    store,
    tasks,
    monitor: health,
    blobs,
    config,
    adminTokenHash: hashToken(token),
    logger: logger.child({ role: runsApi ? 'api' : 'ops' }),
    metrics,
    surface: runsApi ? 'all' : 'ops',
  });
  /**
   * No new requests, then no new jobs; running ones get graceMs. A sync-command in flight holds
   * api.close() until the task service lets it go, after the worker stopped, so the API close is
   * awaited last; connections still open after that (keep-alive, a slow client) are cut. Then the
   * ADB connections and the store, which answered the last requests.
   */
  const shutdown = async (graceMs: number): Promise<void> => {
    const apiClosed = api.close();
    await purger?.stop();
    await monitor?.stop();
    if (measuring !== monitor) await measuring?.stop();
    await dispatcher?.stop(graceMs);
    // Nothing changes jobs in this process any more: waiting sync-commands and cancels answer now.
    tasks.close();
    const timer = setTimeout(() => api.server.closeAllConnections(), API_DRAIN_MS);
    await apiClosed;
    clearTimeout(timer);
    await pool.close();
    metrics.close();
    await store.close();
  };
  await dispatcher?.start();
  await measuring?.start();
  if (monitor !== measuring) await monitor?.start();
  purger?.start();
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => (closing ??= shutdown(config.shutdownGraceMs));
  try {
    await api.listen({ host: config.host, port: config.port });
  } catch (err) {
    await shutdown(0);
    throw new Error(
      `cannot listen on ${config.host}:${config.port} (--host/ADBFLEET_HOST, --port/ADBFLEET_PORT): ${(err as Error).message}`,
      { cause: err },
    );
  }
  const address = api.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  return { url: `http://${host}:${port}`, port, config, store, blobs, dispatcher, monitor, api, logger, close };
}

/**
 * Stops the service on SIGINT/SIGTERM and exits 0 (1 if closing failed). A second signal, of either
 * kind, during the shutdown exits at once (128 + its number, as a kill by it would): an operator's
 * second Ctrl-C or an orchestrator's repeated SIGTERM means "now". Jobs still running are then
 * stored as 1006 at the next start, as after kill -9.
 */
export function closeOnSignals(close: () => Promise<void>, logger: Logger): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now; running jobs are stored as interrupted at the next start');
      process.exit(128 + constants.signals[signal]);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
