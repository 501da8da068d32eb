// The raw PostgreSQL ceilings the services are measured against, in the same run and on the same
// cluster: plain `pg`, no adbfleet code on the measured path, each in a database of its own.
// The tables, indexes and sequence are the store's own (its migrations' SQL, run here as text), so
// the rows written cost what the store's rows cost.
// (a) Submit: one task + 100 jobs per transaction, one CTE statement (the shape the issue measured
//     best: the task takes a block of job keys from one nextval, its jobs are one INSERT from
//     arrays), from `clients` connections at once, each in a loop. The service writes the same
//     rows (plus its idempotency lookup, ownership check and an audit entry per request).
// (b) Dispatch: claim 100 queued jobs with FOR UPDATE SKIP LOCKED (-> running, committed), then
//     finish those 100 (the store's own finish statement, QueueSql.finish: the results from
//     arrays and the output row `echo hello` leaves, 'hello\n', in one statement), committed, in a loop, from 1 and from 2 claimers, over rounds of the
//     e2e bench's work (its tasks x 100 jobs queued, then drained): a claim's cost depends on
//     what is queued, so the queue is as deep as the service's.
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { QueueSql } from '../../src/store/postgres/queue.sql.js';
import type { PgCluster } from './pg-cluster.js';

const WARMUP_MS = 500;
const JOBS_PER_CLAIM = 100;
const EMPTY = Buffer.alloc(0);

export interface InsertCeiling {
  tasksPerSecond: number;
  jobsPerSecond: number;
  tasks: number;
  seconds: number;
  clients: number;
  jobsPerTask: number;
  /** the server processes' CPU per task (ms) */
  postgresCpuMsPerTask: number;
}

export interface ClaimCeiling {
  claimers: number;
  jobsPerSecond: number;
  jobs: number;
  seconds: number;
  jobsPerClaim: number;
  postgresCpuMsPerJob: number;
}

const Sql = {
  tenant: "INSERT INTO tenants (tenant_id, name, created_at) VALUES ('raw', 'raw', 0) RETURNING id",
  instances: `INSERT INTO instances (instance_id, adb_address, instance_name, zone, tenant, created_at)
    SELECT 'raw-' || n, '127.0.0.1:9', 'raw-' || n, 'z', $1, 0 FROM generate_series(1, $2) AS n
    RETURNING id`,
  /** one task and its jobs; $9 instance keys, $10 job ids */
  submit: `WITH t AS (
      INSERT INTO tasks (task_id, tenant, command, kind, timeout_ms, request_id, request_hash, created_at, job_first, job_count)
      VALUES ($1, $2, $3, $4, $5, $6, $7, $8, nextval('job_keys'), cardinality($9::bigint[]))
      ON CONFLICT (tenant, request_id) WHERE request_id IS NOT NULL DO NOTHING
      RETURNING id, job_first
    )
    INSERT INTO jobs (id, task, instance, job_id, created_at)
    SELECT t.job_first + u.n - 1, t.id, u.instance, u.job_id, $8
    FROM t, unnest($9::bigint[], $10::text[]) WITH ORDINALITY AS u(instance, job_id, n)`,
  /** $1 tasks of $2 jobs each, queued, for the claimers (not measured) */
  fill: `WITH t AS (
      INSERT INTO tasks (task_id, tenant, command, kind, timeout_ms, created_at, job_first, job_count)
      SELECT md5(random()::text), $3, 'echo hello', 'async', 300000, 0, nextval('job_keys'), $2
      FROM generate_series(1, $1)
      RETURNING id, job_first
    )
    INSERT INTO jobs (id, task, instance, job_id, created_at)
    SELECT t.job_first + n - 1, t.id, $4, md5(random()::text), 0 FROM t, generate_series(1, $2) AS n`,
  /** ANY(ARRAY(...)): the locked keys probe the primary key, no join plan to go wrong */
  claim: `UPDATE jobs SET state = 'running', started_at = $1
    WHERE id = ANY(ARRAY(SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED))
    RETURNING id`,
} as const;

/** A fresh database with the store's schema; its tenant key and `instances` instance keys. */
async function schema(cluster: PgCluster, instances: number): Promise<{ url: string; tenant: number; instanceKeys: number[] }> {
  const url = await cluster.database();
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    for (const m of MIGRATIONS) await c.query(m.sql);
    const tenant = Number((await c.query<{ id: string }>(Sql.tenant)).rows[0]!.id);
    const instanceKeys = (await c.query<{ id: string }>(Sql.instances, [tenant, instances])).rows.map((r) => Number(r.id));
    return { url, tenant, instanceKeys };
  } finally {
    await c.end();
  }
}

/** Connected clients, each its own session. */
async function connect(url: string, n: number): Promise<pg.Client[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      return c;
    }),
  );
}

