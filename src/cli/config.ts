// Builds the service Config from defaults, ADBFLEET_* environment variables and flags
// (flags win). docs/OPERATIONS.md lists every variable; keep the two in step.
import { DEFAULT_CONFIG, type Config } from '../core/index.js';

type Parser = (raw: string, name: string) => unknown;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const int = (min: number, max = Number.MAX_SAFE_INTEGER): Parser => (raw, name) => {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${raw}"`);
  }
  return n;
};
const text: Parser = (raw) => raw;
const seconds = (min: number): Parser => (raw, name) => (int(min)(raw, name) as number) * 1000;

/** Config key -> [environment variable, parser]. */
export const ENV_VARS: { [K in keyof Config]: [string, Parser] } = {
  host: ['ADBFLEET_HOST', text],
  port: ['ADBFLEET_PORT', int(0, 65535)],
  dataDir: ['ADBFLEET_DATA', text],
  adminToken: ['ADBFLEET_ADMIN_TOKEN', text],
  adbKeyPath: ['ADBFLEET_ADB_KEY', text],
  maxOutputBytes: ['ADBFLEET_MAX_OUTPUT_BYTES', int(1024)],
  perInstanceConcurrency: ['ADBFLEET_INSTANCE_CONCURRENCY', int(1, 64)],
  globalConcurrency: ['ADBFLEET_GLOBAL_CONCURRENCY', int(1)],
  retryWindowMs: ['ADBFLEET_RETRY_WINDOW_SECONDS', seconds(0)],
  healthIntervalMs: ['ADBFLEET_HEALTH_INTERVAL_SECONDS', seconds(1)],
  retentionMs: ['ADBFLEET_RETENTION_DAYS', (raw, name) => (int(1)(raw, name) as number) * 24 * 3600 * 1000],
  rateLimitPerSecond: ['ADBFLEET_RATE_LIMIT', int(0)],
  rateLimitBurst: ['ADBFLEET_RATE_BURST', int(0)],
  sqliteSynchronous: [
    'ADBFLEET_SQLITE_SYNCHRONOUS',
    (raw, name) => {
      if (raw !== 'FULL' && raw !== 'NORMAL') throw new Error(`${name} must be FULL or NORMAL, got "${raw}"`);
      return raw;
    },
  ],
  adbConnectTimeoutMs: ['ADBFLEET_ADB_CONNECT_TIMEOUT_MS', int(100)],
  adbAuthTimeoutMs: ['ADBFLEET_ADB_AUTH_TIMEOUT_MS', int(100)],
  logLevel: [
    'ADBFLEET_LOG_LEVEL',
    (raw, name) => {
      if (!LOG_LEVELS.includes(raw)) throw new Error(`${name} must be one of ${LOG_LEVELS.join(', ')}, got "${raw}"`);
      return raw;
    },
  ],
};

/** Defaults, then the environment, then explicit overrides (from flags). Throws naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv, overrides: Partial<Config> = {}): Config {
  const config: Record<string, unknown> = { ...DEFAULT_CONFIG };
  for (const [key, [name, parse]] of Object.entries(ENV_VARS)) {
    const raw = env[name];
    if (raw !== undefined && raw !== '') config[key] = parse(raw, name);
  }
  for (const [key, value] of Object.entries(overrides)) if (value !== undefined) config[key] = value;
  return config as unknown as Config;
}

export function parsePort(raw: string): number {
  return int(0, 65535)(raw, '--port') as number;
}
