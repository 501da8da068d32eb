// Versioned schema for PostgreSQL. Migrations run under a session advisory lock keyed by the
// schema, so processes starting together apply each one once: the first takes the lock and
// migrates, the others wait, then find every version recorded. Each migration is also its own
// transaction. Never edit a released migration; append a new one.
//
// Schema choices, against the calibration on a 2-core machine (one task + 100 jobs per
// transaction: 480-660 tasks/s with a multi-row INSERT, ~930 without the FK jobs -> instances,
// ~1,075 without an index on jobs (task) too):
// - bigint keys, times as epoch ms bigint, the same CHECKs as SQLite's schema.
// - jobs.instance has no FOREIGN KEY: ownership is checked by the store inside the writing
//   transaction, as SQLite's store does; instances are never deleted (soft delete), so the key
//   stays valid. jobs.task has none either: a task and its jobs are written and purged together.
// - A task's jobs take a contiguous block of keys from one nextval of job_keys (INCREMENT BY 128,
//   more than the 100 instances a request may name), so the task records the range (job_first,
//   job_count) and jobs need no index on task. Why not setval(nextval() + n - 1): between the two
//   calls another transaction's nextval lands inside the range; a lock around them would serialize
//   every submit. An INCREMENT makes one call allocate a whole block, atomically, with no lock. The
//   price is up to 128 keys per task, of 2^53: 7 * 10^13 tasks.
// - The queue reads through two partial indexes (queued, running) on the key.
import type pg from 'pg';
import { StoreError, StoreErrorCode } from '../errors.js';
import { inTransactionOn } from './db.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Keys one task may take; a task of more jobs is refused (the API allows 100). */
export const JOB_KEY_BLOCK = 128;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE tenants (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id text NOT NULL UNIQUE,
  name text NOT NULL,
  created_at bigint NOT NULL
);

CREATE TABLE tokens (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
  prefix text NOT NULL,
  tenant bigint NOT NULL REFERENCES tenants (id),
  created_at bigint NOT NULL,
  revoked_at bigint
);
CREATE INDEX tokens_tenant_prefix ON tokens (tenant, prefix);

CREATE TABLE instances (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  instance_id text NOT NULL,
  adb_address text NOT NULL,
  instance_name text NOT NULL,
  zone text NOT NULL,
  tenant bigint REFERENCES tenants (id),
  created_at bigint NOT NULL,
  deleted_at bigint,
  CHECK (deleted_at IS NULL OR tenant IS NULL)
);
CREATE UNIQUE INDEX instances_live_id ON instances (instance_id) WHERE deleted_at IS NULL;
CREATE INDEX instances_tenant ON instances (tenant, instance_id) WHERE deleted_at IS NULL;

CREATE SEQUENCE job_keys AS bigint INCREMENT BY 128 MINVALUE 1 START WITH 1;

CREATE TABLE tasks (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  task_id text NOT NULL UNIQUE,
  tenant bigint NOT NULL REFERENCES tenants (id),
  command text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('async', 'sync')),
  timeout_ms bigint NOT NULL CHECK (timeout_ms > 0),
  request_id text,
  request_hash text,
  created_at bigint NOT NULL,
  job_first bigint NOT NULL,
  job_count integer NOT NULL CHECK (job_count > 0 AND job_count <= 128)
);
CREATE INDEX tasks_tenant ON tasks (tenant, id);
CREATE INDEX tasks_created ON tasks (created_at);
CREATE UNIQUE INDEX tasks_request ON tasks (tenant, request_id) WHERE request_id IS NOT NULL;

CREATE TABLE jobs (
  id bigint PRIMARY KEY,
  task bigint NOT NULL,
  instance bigint NOT NULL,
  job_id text NOT NULL,
  state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'timed_out', 'cancelled')),
  error_code text NOT NULL DEFAULT '',
  error_msg text NOT NULL DEFAULT '',
  execute_msg text NOT NULL DEFAULT '',
  exit_code integer,
  output_bytes bigint NOT NULL DEFAULT 0,
  output_truncated boolean NOT NULL DEFAULT false,
  created_at bigint NOT NULL,
  started_at bigint,
  finished_at bigint,
  CHECK ((finished_at IS NULL) = (state IN ('queued', 'running'))),
  CHECK ((error_code = '') = (finished_at IS NULL)),
  CHECK (state <> 'running' OR started_at IS NOT NULL)
);
CREATE INDEX jobs_queued ON jobs (id) WHERE state = 'queued';
CREATE INDEX jobs_running ON jobs (id) WHERE state = 'running';

-- Written only for jobs that produced output. stdout or stderr NULL: the same bytes as combined.
CREATE TABLE job_outputs (
  job bigint PRIMARY KEY REFERENCES jobs (id),
  stdout bytea,
  stderr bytea,
  combined bytea
);

