// Versioned schema. Each migration runs once, in its own BEGIN IMMEDIATE transaction: the first
// process to take the write lock applies it, a second one starting at the same moment waits
// (busy_timeout), then finds the version recorded and skips it. Never edit a released migration;
// append a new one.
//
// Schema choices, for throughput (ARCHITECTURE.md targets ~100,000 job rows/s):
// - INTEGER primary keys everywhere; the public ids (task_id, job_id, ...) are plain columns.
// - jobs have no index on job_id or task: a task's jobs are written by one INSERT in one
//   transaction under SQLite's single writer, so their keys are contiguous and the task records
//   the range (job_first, job_count). PostgreSQL, with concurrent writers, needs an index on
//   jobs(task) instead.
// - jobs.task has no declared FOREIGN KEY: SQLite checks a parent DELETE by searching the child
//   table, which without an index on jobs(task) is a full scan per purged task. The store writes
//   a task and its jobs in one transaction and purges them together.
// - The queue reads through two partial indexes (queued, running) that hold only live jobs.
// - Instances are soft-deleted (deleted_at) because finished jobs still name them; instance_id is
//   unique among live instances.
import type Database from 'better-sqlite3';

interface Migration {
  version: number;
  name: string;
  sql: string;
}

// The job states and final states are written out here rather than interpolated from core:
// a migration is history and must not change meaning when code changes. A conformance test
// checks that the CHECKs accept exactly core's JOB_STATES.
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE tenants (
  id INTEGER PRIMARY KEY,
  tenant_id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;

CREATE TABLE tokens (
  id INTEGER PRIMARY KEY,
  token_hash BLOB NOT NULL UNIQUE CHECK (length(token_hash) = 32),
  prefix TEXT NOT NULL,
  tenant INTEGER NOT NULL REFERENCES tenants (id),
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
) STRICT;
CREATE INDEX tokens_tenant_prefix ON tokens (tenant, prefix);

CREATE TABLE instances (
  id INTEGER PRIMARY KEY,
  instance_id TEXT NOT NULL,
  adb_address TEXT NOT NULL,
  instance_name TEXT NOT NULL,
  zone TEXT NOT NULL,
  tenant INTEGER REFERENCES tenants (id),
  created_at INTEGER NOT NULL,
  deleted_at INTEGER,
  CHECK (deleted_at IS NULL OR tenant IS NULL)
) STRICT;
CREATE UNIQUE INDEX instances_live_id ON instances (instance_id) WHERE deleted_at IS NULL;
CREATE INDEX instances_tenant ON instances (tenant, instance_id) WHERE deleted_at IS NULL;

CREATE TABLE tasks (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  task_id TEXT NOT NULL UNIQUE,
  tenant INTEGER NOT NULL REFERENCES tenants (id),
  command TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('async', 'sync')),
  timeout_ms INTEGER NOT NULL CHECK (timeout_ms > 0),
  request_id TEXT,
  request_hash TEXT,
  created_at INTEGER NOT NULL,
  job_first INTEGER NOT NULL,
  job_count INTEGER NOT NULL CHECK (job_count > 0)
) STRICT;
CREATE INDEX tasks_tenant ON tasks (tenant, id);
CREATE INDEX tasks_created ON tasks (created_at);
CREATE UNIQUE INDEX tasks_request ON tasks (tenant, request_id) WHERE request_id IS NOT NULL;

-- AUTOINCREMENT: job keys never go backwards, even after a purge empties the table, so a
-- worker reading the queue "after key N" never misses a new job.
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  task INTEGER NOT NULL,
  instance INTEGER NOT NULL REFERENCES instances (id),
  job_id TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'queued' CHECK (state = 'queued' OR state = 'running' OR state = 'succeeded'
    OR state = 'failed' OR state = 'timed_out' OR state = 'cancelled'),
  error_code TEXT NOT NULL DEFAULT '',
  error_msg TEXT NOT NULL DEFAULT '',
  execute_msg TEXT NOT NULL DEFAULT '',
  exit_code INTEGER,
  output_bytes INTEGER NOT NULL DEFAULT 0,
  output_truncated INTEGER NOT NULL DEFAULT 0 CHECK (output_truncated IN (0, 1)),
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  -- River style: finished exactly when final (not queued or running), and an error code exactly
  -- when finished. Written with = and OR, not IN: SQLite evaluates an IN list in a CHECK far
  -- slower (measured: the IN form halved INSERT throughput).
  CHECK ((finished_at IS NULL) = (state = 'queued' OR state = 'running')),
  CHECK ((error_code = '') = (finished_at IS NULL)),
  CHECK (state <> 'running' OR started_at IS NOT NULL)
) STRICT;
CREATE INDEX jobs_queued ON jobs (id) WHERE state = 'queued';
CREATE INDEX jobs_running ON jobs (id) WHERE state = 'running';

