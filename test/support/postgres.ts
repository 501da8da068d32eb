// A throwaway PostgreSQL cluster for the tests that need one: started once per test process, on
// first use, from the binaries Debian's postgresql package installs; listening on 127.0.0.1 only,
// on a free port, trust authentication, fsync on (the server's default); stopped and removed when
// the process exits. PostgreSQL refuses to run as root, so as root the cluster runs as the
// `postgres` user. Each caller gets a schema of its own, never dropped: a failed test's rows stay
// there to be inspected while the process runs (ADBFLEET_TEST_KEEP_PG=1 keeps the whole cluster).
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createPostgresStore, type Store } from '../../src/store/index.js';

export interface PostgresSchema {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  url: string;
  /** a fresh schema name, for createPostgresStore({ schema }) */
  schema: string;
}

interface Cluster {
  url: string;
  /** pg_ctl, the data directory it runs and the server's log file */
  pgCtl: string;
  data: string;
  log: string;
}

const PG_ROOT = '/usr/lib/postgresql';

/** The directory holding initdb, pg_ctl and postgres, or null when PostgreSQL is not installed. */
function binDir(): string | null {
  if (existsSync(PG_ROOT)) {
    const versions = readdirSync(PG_ROOT)
      .filter((v) => existsSync(join(PG_ROOT, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0] !== undefined) return join(PG_ROOT, versions[0], 'bin');
  }
  const found = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  const initdb = found.stdout.trim();
  return found.status === 0 && initdb !== '' ? join(initdb, '..') : null;
}

const isRoot = process.getuid?.() === 0;

/** uid and gid of the postgres user, when this process is root (null: no such user). */
function postgresUser(): { uid: number; gid: number } | null {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    return null;
  }
}

/** Why the PostgreSQL tests cannot run here, or null when they can. One line, for `skip`. */
export const postgresSkipReason: string | null = (() => {
  if (binDir() === null) return 'PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin or on PATH)';
  if (isRoot && postgresUser() === null) return 'running as root and there is no postgres user to run PostgreSQL as';
  return null;
})();

function pgCommand(bin: string, args: string[]): [string, string[]] {
  return isRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
}

/** Runs a PostgreSQL binary, as the postgres user when this process is root. */
function runPg(bin: string, args: string[]): void {
  const r = spawnSync(...pgCommand(bin, args), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${bin} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

let cluster: Promise<Cluster> | null = null;

async function startCluster(): Promise<Cluster> {
  if (postgresSkipReason !== null) throw new Error(postgresSkipReason);
  const bin = binDir() as string;
  const dir = mkdtempSync(join(tmpdir(), 'adbfleet-pg-'));
  const data = join(dir, 'data');
  if (isRoot) {
    const u = postgresUser() as { uid: number; gid: number };
    chownSync(dir, u.uid, u.gid);
  }
  // --no-sync: initdb's own files only; the server runs with fsync on.
  runPg(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
  let started = false;
  const stop = (): void => {
    if (started) spawnSync(...pgCommand(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']), { stdio: 'ignore' });
    if (process.env.ADBFLEET_TEST_KEEP_PG === '1') process.stderr.write(`PostgreSQL test cluster kept in ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  // A port found free can be taken before the server binds it: try a few.
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=200`;
    try {
      runPg(join(bin, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-o', opts, '-w', '-t', '60', 'start']);
      started = true;
      return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, pgCtl: join(bin, 'pg_ctl'), data, log: join(dir, 'log') };
    } catch (err) {
      if (attempt >= 3) throw err;
    }
  }
}

/** A connection URL to the shared test cluster (started on first call) and a schema name no one else uses. */
export async function freshPostgres(): Promise<PostgresSchema> {
  cluster ??= startCluster();
  const { url } = await cluster;
  return { url, schema: `t_${process.pid}_${randomBytes(4).toString('hex')}` };
}

/** A database of its own on the shared test cluster, for processes that use the default schema
 * (`serve --database-url`): its URL. */
export async function freshDatabase(): Promise<string> {
  cluster ??= startCluster();
  const { url } = await cluster;
  const name = `d_${process.pid}_${randomBytes(4).toString('hex')}`;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    // name is made above of [a-z0-9_]: no quoting needed
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  return url.replace(/\/postgres$/, `/${name}`);
}

/**
 * Restarts this process's cluster as a crash would (`pg_ctl restart -m immediate`: every backend
 * killed, no checkpoint, WAL replayed at start), on the same port and options; resolves once it
 * accepts connections again. Throws when no cluster was started yet.
 */
export async function restartCluster(): Promise<void> {
  if (cluster === null) throw new Error('restartCluster: no test cluster was started in this process');
  const { pgCtl, data, log } = await cluster;
  // restart reuses the options of the last start (postmaster.opts): the same port and socket dir.
  // The log file as at start: without one the server would hold this process's pipe open.
  // Not spawnSync: the caller's clients go on (and see the outage) while it restarts.
  const [cmd, args] = pgCommand(pgCtl, ['-D', data, '-l', log, '-m', 'immediate', '-w', '-t', '60', 'restart']);
  await new Promise<void>((resolve, reject) =>
    execFile(cmd, args, { encoding: 'utf8' }, (err, stdout, stderr) =>
      err === null ? resolve() : reject(new Error(`pg_ctl restart -m immediate failed: ${err.message} ${stderr || stdout}`)),
    ),
  );
}

/**
 * What a test file opens on its schemas: stores (each one a "node": its own pool and LISTEN
 * connection) and raw connections with the schema on their search_path, all closed by close()
 * in the file's `after`.
 */
export class PgOpened {
  readonly #stores: Store[] = [];
  readonly #clients: pg.Client[] = [];

  async store(at: PostgresSchema): Promise<Store> {
    const store = createPostgresStore({ url: at.url, schema: at.schema });
    await store.open();
    this.#stores.push(store);
    return store;
  }

  /** `crashes`: the test crashes the server under it, which ends the connection with an error event. */
  async client(at: PostgresSchema, opts: { crashes?: boolean } = {}): Promise<pg.Client> {
    const c = new pg.Client({ connectionString: at.url, options: `-c search_path=${at.schema}` });
    if (opts.crashes === true) c.on('error', () => {});
    await c.connect();
    this.#clients.push(c);
    return c;
  }

  async close(): Promise<void> {
    for (const s of this.#stores) await s.close().catch(() => {});
    for (const c of this.#clients) await c.end().catch(() => {});
  }
}
