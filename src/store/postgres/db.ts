// The connection pool every PostgreSQL store uses: its schema on the search path, bigint and
// numeric counts read as numbers (every key and epoch-ms time is below 2^53), and one helper
// for a transaction on one client. Errors at connect name the setting and the server, never the URL's
// password.
import pg from 'pg';
import { TxSql } from './tx.sql.js';

/** int8: keys, times and counts, all below Number.MAX_SAFE_INTEGER */
const INT8_OID = 20;

const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

export type Queryable = Pick<pg.PoolClient, 'query'>;

/**
 * A statement sent often (every batch of starts, results or submits, every queue read): named, so
 * each connection parses and plans it once (after five runs the server may keep a generic plan)
 * instead of at every call. Planning the worker's statements cost as much as running them.
 */
export const named = (name: string, text: string, values: unknown[]): pg.QueryConfig => ({ name, text, values });

export interface PoolOptions {
  url: string;
  schema: string;
  max: number;
}

/** The URL's parts that can be shown: no password. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.username !== '' ? `${decodeURIComponent(u.username)}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return 'the URL';
  }
}

/** Throws (with what is wrong) unless the URL is a postgres:// or postgresql:// URL with a host. */
export function checkUrl(url: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`"${url.replace(/:[^:@/]*@/, ':***@')}" is not a URL (postgres://user:password@host:5432/database)`);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new Error(`${describeUrl(url)} is not a postgres:// URL`);
  }
  if (u.hostname === '') throw new Error(`${describeUrl(url)} names no host`);
}

/** TCP keepalive on every connection, probing after 10 s idle: a server gone without a word (a
 * failover, a host lost) ends an idle connection within minutes (the kernel's probe interval and
 * count decide), not after two hours; the long-lived ones (LISTEN, the leadership lock) are idle
 * most of the time. */
const KEEPALIVE = { keepAlive: true, keepAliveInitialDelayMillis: 10_000 } as const;

export function createPool(o: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: o.url,
    max: o.max,
    // the schema name is a checked identifier (checkSchemaName): no quoting needed
    options: `-c search_path=${o.schema}`,
    types,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    ...KEEPALIVE,
  });
  // An idle client's connection dropping (server restart) must not crash the process: the pool
  // drops the client and the next query opens another.
  pool.on('error', () => {});
  // pg-pool hears a client's 'error' only while the client is idle (and pool.query while its own
  // query runs): one checked out by pool.connect() for a transaction (the write batch,
  // inTransaction, migrations) that loses its connection would emit an 'error' nobody hears, and
  // crash the process. The query under way rejects with that error anyway, and the client, no
  // longer queryable, leaves the pool when it is released.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

export function createClient(o: Omit<PoolOptions, 'max'>): pg.Client {
  return new pg.Client({ connectionString: o.url, options: `-c search_path=${o.schema}`, types, connectionTimeoutMillis: 10_000, ...KEEPALIVE });
}

/** Runs fn in one transaction on one client of the pool; ROLLBACK on any error. */
export async function inTransaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    return await inTransactionOn(c, () => fn(c));
  } finally {
    c.release();
  }
}

/** Runs fn in one transaction on this client; ROLLBACK on any error. */
export async function inTransactionOn<T>(c: pg.ClientBase, fn: () => Promise<T>): Promise<T> {
  await c.query(TxSql.begin);
  try {
    const out = await fn();
    await c.query(TxSql.commit);
    return out;
  } catch (err) {
    await c.query(TxSql.rollback).catch(() => {});
    throw err;
  }
}