CREATE TABLE store_meta (
  key text PRIMARY KEY,
  value text NOT NULL
);
INSERT INTO store_meta (key, value) VALUES ('id', md5(random()::text || clock_timestamp()::text));
`,
  },
  {
    version: 2,
    name: 'audit log',
    // SQLite's migration 3. An identity never hands out a value twice, even after retention
    // empties the table: an id names one entry for good. Ids are taken before commit, so a reader
    // may see 7 before 6 commits; listAudit pages newest first by id and nothing follows the log's
    // tail by id, so that does no harm. The action has no CHECK, as on SQLite: new actions come
    // with new routes.
    sql: `
CREATE TABLE audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at bigint NOT NULL,
  actor text,
  token_prefix text,
  source text NOT NULL,
  request_id text NOT NULL,
  action text NOT NULL,
  targets jsonb NOT NULL,
  status integer NOT NULL CHECK (status >= 100 AND status <= 599),
  error_code text NOT NULL,
  task_id text,
  replayed boolean NOT NULL DEFAULT false
);
CREATE INDEX audit_at ON audit_log (at);
CREATE INDEX audit_actor ON audit_log (actor, id);
CREATE INDEX audit_action ON audit_log (action, id);
CREATE INDEX audit_request ON audit_log (request_id);
`,
  },
  {
    version: 3,
    name: 'worker leases',
    // Several workers on one database lease instances (leases.ts): the holder of an instance's
    // lease is the only worker that moves its jobs to running. A lease lasts as long as its
    // worker's heartbeat in `workers` (expires_at): renewing every lease is one row, not one per
    // instance held. Each claim takes a new lease_epoch: a worker that lost an instance and
    // claimed it again between two of its rounds sees it as a new lease (its lane starts over)
    // rather than as one it kept. The owner is a column on the instance rather than a table of its
    // own: the claim, markRunning's check and the rescue lock the same row. instances_zone serves
    // a round's count of its zones' instances and its claims.
    sql: `
CREATE TABLE workers (
  worker_id text PRIMARY KEY,
  zones text[],
  started_at bigint NOT NULL,
  expires_at bigint NOT NULL
);
CREATE SEQUENCE lease_epochs AS bigint;
ALTER TABLE instances ADD COLUMN lease_owner text, ADD COLUMN lease_epoch bigint;
CREATE INDEX instances_lease_owner ON instances (lease_owner) WHERE lease_owner IS NOT NULL;
CREATE INDEX instances_zone ON instances (zone, id) WHERE deleted_at IS NULL;
`,
  },
  {
    version: 4,
    name: 'shared rate limit',
    // One token bucket per tenant for every API node (rate-limit.ts). Not a foreign key: a row
    // is written on a tenant's first request and is a few bytes; tenants are never deleted.
    sql: `
CREATE TABLE rate_buckets (
  tenant bigint PRIMARY KEY,
  tokens double precision NOT NULL,
  at double precision NOT NULL
);
`,
  },
  {
    version: 5,
    name: 'instance health',
    // SPEC §6's status as the worker holding the instance measured it (health.ts), and a reboot
    // an API node asked that worker for. API nodes read the statuses measured lately by
    // instances_health_at, not the whole table every second.
    sql: `
ALTER TABLE instances ADD COLUMN health_status smallint NOT NULL DEFAULT 0 CHECK (health_status BETWEEN 0 AND 5),
  ADD COLUMN health_at bigint, ADD COLUMN reboot_requested_at bigint;
CREATE INDEX instances_health_at ON instances (health_at) WHERE health_at IS NOT NULL;
`,
  },
  {
    version: 6,
    name: 'cancel of running jobs',
    // A running job's cancel is told to its worker by a notice; a notice can be lost (a dropped
    // LISTEN connection), so it is also written on the job, where the worker polls for it. No
    // default: adding the column does not rewrite the table.
    sql: `ALTER TABLE jobs ADD COLUMN cancel_requested_at bigint;`,
  },
  {
    version: 7,
    name: 'write marks',
    // Each store's write batch updates its own row in every transaction, with the batch's number:
    // when a COMMIT is cut off, the row says whether it took effect (write-batch.ts). The
    // transaction id cannot: after a crash the server hands out again the ids of transactions
    // whose WAL never reached disk, and pg_xact_status then answers for another transaction. A
    // row per store opened; a process killed leaves its row (a few dozen bytes) behind.
    sql: `CREATE TABLE write_marks (writer text PRIMARY KEY, mark bigint NOT NULL);`,
  },
  {
    version: 8,
    name: 'device operations and artifacts',
    // SQLite's migration 4. op is jsonb: the pg driver hands it back parsed, and NULL (a shell
    // command) as null. The unique index of uploads leads with sha256 so that it also answers
    // referencedBlobs. tasks.artifact is a foreign key, whose check at a purge's DELETE reads
    // tasks_artifact, partial. A createTask naming an upload and a purge of it are ordered by the
    // upload's row: createTask updates it (used_at) before it inserts the task, and the purge locks
    // it before it looks for tasks naming it (artifacts.sql.ts).
    sql: `
