// A database that vanished, was emptied or was replaced must not pass for a first start: SQLite
// creates a missing file without a word, so a restart after such a loss would serve an empty store
// and every tenant, token and task would be gone in silence. The first open writes a marker,
// `<db>.id`, beside the database, holding the id the database itself stores (store_meta, written
// with the schema). A marker without its database refuses to open; a database without a marker
// (a first start, or one from before the marker existed) is given one.
//
// While open, the connection keeps working on a deleted or truncated file (an unlinked inode lives
// on), so the readiness probe also checks that the paths still name the files that were opened.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';

/** The first 16 bytes of every SQLite database file (sqlite.org/fileformat.html, "header string"). */
const HEADER = Buffer.from('SQLite format 3\0', 'latin1');

export function markerPath(dbPath: string): string {
  return `${dbPath}.id`;
}

/** Written at close when the database was emptied in place while open (see noteDamage). */
function damagePath(dbPath: string): string {
  return `${dbPath}.damaged`;
}

/** The id the marker holds, or null when there is none. */
export function readMarker(dbPath: string): string | null {
  try {
    return readFileSync(markerPath(dbPath), 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * Written to a temporary file, fsynced and renamed: a crash leaves the whole marker or none. The
 * temporary name is this process's own: processes opening a new database at once each write one
 * (with the same id), and a shared name would be renamed away under another's fsync.
 */
export function writeMarker(dbPath: string, id: string): void {
  const tmp = `${markerPath(dbPath)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, `${id}\n`, { mode: 0o600 });
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, markerPath(dbPath));
}

function lost(dbPath: string, id: string, what: string, alsoRemove = ''): Error {
  const marker = markerPath(dbPath);
  return new Error(
    `the database ${dbPath} ${what}, but this data directory was set up with database ${id} (${marker}): ` +
      `restore ${basename(dbPath)} from a backup (with its -wal file if it has one), ` +
      `or remove ${marker}${alsoRemove} to start with an empty database`,
  );
}

/**
 * The file was emptied in place while open: closing wrote the WAL's pages back into it, so it has a
 * header again but holds only the pages changed since the last checkpoint. A note beside it keeps
 * the next open from taking it for the database.
 */
export function noteDamage(dbPath: string, what: string): void {
  writeFileSync(damagePath(dbPath), `${new Date().toISOString()} ${what}\n`);
}

/** What is wrong with the file at dbPath as a database, or null when it starts with SQLite's header. */
function fileProblem(dbPath: string): string | null {
  let fd: number;
  try {
    fd = openSync(dbPath, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return e.code === 'ENOENT' ? 'is missing' : `cannot be read (${e.message})`;
  }
  try {
    const head = Buffer.alloc(HEADER.length);
    const n = readSync(fd, head, 0, head.length, 0);
    if (n === 0) return 'is empty (0 bytes)';
    return head.equals(HEADER) ? null : 'is not an SQLite database (its header is gone)';
  } finally {
    closeSync(fd);
  }
}

/** Before opening a marked database (opening a missing path would create it). */
export function checkPresent(dbPath: string, marker: string): void {
  let note: string | null = null;
  try {
    note = readFileSync(damagePath(dbPath), 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (note !== null) {
    const what = `was damaged while the service ran (${damagePath(dbPath)}: ${note}) and holds only its last changes`;
    throw lost(dbPath, marker, what, ` and ${damagePath(dbPath)}`);
  }
  const problem = fileProblem(dbPath);
  if (problem !== null) throw lost(dbPath, marker, problem);
}

/** After opening a marked database, before migrating it: it is the one the marker names. */
export function checkIdentity(dbPath: string, marker: string, storedId: string | null): void {
  if (storedId === null) throw lost(dbPath, marker, 'holds no adbfleet data');
  if (storedId !== marker) throw lost(dbPath, marker, `is another database (${storedId})`);
}

interface FileId {
  path: string;
  dev: number;
  ino: number;
}

function fileId(path: string): FileId | null {
  try {
    const s = statSync(path);
    return { path, dev: s.dev, ino: s.ino };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

/**
 * The database file and its WAL as they were when opened. SQLite keeps the WAL file for as long as
 * a connection is open (it is reset in place at checkpoints, never recreated), so a WAL that is gone
 * or another file means the commits not yet checkpointed are no longer on disk under its name.
 */
export class OpenFiles {
  readonly #dbPath: string;
  readonly #id: string;
  readonly #files: FileId[];

  constructor(dbPath: string, id: string) {
    this.#dbPath = dbPath;
    this.#id = id;
    this.#files = [fileId(dbPath), fileId(`${dbPath}-wal`)].filter((f): f is FileId => f !== null);
  }

  /** What is wrong with the database file if it is still the one opened but no longer a database (truncated, zeroed), else null. */
  damagedInPlace(): string | null {
    const opened = this.#files[0];
    const now = fileId(this.#dbPath);
    if (opened === undefined || now === null || now.dev !== opened.dev || now.ino !== opened.ino) return null;
    return fileProblem(this.#dbPath);
  }

  /** Throws when a file opened is deleted, replaced or (the database) no longer an SQLite file. */
  check(): void {
    for (const f of this.#files) {
      const now = fileId(f.path);
      const what = now === null ? 'was deleted' : now.dev !== f.dev || now.ino !== f.ino ? 'was replaced' : null;
      if (what !== null) throw lost(this.#dbPath, this.#id, `is not the file this process opened: ${f.path} ${what}`);
    }
    const problem = fileProblem(this.#dbPath);
    if (problem !== null) throw lost(this.#dbPath, this.#id, problem);
  }
}
