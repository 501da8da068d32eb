// The store layer's public face: the Store interface and its types, its errors, and the two
// implementations, SQLite and PostgreSQL.
export type * from './types.js';
export { StoreError, StoreErrorCode } from './errors.js';
export { createSqliteStore, type SqliteStoreOptions } from './sqlite/sqlite-store.js';
export { MIGRATIONS } from './sqlite/migrations.js';
export { createPostgresStore, type PostgresStoreOptions, POSTGRES_MIGRATIONS } from './postgres/index.js';
export type { ChangeFeed, CancelledJobs, InstancesChanged } from './changes.js';
