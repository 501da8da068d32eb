// pg-boss (10.4.2) doing bench:e2e's work end to end, on a database of its own on the same
// cluster, against the same simulator process and instances, after our run:
// - `producers` child processes (as our API nodes) insert the window's tasks, task k from
//   producer k mod producers, one `boss.insert` of its 100 jobs ({ command: 'echo hello',
//   instance: <adb address> }, the instances of our task k) per task, clients / producers inserts
//   in flight in each (as our HTTP clients are spread over the API nodes);
// - `consumers` child processes (as our workers), started first and polling the empty queue
//   (every 10 ms when a fetch finds nothing), each fetching batches of 100 in `fetchLoops` loops,
//   running every job's command on its instance through our AdbPool (one connection per
//   instance, one command per instance at a time) and completing the batch with each job's
//   stdout, stderr and exit code as its data (pgboss-e2e-child.ts).
// First one job on every instance (connects included), not measured, as our warm-up. Then measured:
// from the first insert to the last completion (the latest completed_on pg-boss stored), and the
// CPU every process of each role spent meanwhile (producers, consumers, simulator, the
// PostgreSQL server's processes), per job.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { loadOrCreateKey } from '../../src/adb/index.js';
import { cpuMs } from './measure.js';
import type { PgCluster } from './pg-cluster.js';

export const QUEUE = 'e2e';
export const PER_CALL = 100;
/** A consumer whose fetch came back empty asks again this much later (pg-boss has no wake-up on insert). */
export const IDLE_POLL_MS = 10;
/** No batch completed for this long: the run stops and says so (a bench must not hang). */
const STALL_MS = 60_000;

export interface JobData {
  command: string;
  instance: string;
}

/** The parent's messages: a child's role first, then (producers) what to insert. */
export type ToChild =
  | { kind: 'producer'; url: string; loops: number; addresses: string[]; perTask: number }
  | { kind: 'consumer'; url: string; loops: number; keyDir: string }
  | { kind: 'insert'; command: string; tasks: number[] };

export type FromChild =
  | { kind: 'ready' }
  /** producer: the tasks of an `insert` are in; when its first insert was sent (epoch ms) */
  | { kind: 'inserted'; firstInsertAt: number; jobs: number }
  /** consumer: a batch completed */
  | { kind: 'completed'; jobs: number; succeeded: number }
  | { kind: 'failed'; message: string };

export type BossRole = 'producers' | 'consumers' | 'simulator' | 'postgres';

export const BOSS_ROLE_NAMES: Record<BossRole, string> = {
  producers: 'producers',
  consumers: 'consumers',
  simulator: 'simulator',
  postgres: 'PostgreSQL server',
};

export interface BossSameWork {
  producers: number;
  insertsInFlightPerProducer: number;
  consumers: number;
  fetchLoopsPerConsumer: number;
  jobsPerFetch: number;
  idlePollMs: number;
  warmupSeconds: number;
  jobs: number;
  succeeded: number;
  seconds: number;
  jobsPerSecond: number;
  cpuMsPerJob: Record<BossRole, number>;
}

export interface BossSameWorkOptions {
  /** the simulator's instances, as registered for our run */
  addresses: readonly string[];
  simulatorPid: number;
  tasks: number;
  perTask: number;
  clients: number;
  producers: number;
  consumers: number;
  fetchLoops: number;
}

const CHILD = fileURLToPath(new URL('./pgboss-e2e-child.ts', import.meta.url));

/** Children still running, killed if this process exits without stopping them. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

interface Kid {
  proc: ChildProcess;
  /** resolves with the next message of that kind */
  next<K extends FromChild['kind']>(kind: K): Promise<Extract<FromChild, { kind: K }>>;
  stop(): Promise<void>;
}