-- Written only for jobs that produced output. stdout or stderr NULL: the same bytes as combined
-- (the other stream was empty), so a one-stream output is stored once.
CREATE TABLE job_outputs (
  job INTEGER PRIMARY KEY REFERENCES jobs (id),
  stdout BLOB,
  stderr BLOB,
  combined BLOB
) STRICT;
`,
  },
  {
    version: 2,
    name: 'store identity and readiness probe',
    // 'id' is written once, with the schema: the marker file beside the database repeats it, so a
    // database lost or replaced under a data directory is told apart from a first start
    // (identity.ts). 'probe' is the row /readyz writes and reads back.
    sql: `
CREATE TABLE store_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
INSERT INTO store_meta (key, value) VALUES ('id', lower(hex(randomblob(16))));
`,
  },
  {
    version: 3,
    name: 'audit log',
    // One row per state-changing request, appended in the shared write batch. AUTOINCREMENT: an
    // id names one entry for good (an auditor may cite it), even after retention empties the
    // table. The actor is the tenant's public id, not a key: 'admin' and refused requests name no
    // tenant row. The action has no CHECK: new actions come with new routes, and SQLite cannot
    // change a CHECK without rebuilding the table. The four indexes serve the admin API's filters
    // and the purge (by at); at ~one row per request they cost little beside a task's jobs.
    sql: `
CREATE TABLE audit_log (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  actor TEXT,
  token_prefix TEXT,
  source TEXT NOT NULL,
  request_id TEXT NOT NULL,
  action TEXT NOT NULL,
  targets TEXT NOT NULL,
  status INTEGER NOT NULL CHECK (status >= 100 AND status <= 599),
  error_code TEXT NOT NULL,
  task_id TEXT,
  replayed INTEGER NOT NULL DEFAULT 0 CHECK (replayed = 0 OR replayed = 1)
) STRICT;
CREATE INDEX audit_at ON audit_log (at);
CREATE INDEX audit_actor ON audit_log (actor, id);
CREATE INDEX audit_action ON audit_log (action, id);
CREATE INDEX audit_request ON audit_log (request_id);
`,
  },
  {
    version: 4,
    name: 'device operations and artifacts',
    // A task runs a shell command (op NULL) or a device operation (op: its JSON, core's TaskOp);
    // `kind` keeps meaning async or sync. An upload is one row per (tenant, sha256): the same bytes
    // uploaded again are the same artifact. Its unique index leads with sha256 so that it also
    // answers which files the artifact directory must keep (referencedBlobs); (tenant, sha256)
    // lookups use it the same way. A task naming an upload (install, push) holds it from
    // retention: tasks.artifact is declared a foreign key (a purge deletes only uploads no task
    // names, and the check of that DELETE reads tasks_artifact, partial: shell tasks, the common
    // case, add nothing to it). A job's own file (pull, screenshot) is a row of job_artifacts,
    // keyed by the job like job_outputs and purged with it.
    sql: `
CREATE TABLE artifacts (
  id INTEGER PRIMARY KEY,
  artifact_id TEXT NOT NULL UNIQUE,
  tenant INTEGER NOT NULL REFERENCES tenants (id),
  sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
  size INTEGER NOT NULL CHECK (size >= 0),
  content_type TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  used_at INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX artifacts_blob ON artifacts (sha256, tenant);
CREATE INDEX artifacts_used ON artifacts (used_at);

ALTER TABLE tasks ADD COLUMN op TEXT;
ALTER TABLE tasks ADD COLUMN artifact INTEGER REFERENCES artifacts (id);
CREATE INDEX tasks_artifact ON tasks (artifact) WHERE artifact IS NOT NULL;

CREATE TABLE job_artifacts (
  job INTEGER PRIMARY KEY REFERENCES jobs (id),
  sha256 TEXT NOT NULL CHECK (length(sha256) = 64),
  size INTEGER NOT NULL CHECK (size >= 0),
  content_type TEXT NOT NULL
) STRICT;
CREATE INDEX job_artifacts_blob ON job_artifacts (sha256);
`,
  },
];

const CREATE_MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at INTEGER NOT NULL
) STRICT`;
const SELECT_APPLIED = 'SELECT 1 FROM schema_migrations WHERE version = ?';
const INSERT_APPLIED = 'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)';

/** Applies pending migrations; returns the versions applied by this call. */
export function migrate(db: Database.Database, migrations: readonly Migration[] = MIGRATIONS): number[] {
  const applied: number[] = [];
  for (const m of migrations) {
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(CREATE_MIGRATIONS_TABLE);
      if (db.prepare(SELECT_APPLIED).get(m.version) === undefined) {
        db.exec(m.sql);
        db.prepare(INSERT_APPLIED).run(m.version, m.name, Date.now());
        applied.push(m.version);
      }
      db.exec('COMMIT');
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw err;
    }
  }
  return applied;
}
