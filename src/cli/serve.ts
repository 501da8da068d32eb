// `adbfleet serve`: the production service (api + worker on SQLite, or PostgreSQL with
// --database-url, where a process may run one role and a worker some zones), no simulator.
import type { Command } from 'commander';
import type { Config } from '../core/index.js';
import { loadConfig, parseDatabaseUrl, parsePort, parseRole, parseZones } from './config.js';

export interface ServiceFlags {
  host?: string;
  port?: number;
  data?: string;
  databaseUrl?: string;
  role?: Config['role'];
  zones?: string[];
}

export function configFromFlags(flags: ServiceFlags): Config {
  const overrides: Partial<Config> = {};
  if (flags.host !== undefined) overrides.host = flags.host;
  if (flags.port !== undefined) overrides.port = flags.port;
  if (flags.data !== undefined) overrides.dataDir = flags.data;
  if (flags.databaseUrl !== undefined) overrides.databaseUrl = flags.databaseUrl;
  if (flags.role !== undefined) overrides.role = flags.role;
  if (flags.zones !== undefined) overrides.zones = flags.zones;
  return loadConfig(process.env, overrides);
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the service (HTTP API and worker) against registered real instances')
    .option('--host <host>', 'listen address (ADBFLEET_HOST)', undefined)
    .option('--port <port>', 'listen port (ADBFLEET_PORT)', parsePort)
    .option('--data <dir>', 'data directory (ADBFLEET_DATA)')
    .option('--database-url <url>', 'PostgreSQL database, postgres://... (ADBFLEET_DATABASE_URL); default SQLite in the data directory', parseDatabaseUrl)
    .option('--role <role>', 'api, worker or all (ADBFLEET_ROLE); api or worker alone need --database-url', parseRole)
    .option('--zones <z1,z2>', "a worker's zones (ADBFLEET_ZONES); default every zone; needs --database-url", parseZones)
    .action(async (flags: ServiceFlags) => {
      const config = configFromFlags(flags);
      // Loaded here, not at the top: `adbfleet sim` and `admin` need none of the service's modules.
      const { closeOnSignals, createLogger, startService } = await import('./service.js');
      const logger = createLogger(config);
      const service = await startService(config, logger);
      logger.info({ url: service.url, role: config.role, data: config.dataDir }, 'adbfleet ready');
      closeOnSignals(service.close, logger);
    });
}
