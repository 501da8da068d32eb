// What the API needs from the rest of the process.
import type { Logger } from 'pino';
import type { BlobStore } from '../artifacts/index.js';
import type { Config, InstanceStatus } from '../core/index.js';
import type { InstanceTarget, Store } from '../store/index.js';
import type { TaskService } from '../tasks/index.js';

export interface ApiDeps {
  store: Store;
  /** submit, cancel, run-and-wait and watch: the task's life goes through here */
  tasks: TaskService;
  monitor: InstanceHealth;
  /** the artifact directory (SPEC §10): uploads and fetched packages go in, job artifacts come out */
  blobs: BlobStore;
  config: Config;
  /** SHA-256 of the operator's admin token */
  adminTokenHash: Buffer;
  /** a pino logger, or false for none (the default) */
  logger?: Logger | false;
  /** Server-Sent Events heartbeat interval (default 15 s); also how often a stream re-reads the store */
  sseHeartbeatMs?: number;
  /** what GET /metrics serves, told of every answered request; absent: no /metrics route */
  metrics?: ApiMetrics;
  /** where the built web console is (default: this package's dist/console) */
  consoleDir?: string;
  /** 'ops': only /healthz, /readyz and /metrics, for a process that runs no API (serve --role
   * worker); default 'all' */
  surface?: 'all' | 'ops';
}

/** The metrics the API feeds and serves (the process's registry satisfies it). Told per request:
 * each call must be cheap and must not throw. */
export interface ApiMetrics {
  /** the exposition's content type */
  readonly contentType: string;
  /** every metric of the process, in Prometheus's text format */
  render(): Promise<string>;
  /** An answered request: its route's pattern (never the raw URL; UNMATCHED_ROUTE when no route
   * matched), method and status code. */
  responded(route: string, method: string, status: number): void;
  /** A submit route accepted a task of this tenant (public id). */
  submitted(route: string, tenantId: string): void;
}

/** The route label of a request no route matched (a 404). */
export const UNMATCHED_ROUTE = 'unmatched';

/** What the API asks of the health monitor (the worker side's HealthMonitor satisfies it). */
export interface InstanceHealth {
  /** SPEC §6 status of a registered instance (0 when never checked) */
  status(instanceId: string): InstanceStatus;
  /** reboots through ADB's reboot: service; the instance shows 4 (starting) until adbd answers */
  reboot(target: InstanceTarget): Promise<void>;
}
