// The worker side: dispatcher (runs jobs), health monitor (instance status), retention purger.
export type { Dispatcher, HealthMonitor } from './types.js';
export { createDispatcher, type DispatcherOptions } from './dispatcher.js';
export { createStoredHealth, type StoredHealthOptions } from './stored-health.js';
export { createHealthMonitor, type HealthMonitorOptions } from './health-monitor.js';
export { createRetentionPurger, type Purged, type RetentionPurger, type RetentionPurgerOptions } from './retention.js';
export { executeMsg, utf8Prefix } from './outcome.js';
export type { ConnectionPool, Logger, WorkerObserver, WorkerPool, ExecOptions, ExecResult } from './ports.js';
