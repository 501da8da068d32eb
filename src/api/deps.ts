// What the API needs from the rest of the process.
import type { Logger } from 'pino';
import type { Config } from '../core/index.js';
import type { Dispatcher, HealthMonitor } from '../dispatch/index.js';
import type { Store } from '../store/index.js';

export interface ApiDeps {
  store: Store;
  dispatcher: Dispatcher;
  monitor: HealthMonitor;
  config: Config;
  /** SHA-256 of the operator's admin token */
  adminTokenHash: Buffer;
  /** a pino logger, or false for none (the default) */
  logger?: Logger | false;
  /** Server-Sent Events heartbeat interval (default 15 s); also how often a stream re-reads the store */
  sseHeartbeatMs?: number;
}