/** Starts a child and gives it its role; `failed` is called once if it reports a failure or exits early. */
function startKid(role: Extract<ToChild, { kind: 'producer' | 'consumer' }>, onMessage: (m: FromChild) => void, failed: (err: Error) => void): Kid {
  const proc = fork(CHILD, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
  live.add(proc);
  let stderr = '';
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-2000)));
  const waiting = new Map<string, Array<(m: FromChild) => void>>();
  let stopping = false;
  proc.on('message', (m: FromChild) => {
    if (m.kind === 'failed') failed(new Error(`pg-boss ${role.kind} ${proc.pid}: ${m.message}`));
    const w = waiting.get(m.kind)?.shift();
    if (w !== undefined) w(m);
    onMessage(m);
  });
  const exited = new Promise<void>((resolve) =>
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      if (!stopping) failed(new Error(`pg-boss ${role.kind} ${proc.pid} exited (${code ?? signal}); stderr: ${stderr}`));
      resolve();
    }),
  );
  proc.send(role);
  return {
    proc,
    next: (kind) =>
      new Promise((resolve) => {
        const list = waiting.get(kind) ?? [];
        list.push(resolve as (m: FromChild) => void);
        waiting.set(kind, list);
      }),
    stop: async () => {
      stopping = true;
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

export async function measureBossSameWork(cluster: PgCluster, o: BossSameWorkOptions): Promise<BossSameWork> {
  const url = await cluster.database();
  // Schema and queue made here once: the children start on them without migrating, none racing another.
  const setup = new PgBoss({ connectionString: url, max: 1, supervise: false, schedule: false });
  await setup.start();
  await setup.createQueue(QUEUE);
  await setup.stop({ graceful: false, wait: true });
  // One key for both consumers, as our workers share the data directory's.
  const keyDir = mkdtempSync(join(tmpdir(), 'adbfleet-pgboss-'));
  loadOrCreateKey(keyDir);

  let failure: Error | null = null;
  let completed = 0;
  let succeeded = 0;
  let progressAt = Date.now();
  let progress: (() => void) | null = null;
  let rejectFailed: (err: Error) => void = () => {};
  /** rejects with the first failure of any child */
  const anyFailure = new Promise<never>((_, reject) => (rejectFailed = reject));
  anyFailure.catch(() => {}); // read where awaited; not unhandled before then
  const failed = (err: Error): void => {
    failure ??= err;
    rejectFailed(err);
    progress?.();
  };
  const onMessage = (m: FromChild): void => {
    if (m.kind !== 'completed') return;
    completed += m.jobs;
    succeeded += m.succeeded;
    progressAt = Date.now();
    progress?.();
  };
  /** Resolves once `n` jobs completed since the counts were zeroed; rejects on a failure or a stall. */
  const untilCompleted = (n: number): Promise<void> =>
    new Promise((resolve, reject) => {
      progressAt = Date.now();
      const timer = setInterval(() => progress?.(), 1000);
      progress = () => {
        const err = failure ?? (Date.now() - progressAt > STALL_MS ? new Error(`pg-boss: no batch completed for ${STALL_MS / 1000} s, ${completed} of ${n} jobs done`) : null);
        if (err === null && completed < n) return;
        clearInterval(timer);
        progress = null;
        if (err === null) resolve();
        else reject(err);
      };
      progress();
    });

  const kids: Kid[] = [];
  try {
    const consumers = Array.from({ length: o.consumers }, () => startKid({ kind: 'consumer', url, loops: o.fetchLoops, keyDir }, onMessage, failed));
    kids.push(...consumers);
    const insertLoops = Math.max(1, Math.round(o.clients / o.producers));
    const producers = Array.from({ length: o.producers }, () =>
      startKid({ kind: 'producer', url, loops: insertLoops, addresses: [...o.addresses], perTask: o.perTask }, onMessage, failed),
    );
    kids.push(...producers);
    await Promise.race([Promise.all(kids.map((k) => k.next('ready'))), anyFailure]);

    /** tasks 0..n-1 of `command`, task k from producer k mod producers; resolves with the first insert's time */
    const insert = async (command: string, n: number): Promise<number> => {
      const sent = await Promise.all(
        producers.map((p, i) => {
          const inserted = p.next('inserted');
          p.proc.send({ kind: 'insert', command, tasks: Array.from({ length: n }, (_, k) => k).filter((k) => k % o.producers === i) } satisfies ToChild);
          return inserted;
        }),
      );
      return Math.min(...sent.map((s) => s.firstInsertAt));
    };

    const warmTasks = Math.ceil(o.addresses.length / o.perTask);
    const w0 = performance.now();
    await Promise.all([insert('echo warm', warmTasks), untilCompleted(warmTasks * o.perTask)]);
    const warmupSeconds = (performance.now() - w0) / 1000;

    completed = 0;
    succeeded = 0;
    const jobs = o.tasks * o.perTask;
    const sources: Array<[BossRole, () => number]> = [
      ...producers.map((p): [BossRole, () => number] => ['producers', () => cpuMs(p.proc.pid!)]),
      ...consumers.map((c): [BossRole, () => number] => ['consumers', () => cpuMs(c.proc.pid!)]),
      ['simulator', () => cpuMs(o.simulatorPid)],
      ['postgres', cluster.cpuMs],
    ];
    const before = sources.map(([, ms]) => ms());
    const [firstInsertAt] = await Promise.all([insert('echo hello', o.tasks), untilCompleted(jobs)]);
    const cpu: Record<BossRole, number> = { producers: 0, consumers: 0, simulator: 0, postgres: 0 };
    sources.forEach(([role, ms], i) => (cpu[role] += (ms() - before[i]!) / jobs));

    const stored = await lastCompletion(url, jobs);
    const seconds = (stored - firstInsertAt) / 1000;
    return {
      producers: o.producers,
      insertsInFlightPerProducer: insertLoops,
      consumers: o.consumers,
      fetchLoopsPerConsumer: o.fetchLoops,
      jobsPerFetch: PER_CALL,
      idlePollMs: IDLE_POLL_MS,
      warmupSeconds,
      jobs: completed,
      succeeded,
      seconds,
      jobsPerSecond: completed / seconds,
      cpuMsPerJob: cpu,
    };
  } finally {
    for (const k of kids) await k.stop();
    rmSync(keyDir, { recursive: true, force: true });
  }
}

/** The latest completed_on of the window's jobs (epoch ms), once pg-boss holds every one completed. */
async function lastCompletion(url: string, jobs: number): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const r = await c.query<{ completed: number; last: string | null }>(
      `SELECT count(*)::int AS completed, (extract(epoch FROM max(completed_on)) * 1000)::text AS last
         FROM pgboss.job WHERE name = $1 AND data->>'command' = 'echo hello' AND state = 'completed'`,
      [QUEUE],
    );
    const row = r.rows[0]!;
    if (row.completed !== jobs || row.last === null) throw new Error(`pg-boss: ${row.completed} of the window's ${jobs} jobs stored completed`);
    return Number(row.last);
  } finally {
    await c.end();
  }
}