/** Runs `loop` on every client until `ms` have passed; returns units done and seconds taken. */
async function timed(clients: readonly pg.Client[], ms: number, step: (c: pg.Client, i: number) => Promise<number>): Promise<{ done: number; seconds: number }> {
  const t0 = performance.now();
  let done = 0;
  await Promise.all(
    clients.map(async (c, i) => {
      while (performance.now() - t0 < ms) done += await step(c, i);
    }),
  );
  return { done, seconds: (performance.now() - t0) / 1000 };
}

export async function measureInsertCeiling(cluster: PgCluster, o: { seconds: number; clients: number; jobsPerTask: number }): Promise<InsertCeiling> {
  const { url, tenant, instanceKeys } = await schema(cluster, o.jobsPerTask);
  const clients = await connect(url, o.clients);
  try {
    const hash = 'e'.repeat(64);
    const step = async (c: pg.Client): Promise<number> => {
      const id = randomUUID();
      const hex = randomBytes(16 * instanceKeys.length).toString('hex');
      const jobIds = Array.from({ length: instanceKeys.length }, (_, i) => hex.slice(32 * i, 32 * i + 32));
      const now = Date.now();
      await c.query(Sql.submit, [randomBytes(16).toString('hex'), tenant, 'echo hello', 'async', 300_000, id, hash, now, instanceKeys, jobIds]);
      return 1;
    };
    await timed(clients, WARMUP_MS, step);
    const cpu0 = cluster.cpuMs();
    const { done, seconds } = await timed(clients, o.seconds * 1000, step);
    const cpu = cluster.cpuMs() - cpu0;
    return {
      tasksPerSecond: done / seconds,
      jobsPerSecond: (done * instanceKeys.length) / seconds,
      tasks: done,
      seconds,
      clients: o.clients,
      jobsPerTask: instanceKeys.length,
      postgresCpuMsPerTask: cpu / done,
    };
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
}

/** Claim + finish from 1, 2, ... claimers in turn: rounds of `roundJobs` queued jobs (queued
 * and vacuumed between rounds, not measured), each drained by the claimers, until `seconds` of
 * draining. */
export async function measureClaimCeilings(cluster: PgCluster, o: { seconds: number; claimers: readonly number[]; roundJobs: number }): Promise<ClaimCeiling[]> {
  const { url, tenant, instanceKeys } = await schema(cluster, 1);
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const out: ClaimCeiling[] = [];
  const combined = Buffer.from('hello\n');
  /** claims and finishes one batch; the jobs it finished (0: the round is drained) */
  const step = async (c: pg.Client): Promise<number> => {
    const ids = (await c.query<{ id: string }>(Sql.claim, [Date.now(), JOBS_PER_CLAIM])).rows.map((r) => r.id);
    const n = ids.length;
    if (n === 0) return 0;
    const now = Date.now();
    const same = <T>(v: T): T[] => new Array<T>(n).fill(v);
    // The store's own statement: the results, and each job's output row as the store writes one
    // with no stderr (stdout NULL: the same as combined).
    await c.query(QueueSql.finish, [ids, same('succeeded'), same('0'), same('ok'), same(0), same('hello\n'), same(6), same(false), same(now), 'running', ids, same(null), same(EMPTY), same(combined)]);
    return n;
  };
  try {
    for (const claimers of o.claimers) {
      const clients = await connect(url, claimers);
      try {
        const round = async (): Promise<{ done: number; seconds: number; cpu: number }> => {
          await admin.query(Sql.fill, [Math.ceil(o.roundJobs / 100), 100, tenant, instanceKeys[0]]);
          // No dead index entries of the previous round's claims to step over, fresh statistics.
          await admin.query('VACUUM ANALYZE jobs');
          const cpu0 = cluster.cpuMs();
          const { done, seconds } = await drain(clients, step);
          return { done, seconds, cpu: cluster.cpuMs() - cpu0 };
        };
        await round(); // warm-up
        const total = { done: 0, seconds: 0, cpu: 0 };
        while (total.seconds < o.seconds) {
          const r = await round();
          total.done += r.done;
          total.seconds += r.seconds;
          total.cpu += r.cpu;
        }
        out.push({
          claimers,
          jobsPerSecond: total.done / total.seconds,
          jobs: total.done,
          seconds: total.seconds,
          jobsPerClaim: JOBS_PER_CLAIM,
          postgresCpuMsPerJob: total.cpu / total.done,
        });
      } finally {
        await Promise.all(clients.map((c) => c.end()));
      }
    }
    return out;
  } finally {
    await admin.end();
  }
}

/** Runs `step` on every client until it returns 0 there; the units done and seconds taken. */
export async function drain<C>(clients: readonly C[], step: (c: C) => Promise<number>): Promise<{ done: number; seconds: number }> {
  const t0 = performance.now();
  let done = 0;
  await Promise.all(
    clients.map(async (c) => {
      for (let n = await step(c); n > 0; n = await step(c)) done += n;
    }),
  );
  return { done, seconds: (performance.now() - t0) / 1000 };
}
