// The store layer's public face: the Store interface and its types, its errors, and the SQLite
// implementation (PostgreSQL will be exported from here too).
export type * from './types.js';
export { StoreError, StoreErrorCode } from './errors.js';
export { createSqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.js';
export type { CommitObserver } from './sqlite/write-batch.js';
export { MIGRATIONS } from './sqlite/migrations.js';
export type { ChangeFeed, CancelledJobs, InstancesChanged } from './changes.js';
