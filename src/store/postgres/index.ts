// The PostgreSQL store (see src/store/README.md, "PostgreSQL").
export { createPostgresStore, type PostgresStoreOptions } from './postgres-store.js';
export { MIGRATIONS as POSTGRES_MIGRATIONS, JOB_KEY_BLOCK } from './migrations.js';
