// The store the API harnesses run on: SQLite in the test's directory, or, with
// ADBFLEET_TEST_STORE=postgres, a fresh schema on the throwaway PostgreSQL cluster (postgres.ts),
// so the API's tests can be run against a PostgreSQL deployment unchanged.
import { join } from 'node:path';
import { createPostgresStore, createSqliteStore, type Store } from '../../src/store/index.js';
import { freshPostgres } from './postgres.js';

/** A new store, not yet open. */
export async function createTestStore(dir: string): Promise<Store> {
  if (process.env.ADBFLEET_TEST_STORE === 'postgres') {
    const { url, schema } = await freshPostgres();
    return createPostgresStore({ url, schema });
  }
  return createSqliteStore({ path: join(dir, 'db.sqlite'), synchronous: 'NORMAL' });
}
