// The settings table: each Config key's ADBFLEET_* variable, how its text is read, and how
// docs/OPERATIONS.md writes its default (a test holds the two in step). Values come from the
// defaults, then the environment, then flags; nothing below the CLI reads the environment.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG, type Config } from '../core/index.js';

interface Setting {
  variable: string;
  /** the variable's text to the value; throws naming the variable */
  parse(raw: string, name: string): unknown;
  /** a value as docs/OPERATIONS.md's default column writes it */
  show(value: unknown): string;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const DAY_MS = 24 * 3600 * 1000;

function integer(raw: string, name: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return n;
}

/** An integer setting held in `unit`s of its variable (1000 for seconds as milliseconds). */
const int = (variable: string, min: number, max = Number.MAX_SAFE_INTEGER, unit = 1): Setting => ({
  variable,
  parse: (raw, name) => integer(raw, name, min, Math.floor(max / unit)) * unit,
  show: (value) => String((value as number) / unit),
});
const seconds = (variable: string, min: number): Setting => int(variable, min, Number.MAX_SAFE_INTEGER, 1000);

/** Text; `unset` is what the docs say happens when it is not set. */
const text = (variable: string, unset = ''): Setting => ({
  variable,
  parse: (raw) => raw,
  show: (value) => (value === null ? unset : String(value)),
});

/** A file path; "~/..." as an env file writes it, where no shell expanded it, is the home's. */
const path = (variable: string, unset: string): Setting => ({
  ...text(variable, unset),
  parse: (raw) => (raw === '~' || raw.startsWith('~/') ? join(homedir(), raw.slice(1)) : raw),
});

const oneOf = (variable: string, values: readonly string[]): Setting => ({
  variable,
  parse: (raw, name) => {
    if (!values.includes(raw)) throw new Error(`${name} must be one of ${values.join(', ')}, got "${raw}"`);
    return raw;
  },
  show: String,
});

/** A postgres:// URL with a host; the error never repeats a password. */
const databaseUrl = (variable: string): Setting => ({
  ...text(variable, 'none'),
  parse: (raw, name) => {
    let u: URL | null = null;
    try {
      u = new URL(raw);
    } catch {
      // reported below
    }
    if (u === null || (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') || u.hostname === '') {
      throw new Error(`${name} must be a PostgreSQL URL like postgres://user:password@host:5432/database, got "${raw.replace(/:[^:@/]*@/, ':***@')}"`);
    }
    return raw;
  },
});

/** Zone names, comma-separated (blanks around them ignored); none named is refused. */
const zoneList = (variable: string): Setting => ({
  ...text(variable, 'every zone'),
  parse: (raw, name) => {
    const zones = [...new Set(raw.split(',').map((z) => z.trim()))];
    if (zones.some((z) => z === '')) throw new Error(`${name} must be zone names separated by commas, like z1,z2, got "${raw}"`);
    return zones;
  },
  show: (value) => (value === null ? 'every zone' : (value as string[]).join(',')),
});

/** Host names or IP literals, each alone (any port) or with a port, comma-separated (blanks ignored,
 * lowercased); empty allows none. */
const hostList = (variable: string): Setting => ({
  variable,
  parse: (raw, name) => {
    const hosts = [...new Set(raw.split(',').map((h) => h.trim().toLowerCase()).filter((h) => h !== ''))];
    const bad = hosts.find((h) => !/^(?:[a-z0-9_.-]+|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$/.test(h));
    if (bad !== undefined) {
      throw new Error(`${name} must be host names (each with a port, or any port) separated by commas, like packages.example.com,10.0.0.5:8080, got "${bad}"`);
    }
    return hosts;
  },
  show: (value) => ((value as string[]).length === 0 ? 'none (no URL is fetched)' : (value as string[]).join(',')),
});

/** true or false, nothing else: a typo must not open what it meant to keep closed. */
const flag = (variable: string): Setting => ({
  variable,
  parse: (raw, name) => {
    if (raw !== 'true' && raw !== 'false') throw new Error(`${name} must be true or false, got "${raw}"`);
    return raw === 'true';
  },
  show: String,
});

export const SETTINGS: { readonly [K in keyof Config]: Setting } = {
  host: text('ADBFLEET_HOST'),
  port: int('ADBFLEET_PORT', 0, 65535),
  dataDir: text('ADBFLEET_DATA'),
  adminToken: text('ADBFLEET_ADMIN_TOKEN', 'generated'),
  adbKeyPath: path('ADBFLEET_ADB_KEY', '<data>/adbkey'),
  url: text('ADBFLEET_URL'),
  tenantToken: text('ADBFLEET_TOKEN', 'none'),
  maxOutputBytes: int('ADBFLEET_MAX_OUTPUT_BYTES', 1024),
  perInstanceConcurrency: int('ADBFLEET_INSTANCE_CONCURRENCY', 1, 64),
  globalConcurrency: int('ADBFLEET_GLOBAL_CONCURRENCY', 1),
  retryWindowMs: seconds('ADBFLEET_RETRY_WINDOW_SECONDS', 0),
  healthIntervalMs: seconds('ADBFLEET_HEALTH_INTERVAL_SECONDS', 1),
  healthTimeoutMs: seconds('ADBFLEET_HEALTH_TIMEOUT_SECONDS', 1),
  healthPingsPerSecond: int('ADBFLEET_HEALTH_PINGS_PER_SECOND', 1),
  shutdownGraceMs: seconds('ADBFLEET_SHUTDOWN_GRACE_SECONDS', 0),
  retentionMs: int('ADBFLEET_RETENTION_DAYS', 1, Number.MAX_SAFE_INTEGER, DAY_MS),
  rateLimitPerSecond: int('ADBFLEET_RATE_LIMIT', 0),
  rateLimitBurst: int('ADBFLEET_RATE_BURST', 0),
  databaseUrl: databaseUrl('ADBFLEET_DATABASE_URL'),
  role: oneOf('ADBFLEET_ROLE', ['api', 'worker', 'all']),
  zones: zoneList('ADBFLEET_ZONES'),
  leaseMs: seconds('ADBFLEET_LEASE_SECONDS', 1),
  sqliteSynchronous: oneOf('ADBFLEET_SQLITE_SYNCHRONOUS', ['FULL', 'NORMAL']),
  adbConnectTimeoutMs: int('ADBFLEET_ADB_CONNECT_TIMEOUT_MS', 100),
  adbAuthTimeoutMs: int('ADBFLEET_ADB_AUTH_TIMEOUT_MS', 100),
  httpHeadersTimeoutMs: int('ADBFLEET_HTTP_HEADERS_TIMEOUT_MS', 100),
  httpRequestTimeoutMs: int('ADBFLEET_HTTP_REQUEST_TIMEOUT_MS', 100),
  httpConnectionsPerSource: int('ADBFLEET_HTTP_CONNECTIONS_PER_SOURCE', 1),
  adbOpenTimeoutMs: int('ADBFLEET_ADB_OPEN_TIMEOUT_MS', 100),
  artifactDir: path('ADBFLEET_ARTIFACT_DIR', '<data>/artifacts'),
  artifactMaxBytes: int('ADBFLEET_ARTIFACT_MAX_BYTES', 1),
  urlAllowlist: hostList('ADBFLEET_URL_ALLOWLIST'),
  urlFetchTimeoutMs: seconds('ADBFLEET_URL_FETCH_TIMEOUT_SECONDS', 1),
  logLevel: oneOf('ADBFLEET_LOG_LEVEL', LOG_LEVELS),
  metricsPublic: flag('ADBFLEET_METRICS_PUBLIC'),
};

/** The named settings only: their defaults, then the environment. Throws naming the variable. */
export function readSettings<K extends keyof Config>(env: NodeJS.ProcessEnv, keys: readonly K[]): Pick<Config, K> {
  const values: Partial<Record<keyof Config, unknown>> = {};
  for (const key of keys) {
    const { variable, parse } = SETTINGS[key];
    const raw = env[variable];
    values[key] = raw !== undefined && raw !== '' ? parse(raw, variable) : DEFAULT_CONFIG[key];
  }
  return values as Pick<Config, K>;
}

/** Every setting: defaults, then the environment, then explicit overrides (from flags). */
export function loadConfig(env: NodeJS.ProcessEnv, overrides: Partial<Config> = {}): Config {
  const config: Record<string, unknown> = readSettings(env, Object.keys(SETTINGS) as Array<keyof Config>);
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) config[key] = value;
  return config as unknown as Config;
}

export function parseDatabaseUrl(raw: string): string {
  return SETTINGS.databaseUrl.parse(raw, '--database-url') as string;
}

export function parseRole(raw: string): Config['role'] {
  return SETTINGS.role.parse(raw, '--role') as Config['role'];
}

export function parseZones(raw: string): string[] {
  return SETTINGS.zones.parse(raw, '--zones') as string[];
}

export function parsePort(raw: string): number {
  return SETTINGS.port.parse(raw, '--port') as number;
}