CREATE TABLE artifacts (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  artifact_id text NOT NULL UNIQUE,
  tenant bigint NOT NULL REFERENCES tenants (id),
  sha256 text NOT NULL CHECK (length(sha256) = 64),
  size bigint NOT NULL CHECK (size >= 0),
  content_type text NOT NULL,
  created_at bigint NOT NULL,
  used_at bigint NOT NULL
);
CREATE UNIQUE INDEX artifacts_blob ON artifacts (sha256, tenant);
CREATE INDEX artifacts_used ON artifacts (used_at);

ALTER TABLE tasks ADD COLUMN op jsonb, ADD COLUMN artifact bigint REFERENCES artifacts (id);
CREATE INDEX tasks_artifact ON tasks (artifact) WHERE artifact IS NOT NULL;

CREATE TABLE job_artifacts (
  job bigint PRIMARY KEY REFERENCES jobs (id),
  sha256 text NOT NULL CHECK (length(sha256) = 64),
  size bigint NOT NULL CHECK (size >= 0),
  content_type text NOT NULL
);
CREATE INDEX job_artifacts_blob ON job_artifacts (sha256);
`,
  },
  {
    version: 9,
    name: 'rate limit blocks',
    // An API node takes its tenants' tokens in blocks (rate-limit.ts): how many the last take got,
    // which the statement's RETURNING cannot compute from the row's new value alone. A constant
    // default: adding the column does not rewrite the table, and nodes of the version before keep
    // working beside the new ones during a rolling upgrade.
    sql: `ALTER TABLE rate_buckets ADD COLUMN taken integer NOT NULL DEFAULT 1;`,
  },
  {
    version: 10,
    name: 'job outputs without a foreign key',
    // Its check ran once per output row (a lookup of the job, locked FOR KEY SHARE) inside the
    // results statement: 3.8 us of PostgreSQL per job in bench:e2e, for nothing, since that
    // statement writes outputs only for the jobs it has just updated, and a purge deletes a
    // task's outputs before its jobs. As for jobs -> tasks and jobs -> instances (migration 1).
    sql: `ALTER TABLE job_outputs DROP CONSTRAINT IF EXISTS job_outputs_job_fkey;`,
  },
];

/** Schema names the store accepts: plain identifiers, so they are never quoted or escaped. */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function checkSchemaName(schema: string): void {
  if (!SCHEMA_NAME.test(schema)) {
    throw new StoreError(StoreErrorCode.InvalidArgument, `schema "${schema}" must be lower-case letters, digits and _ (at most 63), not starting with a digit`);
  }
}

export const MigrationSql = {
  /** session lock, one per schema: (namespace, hash of the schema name) */
  lock: "SELECT pg_advisory_lock(20541, hashtext('adbfleet-migrate:' || $1))",
  unlock: "SELECT pg_advisory_unlock(20541, hashtext('adbfleet-migrate:' || $1))",
  /** the schema name is checked by checkSchemaName: an identifier that needs no quoting */
  createSchema: (schema: string) => `CREATE SCHEMA IF NOT EXISTS ${schema}`,
  createTable: `CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at bigint NOT NULL
  )`,
  applied: 'SELECT version FROM schema_migrations',
  record: 'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)',
} as const;

/** Applies pending migrations under the schema's advisory lock; returns the versions this call applied. */
export async function migrate(pool: pg.Pool, schema: string, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  checkSchemaName(schema);
  const c = await pool.connect();
  const applied: number[] = [];
  try {
    await c.query(MigrationSql.lock, [schema]);
    try {
      await c.query(MigrationSql.createSchema(schema));
      await c.query(MigrationSql.createTable);
      const done = new Set((await c.query<{ version: number }>(MigrationSql.applied)).rows.map((r) => r.version));
      for (const m of migrations) {
        if (done.has(m.version)) continue;
        await inTransactionOn(c, async () => {
          await c.query(m.sql);
          await c.query(MigrationSql.record, [m.version, m.name, Date.now()]);
        });
        applied.push(m.version);
      }
    } finally {
      await c.query(MigrationSql.unlock, [schema]);
    }
  } finally {
    c.release();
  }
  return applied;
}
