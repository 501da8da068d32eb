// Every setting adbfleet reads, the service's and the command-line clients', with SPEC §9's defaults: the
// one place a default is written. The CLI fills it from flags and ADBFLEET_* environment variables
// (docs/OPERATIONS.md lists them); layers receive the values they use and keep no defaults of their own.

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
  /** the service the admin and tenant CLIs talk to (a client setting; the service itself ignores it) */
  url: string;
  /** the tenant token the tenant CLI sends (ADBFLEET_TOKEN; a client setting, the service ignores it) */
  tenantToken: string | null;

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
  /** how long a health check waits for adbd to answer before the instance counts as offline */
  healthTimeoutMs: number;
  /** health pings per second at most: a fleet larger than interval x this is checked over a longer cycle */
  healthPingsPerSecond: number;
  /** on SIGTERM, how long running jobs may finish before they are stored as interrupted (1006) */
  shutdownGraceMs: number;
  /** finished tasks older than this are purged */
  retentionMs: number;
  /** requests per second per tenant, and burst; 0 turns the limit off */
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  /** PostgreSQL database URL (postgres://...); null: SQLite in <dataDir>/adbfleet.db */
  databaseUrl: string | null;
  /** what this process runs: the HTTP API, the worker (jobs), or both; api or worker alone need PostgreSQL */
  role: 'api' | 'worker' | 'all';
  /** the zones whose instances this worker runs; null: every zone (PostgreSQL only) */
  zones: string[] | null;
  /** a worker's instance lease: one not renewed for this long lapses, and its running jobs fail 1006 (PostgreSQL) */
  leaseMs: number;
  /** SQLite synchronous mode: FULL survives power loss, NORMAL only process crashes */
  sqliteSynchronous: 'FULL' | 'NORMAL';
  /** ADB connect timeout and auth timeout */
  adbConnectTimeoutMs: number;
  adbAuthTimeoutMs: number;
  /** how long an HTTP request's headers may take to arrive, then the whole request (headers and body) */
  httpHeadersTimeoutMs: number;
  httpRequestTimeoutMs: number;
  /** HTTP connections open at once from one source address; more are closed as they arrive */
  httpConnectionsPerSource: number;
  /** how long a device may take to answer the OPEN that starts a command (then 1002: not started) */
  adbOpenTimeoutMs: number;
  /** where uploaded, fetched and pulled files live (content-addressed); null: <dataDir>/artifacts.
   * Every API and worker process of a deployment must see the same directory (a shared mount). */
  artifactDir: string | null;
  /** the largest artifact: an upload, a fetched package, a pulled file or a screenshot (bytes) */
  artifactMaxBytes: number;
  /** hosts install_package_url may name (exact names or IP literals, each with a port or for any port); empty: no URL is fetched */
  urlAllowlist: string[];
  /** how long fetching install_package_url may take, whole */
  urlFetchTimeoutMs: number;
  logLevel: string;
  /** GET /metrics without the admin token (tenant ids are labels: only on a private network) */
  metricsPublic: boolean;
}

const HOST = '127.0.0.1';
const PORT = 8080;

export const DEFAULT_CONFIG: Readonly<Config> = Object.freeze({
  host: HOST,
  port: PORT,
  dataDir: './data',
  adminToken: null,
  adbKeyPath: null,
  url: `http://${HOST}:${PORT}`,
  tenantToken: null,
  maxOutputBytes: 1024 * 1024,
  perInstanceConcurrency: 1,
  globalConcurrency: 4096,
  retryWindowMs: 30_000,
  healthIntervalMs: 5_000,
  healthTimeoutMs: 5_000,
  healthPingsPerSecond: 500,
  shutdownGraceMs: 5_000,
  retentionMs: 7 * 24 * 3600 * 1000,
  rateLimitPerSecond: 100,
  rateLimitBurst: 200,
  databaseUrl: null,
  role: 'all',
  zones: null,
  leaseMs: 15_000,
  sqliteSynchronous: 'FULL',
  adbConnectTimeoutMs: 5_000,
  adbAuthTimeoutMs: 10_000,
  httpHeadersTimeoutMs: 10_000,
  httpRequestTimeoutMs: 30_000,
  httpConnectionsPerSource: 256,
  adbOpenTimeoutMs: 5_000,
  artifactDir: null,
  artifactMaxBytes: 2 * 1024 * 1024 * 1024,
  urlAllowlist: [],
  urlFetchTimeoutMs: 300_000,
  logLevel: 'info',
  metricsPublic: false,
});
