// The PostgreSQL cluster the benchmarks run on: test/support/postgres.ts's throwaway cluster
// (fsync on, stopped and removed when this process exits), a fresh database per use, and the
// CPU its server processes spent.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { freshDatabase } from '../../test/support/postgres.js';
import { cpuMs } from './measure.js';

export interface PgCluster {
  /** a new empty database on the cluster: its URL */
  database(): Promise<string>;
  /** the server version, e.g. "15.14" */
  version: string;
  /** CPU ms of every server process so far: the postmaster, the children it reaped and the live ones */
  cpuMs(): number;
  /** the settings that bear on the figures */
  settings: Record<string, string>;
}

let started: Promise<PgCluster> | null = null;

/** Starts the cluster on first call (later calls get the same one). */
export function pgCluster(): Promise<PgCluster> {
  started ??= start();
  return started;
}

async function start(): Promise<PgCluster> {
  const first = await freshDatabase();
  const c = new pg.Client({ connectionString: first });
  await c.connect();
  let dataDir: string;
  let version: string;
  const settings: Record<string, string> = {};
  try {
    dataDir = (await c.query<{ data_directory: string }>('SHOW data_directory')).rows[0]!.data_directory;
    version = (await c.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
    for (const name of ['fsync', 'synchronous_commit', 'wal_sync_method', 'shared_buffers', 'max_connections']) {
      // names from the list above: no quoting needed
      settings[name] = (await c.query<Record<string, string>>(`SHOW ${name}`)).rows[0]![name]!;
    }
  } finally {
    await c.end();
  }
  // postmaster.pid's first line is the postmaster's pid (this process runs the cluster, as root or
  // as its owner, so it can read the file).
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  if (!Number.isInteger(postmaster) || postmaster <= 0) throw new Error(`no postmaster pid in ${dataDir}/postmaster.pid`);
  let handed = false;
  return {
    version,
    settings,
    database: () => {
      // The first database made above is handed out first rather than left unused.
      if (!handed) {
        handed = true;
        return Promise.resolve(first);
      }
      return freshDatabase();
    },
    cpuMs: () => clusterCpuMs(postmaster),
  };
}

/**
 * A backend that exits (a closed connection) moves its CPU into the postmaster's reaped-children
 * count, so own + reaped + live children is every server process's CPU whenever it is read.
 * Children are read first: one that exits between the two reads is counted twice rather than lost,
 * and the benches keep their connections open across a measured window.
 */
function clusterCpuMs(postmaster: number): number {
  let live = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone since the listing
    }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[1] is field 4 (ppid); utime and stime are fields 14 and 15
    if (Number(fields[1]) !== postmaster) continue;
    live += (Number(fields[11]) + Number(fields[12])) * 10;
  }
  return cpuMs(postmaster) + cpuMs(postmaster, true) + live;
}
