// Every setting the service reads, with SPEC §9's defaults. The CLI fills it from flags and
// ADBFLEET_* environment variables (docs/OPERATIONS.md lists them); layers receive the parts they use.

export interface Config {
  /** HTTP listen address */
  host: string;
  port: number;
  /** data dir: SQLite file, adbkey, admin-token, demo-token */
  dataDir: string;
  /** admin token override (ADBFLEET_ADMIN_TOKEN); otherwise generated into <dataDir>/admin-token */
  adminToken: string | null;
  /** path of an existing ADB private key (ADBFLEET_ADB_KEY), else <dataDir>/adbkey */
  adbKeyPath: string | null;

  /** stored output per job, bytes */
  maxOutputBytes: number;
  /** concurrent jobs per instance (FIFO in submission order) */
  perInstanceConcurrency: number;
  /** jobs running at once in this worker */
  globalConcurrency: number;
  /** how long a job waits for an unreachable instance before KOOPHONE.JOB.1002 */
  retryWindowMs: number;
  /** how often the health monitor checks each instance */
  healthIntervalMs: number;
  /** finished tasks older than this are purged */
  retentionMs: number;
  /** requests per second per tenant, and burst; 0 turns the limit off */
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  /** SQLite synchronous mode: FULL survives power loss, NORMAL only process crashes */
  sqliteSynchronous: 'FULL' | 'NORMAL';
  /** ADB connect timeout and auth timeout */
  adbConnectTimeoutMs: number;
  adbAuthTimeoutMs: number;
  logLevel: string;
}

export const DEFAULT_CONFIG: Readonly<Config> = Object.freeze({
  host: '127.0.0.1',
  port: 8080,
  dataDir: './data',
  adminToken: null,
  adbKeyPath: null,
  maxOutputBytes: 1024 * 1024,
  perInstanceConcurrency: 1,
  globalConcurrency: 4096,
  retryWindowMs: 30_000,
  healthIntervalMs: 5_000,
  retentionMs: 7 * 24 * 3600 * 1000,
  rateLimitPerSecond: 100,
  rateLimitBurst: 200,
  sqliteSynchronous: 'FULL',
  adbConnectTimeoutMs: 5_000,
  adbAuthTimeoutMs: 10_000,
  logLevel: 'info',
});
