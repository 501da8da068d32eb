// One process of pg-boss doing bench:e2e's work (pgboss-e2e.ts starts it with an IPC channel and
// tells it what to be in its first message):
// - producer: inserts tasks of 100 jobs, one `boss.insert` of 100 per task, from `loops` loops at
//   once (what our API nodes' HTTP clients are), when told which tasks;
// - consumer: from the start, fetches batches of 100 in `loops` loops, runs each job's command on
//   its instance through AdbPool (the worker's client for host:port instances, with the options
//   the service gives it; one connection per instance) one command per instance at a time (our
//   per-instance FIFO), and completes the batch with each job's output, then reports the count.
import PgBoss from 'pg-boss';
import { AdbPool, isAdbError, loadOrCreateKey, type ExecResult } from '../../src/adb/index.js';
import { DEFAULT_CONFIG } from '../../src/core/config.js';
import { LIMITS } from '../../src/core/limits.js';
import { JobCancel } from '../../src/dispatch/lane.js';
import { IDLE_POLL_MS, PER_CALL, QUEUE, type FromChild, type JobData, type ToChild } from './pgboss-e2e.js';

/** What a job's completion stores: the command's output and exit status, as our finish stores them. */
interface Output {
  stdout: string;
  stderr: string;
  exitCode: number | null;
}

function send(m: FromChild): void {
  process.send!(m);
}

async function start(url: string, max: number): Promise<PgBoss> {
  // The parent installed the schema and created the queue; maintenance and scheduling off, as
  // lib/pgboss.ts runs it, so only the calls measured here run.
  const boss = new PgBoss({ connectionString: url, max, supervise: false, schedule: false, migrate: false });
  boss.on('error', (err: Error) => send({ kind: 'failed', message: `pg-boss: ${err.message}` }));
  await boss.start();
  return boss;
}

async function producer(m: Extract<ToChild, { kind: 'producer' }>): Promise<void> {
  const boss = await start(m.url, m.loops);
  process.on('message', (msg: ToChild) => {
    if (msg.kind !== 'insert') return;
    void (async () => {
      let next = 0;
      let firstInsertAt = Infinity;
      await Promise.all(
        Array.from({ length: m.loops }, async () => {
          while (next < msg.tasks.length) {
            const k = msg.tasks[next++]!;
            const start = (k * m.perTask) % m.addresses.length;
            const jobs: PgBoss.JobInsert<JobData>[] = Array.from({ length: m.perTask }, (_, i) => ({
              name: QUEUE,
              data: { command: msg.command, instance: m.addresses[(start + i) % m.addresses.length]! },
            }));
            firstInsertAt = Math.min(firstInsertAt, Date.now());
            await boss.insert(jobs);
          }
        }),
      );
      send({ kind: 'inserted', firstInsertAt, jobs: msg.tasks.length * m.perTask });
    })().catch((err: unknown) => send({ kind: 'failed', message: `insert: ${(err as Error).message}` }));
  });
  send({ kind: 'ready' });
}

async function consumer(m: Extract<ToChild, { kind: 'consumer' }>): Promise<void> {
  const boss = await start(m.url, m.loops * 2);
  // As src/cli/service.ts builds the worker's pool (FleetPool hands host:port addresses to an
  // AdbPool with these options), with the key of the data directory both consumers share.
  const pool = new AdbPool({
    key: loadOrCreateKey(m.keyDir),
    connectTimeoutMs: DEFAULT_CONFIG.adbConnectTimeoutMs,
    authTimeoutMs: DEFAULT_CONFIG.adbAuthTimeoutMs,
    openTimeoutMs: DEFAULT_CONFIG.adbOpenTimeoutMs,
  });
  const execOptions = { timeoutMs: LIMITS.asyncTimeoutSeconds.default * 1000, maxOutputBytes: DEFAULT_CONFIG.maxOutputBytes };
  /** each instance's last command: the next one on it starts once that one is done */
  const tails = new Map<string, Promise<unknown>>();
  const run = (job: PgBoss.Job<JobData>): Promise<Output> => {
    const { instance, command } = job.data;
    const prev = tails.get(instance) ?? Promise.resolve();
    const exec = (): Promise<Output> =>
      pool.exec(instance, command, { ...execOptions, signal: new JobCancel() }).then(
        (r: ExecResult) => ({ stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), exitCode: r.exitCode }),
        (err: unknown) => {
          if (!isAdbError(err)) throw err;
          return { stdout: '', stderr: `${err.code}: ${err.message}`, exitCode: null };
        },
      );
    const p = prev.then(exec, exec);
    tails.set(instance, p);
    void p.finally(() => {
      if (tails.get(instance) === p) tails.delete(instance);
    });
    return p;
  };
  const complete = completer(boss);
  const loop = async (): Promise<void> => {
    for (;;) {
      const jobs = await boss.fetch<JobData>(QUEUE, { batchSize: PER_CALL });
      if (jobs.length === 0) {
        await new Promise((r) => setTimeout(r, IDLE_POLL_MS));
        continue;
      }
      const outputs = await Promise.all(jobs.map(run));
      // pg-boss's complete stores one data for every id of a call: the batch goes in one call per
      // distinct output. Every job here prints the same, so one call per batch: pg-boss's best case.
      const byOutput = new Map<string, string[]>();
      outputs.forEach((o, i) => {
        const key = JSON.stringify(o);
        const ids = byOutput.get(key);
        if (ids === undefined) byOutput.set(key, [jobs[i]!.id]);
        else ids.push(jobs[i]!.id);
      });
      await Promise.all([...byOutput].map(([out, ids]) => complete(ids, JSON.parse(out) as Output)));
      send({ kind: 'completed', jobs: jobs.length, succeeded: outputs.filter((o) => o.exitCode === 0).length });
    }
  };
  for (let i = 0; i < m.loops; i++) loop().catch((err: unknown) => send({ kind: 'failed', message: `consumer: ${(err as Error).message}` }));
  send({ kind: 'ready' });
}

/** complete(name, ids, data): pg-boss takes an array of ids with data (manager.js maps either),
 * but its types declare ids only without data. */
function completer(boss: PgBoss): (ids: string[], data: object) => Promise<unknown> {
  const complete = boss.complete.bind(boss) as unknown as (name: string, ids: string[], data: object) => Promise<unknown>;
  return (ids, data) => complete(QUEUE, ids, data);
}

// The parent's end is the only way out: an orphan must not keep fetching.
process.on('disconnect', () => process.exit(0));
process.once('message', (m: ToChild) => {
  const started = m.kind === 'producer' ? producer(m) : m.kind === 'consumer' ? consumer(m) : Promise.reject(new Error(`first message must say the role, got ${m.kind}`));
  started.catch((err: unknown) => {
    send({ kind: 'failed', message: `${m.kind} start: ${(err as Error).message}` });
    process.exit(1);
  });
});
