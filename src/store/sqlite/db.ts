// Opens a connection with the settings every adbfleet SQLite database uses, and caches prepared
// statements (preparing is far costlier than running).
import Database from 'better-sqlite3';

export type Synchronous = 'FULL' | 'NORMAL';

/** How long a writer waits for another process's write lock before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 10_000;

export function openDatabase(path: string, synchronous: Synchronous): Database.Database {
  if (synchronous !== 'FULL' && synchronous !== 'NORMAL') throw new RangeError(`synchronous ${String(synchronous)}`);
  let db: Database.Database;
  try {
    db = new Database(path);
  } catch (err) {
    throw cannotOpen(path, err);
  }
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // WAL: readers never block the writer, and a commit is one sequential append (+ fsync).
    // An in-memory database answers 'memory' and stays so.
    db.pragma('journal_mode = WAL');
    // FULL fsyncs the WAL at every commit (survives power loss); NORMAL only at checkpoints
    // (survives a process crash, which is what kill -9 tests).
    db.pragma(`synchronous = ${synchronous}`);
    db.pragma('foreign_keys = ON');
    return db;
  } catch (err) {
    db.close();
    throw cannotOpen(path, err);
  }
}

/**
 * SQLite's own words ("unable to open database file", "attempt to write a readonly database") name
 * neither the file nor the fix; other errors pass unchanged.
 */
export function cannotOpen(path: string, err: unknown): unknown {
  if (!(err instanceof Database.SqliteError)) return err;
  return new Error(
    `cannot open the database ${path}: ${err.message} (${err.code}): its directory must exist and be writable ` +
      'by this user, as must the file, since SQLite creates its -wal and -shm files beside it',
    { cause: err },
  );
}

export class StatementCache {
  readonly #db: Database.Database;
  readonly #cache = new Map<string, Database.Statement>();
  constructor(db: Database.Database) {
    this.#db = db;
  }
  get(sql: string): Database.Statement {
    let s = this.#cache.get(sql);
    if (s === undefined) {
      s = this.#db.prepare(sql);
      this.#cache.set(sql, s);
    }
    return s;
  }
}
